"""Fast paths: the busiest requests answered in one database round trip, before FastAPI.

A point of sale reads a customer by id and creates customers far more often than it does
anything else. On PostgreSQL those requests are tried here first: the token check, the scope
check and the record's read or write are one statement on a plain asyncpg connection of a pool
of their own (clientele.db.engine.create_key_pool), and the answer is built without FastAPI's
routing and dependency solving, which together cost several times the database's own work.

A fast path answers only a request that succeeds: the token is valid and has the scope,
the record exists, the body is valid. Anything else — no token, a missing record, a query
string or header it does not handle, an invalid body, a database error — passes, untouched,
to the route, which answers it as it always does. So every error, and every case a fast path
does not know, has one implementation: the route's; the fast path's answers are the route's
own answers, byte for byte (tests/test_fast_paths.py compares them).
"""

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import asyncpg
from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clientele.auth.service import hash_token, token_accepted
from clientele.db.clock import utcnow
from clientele.web.errors import handle_database_unavailable
from clientele.web.request_context import ROUTE_PATH

# A token the route would also read as one: `Bearer`, one space, printable ASCII.
BEARER = re.compile(rb"Bearer ([!-~]+)")
ROUTE_ONLY_HEADERS = frozenset({b"if-match", b"idempotency-key"})


@dataclass(frozen=True)
class Statement:
    """The one statement a fast path sends; it returns one row, or none where the route must answer."""

    sql: str
    arguments: tuple[Any, ...]


@dataclass(frozen=True)
class Caller:
    """What a fast path knows about the request it may answer."""

    scope: Scope
    token_hash: str
    path_params: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class FastPath:
    """A route's fast path: the route's method and path (as the router has it, without `/v5`), the
    statement for a request (None: the route answers), and the answer made from the row it returned
    (None: the route answers; only for a statement that wrote nothing).

    A `batched` path's statement reads and never writes, and is sent for many requests at once (see
    `Batch`): each of its parameters is an array, holding that argument of every request of the batch,
    and it returns each request's row, if any, with the request's place in the arrays (from 1) in `n`.
    """

    method: str
    template: str
    statement: Callable[[Caller], Statement | None]
    answer: Callable[[Caller, asyncpg.Record], Response | None]
    reads_body: bool = False
    batched: bool = False

    def match(self, path: str) -> tuple[str, dict[str, str]] | None:
        """The route's full path template (with the prefix sent) and the path's parameters, if it matches."""
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return (found["prefix"] or "") + self.template, {k: v for k, v in found.groupdict().items() if k != "prefix"}

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """The template as a pattern that also matches under `/v5`."""
        return re.compile("(?P<prefix>/v5)?" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(self.template)))


def accepted_token(token_hash: str, row: Any, scope: str) -> bool:
    """Whether the token row found for this hash may act now, with this scope."""
    return (
        token_accepted(
            token_hash=token_hash,
            found_hash=row["token_hash"],
            revoked_at=row["revoked_at"],
            expires_at=row["expires_at"],
            now=utcnow(),
        )
        and scope in row["scopes"].split()
    )


class FastPathMiddleware:
    """Tries the request on its fast path, if it has one; passes it on otherwise."""

    def __init__(
        self, app: ASGIApp, *, paths: list[FastPath], state: State, max_body_bytes: int, pool_timeout: float
    ) -> None:
        self.app = app
        self.paths = paths
        # The app's state, where the key pool appears when the app starts on PostgreSQL.
        self.state = state
        self.max_body_bytes = max_body_bytes
        self.pool_timeout = pool_timeout
        self.batches: dict[str, Batch] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pool = getattr(self.state, "key_pool", None)
        if scope["type"] != "http" or scope["query_string"] or pool is None:
            await self.app(scope, receive, send)
            return
        for fast_path in self.paths:
            if fast_path.method == scope["method"]:
                matched = fast_path.match(scope["path"])
                if matched is not None:
                    await self.try_fast_path(fast_path, *matched, pool, scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def try_fast_path(
        self,
        fast_path: FastPath,
        route_path: str,
        path_params: dict[str, str],
        pool: asyncpg.Pool,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        token = fast_path_token(scope["headers"])
        body: bytes | None = b""
        if token is not None and fast_path.reads_body:
            body, received = await self.read_body(scope, receive)
            receive = replay(received, receive)
        caller = None if token is None or body is None else Caller(scope, hash_token(token), path_params, body)
        statement = None if caller is None else fast_path.statement(caller)
        answer = None
        if statement is not None:
            try:
                row = await self.fetch_row(fast_path, statement, pool)
            except TimeoutError as error:
                # No connection came free (or none could be opened) in the pool's whole timeout:
                # answered here as the route would answer it, since it would first wait that long again.
                scope[ROUTE_PATH] = route_path
                await (await handle_database_unavailable(Request(scope), error))(scope, receive, send)
                return
            except Exception:
                # Whatever stopped the statement (an unreachable database, a taken phone), nothing
                # was written, and the route meets the same and answers it as it always does.
                row = None
            answer = None if row is None else fast_path.answer(caller, row)
        if answer is None:
            await self.app(scope, receive, send)
            return
        scope[ROUTE_PATH] = route_path
        await answer(scope, receive, send)

    async def fetch_row(self, fast_path: FastPath, statement: Statement, pool: asyncpg.Pool) -> asyncpg.Record | None:
        """The statement's row: sent alone, or with those of other requests where the path is batched."""
        if not fast_path.batched:
            async with pool.acquire(timeout=self.pool_timeout) as connection:
                return await connection.fetchrow(statement.sql, *statement.arguments)
        batch = self.batches.get(statement.sql)
        if batch is None:
            batch = self.batches[statement.sql] = Batch(statement.sql)
        return await batch.fetch_row(statement.arguments, pool, self.pool_timeout)

    async def read_body(self, scope: Scope, receive: Receive) -> tuple[bytes | None, list[Message]]:
        """The whole body, or None where the route must see it (over the size limit, a client gone);
        and the messages read, which the route is given again."""
        received: list[Message] = []
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_body_bytes):
                return None, received
        body = b""
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request":
                return None, received
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                return None, received
            if not message.get("more_body", False):
                return body, received


class Batch:
    """The reads of one batched statement that requests on this worker ask for, sent together.

    One batch at a time is with the database: a request that comes while one is out waits for it to
    come back, and then goes with every other request that came meanwhile, in one statement on one
    connection. Alone, a request is sent at once. Under load, the database runs one statement for
    many requests and the worker makes one round trip for them, where most of the cost of a read by
    key was in running and sending a statement, not in finding its row. Each request still sees every
    write that was acknowledged before it arrived: its read starts after it arrived.
    """

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.waiting: list[tuple[tuple[Any, ...], asyncio.Future[asyncpg.Record | None]]] = []
        self.sender: asyncio.Task[None] | None = None

    async def fetch_row(self, arguments: tuple[Any, ...], pool: asyncpg.Pool, timeout: float) -> asyncpg.Record | None:
        """This request's row, or None; raises what stopped its batch's statement."""
        answer: asyncio.Future[asyncpg.Record | None] = asyncio.get_running_loop().create_future()
        self.waiting.append((arguments, answer))
        if self.sender is None:
            self.sender = asyncio.create_task(self.send_waiting(pool, timeout))
        return await answer

    async def send_waiting(self, pool: asyncpg.Pool, timeout: float) -> None:
        """Sends what waits, batch after batch, until nothing does, on one connection while they follow
        each other; after a failed batch, the next goes on another."""
        batch: list[tuple[tuple[Any, ...], asyncio.Future[asyncpg.Record | None]]] = []
        try:
            while self.waiting:
                batch, self.waiting = self.waiting, []
                try:
                    async with pool.acquire(timeout=timeout) as connection:
                        while batch:
                            # The k-th parameter: the k-th argument of every request of the batch.
                            parameters = [
                                list(values) for values in zip(*(arguments for arguments, _ in batch), strict=True)
                            ]
                            found = {row["n"]: row for row in await connection.fetch(self.sql, *parameters)}
                            for number, (_, answer) in enumerate(batch, start=1):
                                if not answer.done():
                                    answer.set_result(found.get(number))
                            batch, self.waiting = self.waiting, []
                except Exception as error:
                    for _, answer in batch:
                        if not answer.done():
                            answer.set_exception(error)
        finally:
            self.sender = None
            # Only where this task itself was cancelled (the server stopping): no request is left waiting.
            for _, answer in [*batch, *self.waiting]:
                answer.cancel()


def fast_path_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The token of the request's first `Authorization` header, as the route reads it; None where the
    request has none, or a header the fast paths leave to the route (`If-Match`, `Idempotency-Key`)."""
    token = None
    authorization_seen = False
    for name, value in headers:
        if name in ROUTE_ONLY_HEADERS:
            return None
        if name == b"authorization" and not authorization_seen:
            authorization_seen = True
            found = BEARER.fullmatch(value)
            token = None if found is None else found[1].decode()
    return token


def replay(received: list[Message], receive: Receive) -> Receive:
    """A `receive` that hands out these messages again before any new one."""
    pending = list(received)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
