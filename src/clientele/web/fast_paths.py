"""Fast paths: the busiest requests answered in one statement each on PostgreSQL, before FastAPI.

A fast path answers only a request that succeeds; anything else goes, untouched, to its route
(docs/decisions.md, "Fast paths").
"""

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

import asyncpg
from sqlalchemy import ClauseElement, make_url
from sqlalchemy.sql.compiler import SQLCompiler
from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clientele.auth.service import hash_token
from clientele.web.errors import handle_database_unavailable
from clientele.web.request_context import ROUTE_PATH

# A token the route would also read as one: `Bearer`, one space, printable ASCII.
BEARER = re.compile(rb"Bearer ([!-~]+)")
ROUTE_ONLY_HEADERS = frozenset({b"if-match", b"idempotency-key"})
ASYNCPG = make_url("postgresql+asyncpg://").get_dialect()()


@dataclass(frozen=True)
class Statement:
    """The one statement a fast path sends; it returns one row, or none where the route must answer."""

    sql: str
    arguments: tuple[Any, ...]


@dataclass(frozen=True)
class CompiledStatement:
    """A SQLAlchemy statement compiled once for asyncpg: its SQL, and the order of its named values."""

    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]

    @classmethod
    def of(cls, statement: ClauseElement) -> "CompiledStatement":
        compiled = cast(SQLCompiler, statement.compile(dialect=ASYNCPG))
        return cls(sql=compiled.string, names=tuple(compiled.positiontup or ()), defaults=dict(compiled.params))

    def bind(self, **values: Any) -> Statement:
        """The statement with these values; a value not given is the one the statement was built with."""
        return Statement(
            self.sql, tuple(values[name] if name in values else self.defaults[name] for name in self.names)
        )


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

    """

    method: str
    template: str
    statement: Callable[[Caller], Statement | None]
    answer: Callable[[Caller, asyncpg.Record], Response | None]
    reads_body: bool = False
    batched: Callable[[list[tuple[Any, ...]]], Statement] | None = None
    """For a read: the one statement sent for the arguments of every request of a batch (see `Batch`);
    each row it returns holds its request's place (from 1) in `n`. The `Statement` of a batched path
    carries its request's own arguments."""
    then: Callable[[Caller, asyncpg.Record], Statement | None] | None = None
    """For a path that is not batched: a statement made from the row of the first (None: the route
    answers), sent after it on the same connection; the answer is made from its row. So a write that
    needs what a read found (a row to check rules against in Python) goes in the second, made to write
    nothing where that row has changed since."""

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
        answer = None
        if token is not None and body is not None:
            caller = Caller(scope, hash_token(token), path_params, body)
            statement = fast_path.statement(caller)
            try:
                row = None if statement is None else await self.fetch_row(fast_path, caller, statement, pool)
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

    async def fetch_row(
        self, fast_path: FastPath, caller: Caller, statement: Statement, pool: asyncpg.Pool
    ) -> asyncpg.Record | None:
        """The row to answer from: the statement's, sent alone or with those of other requests where the
        path is batched; or, where a statement follows it, that one's."""
        if fast_path.batched is None:
            async with pool.acquire(timeout=self.pool_timeout) as connection:
                row = await connection.fetchrow(statement.sql, *statement.arguments)
                if fast_path.then is None or row is None:
                    return row
                following = fast_path.then(caller, row)
                return None if following is None else await connection.fetchrow(following.sql, *following.arguments)
        batch = self.batches.get(fast_path.template)
        if batch is None:
            batch = self.batches[fast_path.template] = Batch(fast_path.batched)
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
    """The reads of one batched path that requests on this worker ask for, sent together
    (docs/decisions.md, "Fast paths"): one batch at a time is with the database, and the requests
    that come meanwhile go together next, on the same connection while batches follow each other."""

    def __init__(self, statement_for: Callable[[list[tuple[Any, ...]]], Statement]) -> None:
        self.statement_for = statement_for
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
        """Sends what waits, batch after batch, until nothing does; after a failed batch, the next goes
        on another connection."""
        batch: list[tuple[tuple[Any, ...], asyncio.Future[asyncpg.Record | None]]] = []
        try:
            while self.waiting:
                batch, self.waiting = self.waiting, []
                try:
                    async with pool.acquire(timeout=timeout) as connection:
                        while batch:
                            statement = self.statement_for([arguments for arguments, _ in batch])
                            found = {
                                row["n"]: row for row in await connection.fetch(statement.sql, *statement.arguments)
                            }
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
