"""The deliverer (SPEC §10): hands each event of the outbox to the endpoints that want it, then sends
each delivery, signed as Standard Webhooks asks, until it succeeds or its retries run out.

Any number of deliverers may run against one database (every worker of `clientele serve`, and
`clientele deliver` processes). Handing out events takes turns (an advisory lock on PostgreSQL, the
write lock on SQLite). A delivery is claimed for a lease: on PostgreSQL with `FOR UPDATE SKIP LOCKED`,
on SQLite under the write lock; a deliverer that dies while sending leaves it to be claimed again
once the lease ends, so a delivery arrives at least once.
"""

import asyncio
import base64
import email.utils
import hashlib
import hmac
import importlib.metadata
import logging
import random
import ssl
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import Select, and_, literal_column, or_, select, text, tuple_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from clientele.db.clock import utcnow
from clientele.db.engine import copy_rows, create_engine, is_sqlite, write_transaction
from clientele.db.ids import new_id, with_keys
from clientele.events.models import events
from clientele.events.service import event_payload
from clientele.webhooks import destinations, service
from clientele.webhooks.http_client import Answer, ConnectFailed, Connections, Origin, SendError
from clientele.webhooks.models import webhook_attempts, webhook_deliveries, webhook_endpoints

log = logging.getLogger("clientele.webhooks")

# After the first attempt fails, the next ones are due after these delays (each with jitter).
RETRY_DELAYS = tuple(
    timedelta(seconds=seconds)
    for seconds in (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600, 20 * 3600, 24 * 3600)
)
JITTER = 0.1
# A Retry-After beyond the longest delay is read as that delay: a receiver cannot park a delivery for ever.
LONGEST_RETRY_AFTER = RETRY_DELAYS[-1]
TIMEOUT_SECONDS = 15
# Longer than a send can take, so that only a deliverer that died loses its claim.
LEASE = timedelta(seconds=60)
FAILING_FOR = timedelta(days=5)
EVENTS_PER_HAND_OUT = 500
# Sends a deliverer keeps going at once. Its loop records the sends finished and claims as many new
# ones in a few short transactions (some 10 to 40 ms): at 16, that bounded one deliverer to about 350
# events a second however fast the receiver; at 64, one drains a backlog at about 1,200 (issue 21's bench).
CONCURRENCY = 64
# The loop runs its statements one after the other: one connection, and one while another reconnects.
POOL_SIZE = 2
# Idle, a deliverer looks for work this often: the two queries are index probes of partial indexes (of
# events not handed out, of pending deliveries), empty when idle, so 5 a second cost next to nothing.
POLL_SECONDS = 0.2
# Any fixed number will do, as long as every Clientele process uses it (and not the startup lock's).
HAND_OUT_LOCK_KEY = 7_134_202
MAX_ERROR_CHARS = 255
ATTEMPT_COLUMNS = (
    "business_id",
    "id",
    "endpoint_id",
    "delivery_id",
    "event_id",
    "created_at",
    "status_code",
    "error",
    "duration_ms",
    "result",
    "next_attempt_at",
)
USER_AGENT = f"Clientele-Webhooks/{importlib.metadata.version('clientele')}"


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks' `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed with the secret's bytes."""
    key = base64.b64decode(secret.removeprefix(service.SECRET_PREFIX))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(endpoint: Any, event_id: str, body: bytes, now: datetime, timestamp: int) -> list[tuple[str, str]]:
    """The Standard Webhooks headers, signed with the secret and, within a day of a rotation, the one before."""
    secrets = [endpoint.secret]
    if endpoint.previous_secret is not None and endpoint.previous_secret_expires_at > now:
        secrets.append(endpoint.previous_secret)
    return [
        ("webhook-id", event_id),
        ("webhook-timestamp", str(timestamp)),
        ("webhook-signature", " ".join(signature(secret, event_id, timestamp, body) for secret in secrets)),
        ("content-type", "application/json"),
        ("content-length", str(len(body))),
        ("user-agent", USER_AGENT),
    ]


def retry_after(answer: Answer, now: datetime) -> timedelta | None:
    """A 429's or 5xx's `Retry-After` (seconds or an HTTP date), within the longest retry delay."""
    if answer.status_code != 429 and answer.status_code < 500:
        return None
    value = answer.headers.get("retry-after", "").strip()
    if value.isdigit():
        wait = timedelta(seconds=int(value))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        wait = when.astimezone(UTC).replace(tzinfo=None) - now
    return min(max(wait, timedelta(0)), LONGEST_RETRY_AFTER)


def random_jitter() -> float:
    """A factor for a retry delay, so that the retries of many deliveries failed together spread out."""
    return random.uniform(1 - JITTER, 1 + JITTER)


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: the receiver's status, or why there was none; `final` when no retry can
    do better."""

    status_code: int | None
    error: str | None
    duration_ms: int
    retry_after: timedelta | None = None
    final: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class Claim:
    """A delivery this deliverer holds, with what sending it needs."""

    delivery: Any
    endpoint: Any
    event: Any | None


Attempted = tuple[Claim, Outcome]


class Deliverer:
    """Hands out events and sends deliveries; `run` loops until cancelled, `run_once` does what is due now.

    `clock` says when it is (retries, leases, the 5-day rule), so that tests can move time; the
    `webhook-timestamp` header is always the real time, which receivers check against their own.
    """

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        allow_private: bool,
        clock: Callable[[], datetime] = utcnow,
        concurrency: int = CONCURRENCY,
        jitter: Callable[[], float] = random_jitter,
        timeout_seconds: float = TIMEOUT_SECONDS,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.concurrency = concurrency
        self.jitter = jitter
        self.timeout_seconds = timeout_seconds
        # The system's certificate authorities (and SSL_CERT_FILE's), read when the deliverer starts.
        self.connections = Connections(ssl.create_default_context())
        self.resolver = destinations.Resolver(allow_private=allow_private)

    async def aclose(self) -> None:
        self.connections.close()

    async def run(self, *, poll_seconds: float = POLL_SECONDS) -> None:
        """Deliver until cancelled, keeping up to `concurrency` sends going: as sends finish, their results
        are recorded together in one transaction and as many new deliveries are claimed. Events are handed
        out once per `poll_seconds`, or again at once after a full batch. A database that is away is
        waited for, and an unexpected error is logged and the loop goes on: it runs beside the API, which
        must not lose it."""
        clock = asyncio.get_running_loop().time
        sending: set[asyncio.Task[Attempted]] = set()
        next_hand_out = clock()
        try:
            while True:
                try:
                    if clock() >= next_hand_out:
                        # Handing out a few events at a time, as fast as they are written, cost the API
                        # a quarter of its creates a second with no endpoint at all (issue 21's bench).
                        full = await self.hand_out() == EVENTS_PER_HAND_OUT
                        next_hand_out = clock() + (0 if full else poll_seconds)
                    claims = await self.claim(self.concurrency - len(sending))
                    sending.update(asyncio.create_task(self.attempt(claim)) for claim in claims)
                    if sending:
                        done, sending = await asyncio.wait(
                            sending, timeout=max(0, next_hand_out - clock()), return_when=asyncio.FIRST_COMPLETED
                        )
                        await self.record(attempted(done))
                        continue
                except (SQLAlchemyError, OSError) as error:
                    log.warning("Webhook delivery paused: the database is not available (%s).", type(error).__name__)
                    next_hand_out = clock() + poll_seconds
                except Exception:
                    log.exception("Webhook delivery failed; trying again.")
                    next_hand_out = clock() + poll_seconds
                await asyncio.sleep(max(0, next_hand_out - clock()))
        finally:
            # Sends cut short are sent again once their leases run out.
            for task in sending:
                task.cancel()

    async def run_once(self) -> int:
        """Hand out the events waiting, then send one round of due deliveries and record them; how much
        was done."""
        handed_out = await self.hand_out()
        claims = await self.claim()
        done = await asyncio.gather(*(self.attempt(claim) for claim in claims))
        await self.record(list(done))
        return handed_out + len(claims)

    async def may_find(self, statement: Select[Any]) -> bool:
        """On SQLite, whether the statement finds a row, read without a write transaction: an idle deliverer
        then never takes the one write lock every request shares to find it has nothing to do. PostgreSQL's
        write transaction that follows locks nothing a request waits for, and asking first (the due
        deliveries read twice) cost a deliverer draining a backlog a sixth of its rate."""
        if not is_sqlite(self.engine):
            return True
        async with self.engine.connect() as connection:
            return (await connection.execute(statement.limit(1))).first() is not None

    # --- handing events out --------------------------------------------------------------

    async def hand_out(self) -> int:
        """Make the deliveries of the oldest events not yet handed out, one per endpoint that wants
        each (its types, readable with its scopes, and made no later than the event), and mark those
        events handed out, all in one transaction; how many events were."""
        now = self.clock()
        if not await self.may_find(select(events.c.id).where(events.c.dispatched_at.is_(None))):
            return 0
        async with write_transaction(self.engine) as connection:
            if not is_sqlite(connection):
                taken = await connection.scalar(text(f"SELECT pg_try_advisory_xact_lock({HAND_OUT_LOCK_KEY})"))
                if not taken:
                    return 0
            waiting = list(
                await connection.execute(
                    select(events.c.business_id, events.c.id, events.c.type, events.c.record_id, events.c.created_at)
                    .where(events.c.dispatched_at.is_(None))
                    .order_by(events.c.created_at, events.c.id)
                    .limit(EVENTS_PER_HAND_OUT)
                )
            )
            if not waiting:
                return 0
            endpoints = await connection.execute(
                select(webhook_endpoints).where(
                    webhook_endpoints.c.business_id.in_({event.business_id for event in waiting}),
                    webhook_endpoints.c.enabled.is_(True),
                )
            )
            for endpoint in endpoints:
                wanted = service.wanted_types(endpoint)
                await service.queue_deliveries(
                    connection=connection,
                    endpoint=endpoint,
                    events_found=[
                        (event.id, event.record_id, event.created_at)
                        for event in waiting
                        if event.business_id == endpoint.business_id
                        and event.type in wanted
                        and event.created_at >= endpoint.created_at
                    ],
                    now=now,
                )
            await connection.execute(
                update(events)
                .where(with_keys(events, [(e.business_id, e.id) for e in waiting]))
                .values(dispatched_at=now)
            )
            return len(waiting)

    # --- sending ---------------------------------------------------------------------------

    async def claim(self, limit: int | None = None) -> list[Claim]:
        """Take up to `limit` (`concurrency`) due deliveries for a lease: pending, due, not held by another
        deliverer, to an enabled endpoint, and not behind an earlier pending event of the same record at
        the same endpoint (one claimed and not yet recorded is still pending, so that a record's next
        event waits for it)."""
        limit = self.concurrency if limit is None else limit
        if limit <= 0:
            return []
        now = self.clock()
        d = webhook_deliveries
        earlier = webhook_deliveries.alias("earlier")
        # The first pending delivery of the record at the endpoint, if one is earlier: a scalar subquery
        # with LIMIT 1, which PostgreSQL never turns into a join, so that it is always one probe of
        # `…_pending_per_record` per due delivery. As NOT EXISTS, with statistics that saw no pending
        # delivery, it was planned as an anti join checking each due delivery against every pending one
        # of its record (28 s for one claim of 16 at 10,000 pending).
        earlier_pending = (
            select(earlier.c.id)
            .where(
                earlier.c.business_id == d.c.business_id,
                earlier.c.endpoint_id == d.c.endpoint_id,
                earlier.c.record_id == d.c.record_id,
                earlier.c.status == literal_column(f"'{service.PENDING}'"),
                tuple_(earlier.c.event_created_at, earlier.c.event_id) < tuple_(d.c.event_created_at, d.c.event_id),
            )
            .limit(1)
            .scalar_subquery()
        )
        due = (
            select(d)
            .join(
                webhook_endpoints,
                and_(webhook_endpoints.c.business_id == d.c.business_id, webhook_endpoints.c.id == d.c.endpoint_id),
            )
            .where(
                service.IS_PENDING,
                d.c.next_attempt_at <= now,
                or_(d.c.claimed_until.is_(None), d.c.claimed_until < now),
                webhook_endpoints.c.enabled.is_(True),
                earlier_pending.is_(None),
            )
            .order_by(d.c.next_attempt_at, d.c.id)
        )
        if not await self.may_find(due):
            return []
        async with write_transaction(self.engine) as connection:
            deliveries = list(await connection.execute(due.limit(limit).with_for_update(of=d, skip_locked=True)))
            if not deliveries:
                return []
            keys = [(delivery.business_id, delivery.id) for delivery in deliveries]
            await connection.execute(update(d).where(with_keys(d, keys)).values(claimed_until=now + LEASE))
            endpoint_keys = {(delivery.business_id, delivery.endpoint_id) for delivery in deliveries}
            endpoints = {
                (row.business_id, row.id): row
                for row in await connection.execute(
                    select(webhook_endpoints).where(with_keys(webhook_endpoints, endpoint_keys))
                )
            }
            event_keys = {(delivery.business_id, delivery.event_id) for delivery in deliveries}
            found = {
                (row.business_id, row.id): row
                for row in await connection.execute(select(events).where(with_keys(events, event_keys)))
            }
        return [
            Claim(
                delivery=delivery,
                endpoint=endpoints[(delivery.business_id, delivery.endpoint_id)],
                event=found.get((delivery.business_id, delivery.event_id)),
            )
            for delivery in deliveries
        ]

    async def attempt(self, claim: Claim) -> Attempted:
        """Send one claimed delivery; what came of it."""
        if claim.event is None:
            # Events are kept 30 days; a delivery replayed or retried past that has nothing to send.
            return claim, Outcome(None, "The event is no longer kept (30 days).", duration_ms=0, final=True)
        return claim, await self.send(claim.endpoint, claim.event)

    async def send(self, endpoint: Any, event: Any) -> Outcome:
        """POST the event to the endpoint, as its scopes show it, at the address its host resolves to
        now (checked public); a 2xx within the timeout is a success, and redirects are not followed."""
        body = orjson.dumps(event_payload(event, scopes=frozenset(endpoint.scopes)))
        headers = signed_headers(endpoint, str(event.id), body, self.clock(), int(time.time()))
        started = time.monotonic()

        def outcome(status_code: int | None, error: str | None, wait: timedelta | None = None) -> Outcome:
            duration_ms = round((time.monotonic() - started) * 1000)
            return Outcome(status_code, error and error[:MAX_ERROR_CHARS], duration_ms, wait)

        try:
            async with asyncio.timeout(self.timeout_seconds):
                destination = await self.resolver.resolve(endpoint.url)
                answer = await self.post(endpoint.url, destination, body, headers)
        except destinations.Refused as refused:
            return outcome(None, str(refused))
        except TimeoutError:
            return outcome(None, f"No answer within {self.timeout_seconds:g} s.")
        except SendError as error:
            return outcome(None, str(error))
        except OSError as error:
            return outcome(None, f"The connection failed: {error.strerror or error}.")
        return outcome(answer.status_code, None, retry_after(answer, self.clock()))

    async def post(
        self, url: str, destination: destinations.Destination, body: bytes, headers: list[tuple[str, str]]
    ) -> Answer:
        """POST to the checked addresses, the next one where an address refuses the connection. Each
        connection goes to an address checked above, so that DNS cannot answer differently for it; the
        host is still the one the receiver and its certificate know."""
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = [("host", parts.netloc.rpartition("@")[2]), *headers]
        *others, last = destination.addresses
        for address in others:
            try:
                return await self.connections.post(
                    Origin(parts.scheme, address, destination.port, destination.host), target, headers, body
                )
            except ConnectFailed:
                continue
        return await self.connections.post(
            Origin(parts.scheme, last, destination.port, destination.host), target, headers, body
        )

    async def record(self, done: list[Attempted]) -> None:
        """Log the attempts and move each delivery on, all in one transaction: succeeded, due again later,
        or failed for good; a 410 disables the endpoint at once, and five days of nothing but failures
        disables it too."""
        if not done:
            return
        now = self.clock()
        d = webhook_deliveries
        endpoints: dict[tuple[Any, Any], Any] = {}
        outcomes: defaultdict[tuple[Any, Any], list[Outcome]] = defaultdict(list)
        for claim, outcome in done:
            key = (claim.delivery.business_id, claim.delivery.endpoint_id)
            endpoints[key] = claim.endpoint
            outcomes[key].append(outcome)
        steps = {
            (claim.delivery.business_id, claim.delivery.id): self.next_step(claim, outcome, now)
            for claim, outcome in done
        }
        async with write_transaction(self.engine) as connection:
            # Endpoints before their deliveries, as every writer of both takes them (a disable fails every
            # pending delivery), and in one order across deliverers: attempts of one endpoint recorded side
            # by side, one disabling it, would otherwise deadlock. An endpoint row is only locked where the
            # attempts change it, so that the attempts of one endpoint are recorded side by side.
            disabling = {}
            for key in sorted(endpoints, key=str):
                reason = await self.judge_endpoint(connection, endpoints[key], outcomes[key], now)
                if reason is not None:
                    disabling[key] = reason
            moved: set[tuple[Any, Any]] = set()
            groups: defaultdict[tuple[str, datetime | None], list[tuple[Any, Any]]] = defaultdict(list)
            for key, (status, _, next_attempt_at) in steps.items():
                groups[(status, next_attempt_at)].append(key)
            for (status, next_attempt_at), keys in groups.items():
                # A delivery no longer pending was failed by a disable or deleted with its endpoint
                # meanwhile: nothing is owed for it any more.
                moved.update(
                    (row.business_id, row.id)
                    for row in await connection.execute(
                        update(d)
                        .where(with_keys(d, keys), service.IS_PENDING)
                        .values(
                            status=status,
                            attempts=d.c.attempts + 1,
                            next_attempt_at=next_attempt_at,
                            claimed_until=None,
                        )
                        .returning(d.c.business_id, d.c.id)
                    )
                )
            attempts = []
            for claim, outcome in done:
                key = (claim.delivery.business_id, claim.delivery.id)
                if key in moved:
                    _, result, next_attempt_at = steps[key]
                    delivery = claim.delivery
                    attempts.append(
                        (
                            delivery.business_id,
                            new_id(),
                            delivery.endpoint_id,
                            delivery.id,
                            delivery.event_id,
                            now,
                            outcome.status_code,
                            outcome.error,
                            outcome.duration_ms,
                            result,
                            next_attempt_at,
                        )
                    )
            await copy_rows(connection, webhook_attempts, ATTEMPT_COLUMNS, attempts)
            for (business_id, endpoint_id), reason in disabling.items():
                log.warning("Webhook endpoint %s disabled: %s", endpoint_id, reason)
                await service.disable(
                    connection=connection, business_id=business_id, endpoint_id=endpoint_id, reason=reason, now=now
                )

    def next_step(self, claim: Claim, outcome: Outcome, now: datetime) -> tuple[str, str, datetime | None]:
        """Where an attempt leaves its delivery: its status, the attempt's result, and when it is due again."""
        attempts = claim.delivery.attempts + 1
        if outcome.succeeded:
            return service.SUCCEEDED, "succeeded", None
        if outcome.final or outcome.status_code == 410 or attempts > len(RETRY_DELAYS):
            return service.FAILED, "failed", None
        wait = RETRY_DELAYS[attempts - 1] * self.jitter()
        if outcome.retry_after is not None:
            wait = max(wait, outcome.retry_after)
        return service.PENDING, "retrying", now + wait

    async def judge_endpoint(
        self, connection: AsyncConnection, endpoint: Any, outcomes: list[Outcome], now: datetime
    ) -> str | None:
        """What the endpoint's attempts recorded together do to its failure streak: successes alone end
        it, failures alone start one (or go on with it), both end it and start a new one now; why the
        endpoint is to be disabled (a 410, or a streak of five days), locked until the transaction ends,
        if it is.

        Each update names the change in its WHERE, so that it locks the row (in PostgreSQL) only when it
        changes it: successes to an endpoint that is not failing, the common case, lock nothing."""
        e = webhook_endpoints
        this_endpoint = and_(e.c.business_id == endpoint.business_id, e.c.id == endpoint.id)
        locked = select(e.c.failing_since).where(this_endpoint).with_for_update(key_share=True)
        if any(outcome.status_code == 410 for outcome in outcomes):
            # NO KEY UPDATE: new deliveries of the endpoint may still be handed out meanwhile.
            await connection.execute(locked)
            return f"The receiver answered 410 Gone on {now:%Y-%m-%d %H:%M:%S} UTC."
        if all(outcome.succeeded for outcome in outcomes):
            await connection.execute(
                update(e).where(this_endpoint, e.c.failing_since.is_not(None)).values(failing_since=None)
            )
            return None
        if any(outcome.succeeded for outcome in outcomes):
            await connection.execute(update(e).where(this_endpoint).values(failing_since=now))
            return None
        await connection.execute(update(e).where(this_endpoint, e.c.failing_since.is_(None)).values(failing_since=now))
        failing_since = await connection.scalar(select(e.c.failing_since).where(this_endpoint))
        if failing_since is None or now - failing_since < FAILING_FOR:
            return None
        # Five days in: lock it, and read the streak again (a success may have ended it meanwhile).
        failing_since = await connection.scalar(locked)
        if failing_since is None or now - failing_since < FAILING_FOR:
            return None
        return f"Every delivery failed for 5 days, since {failing_since:%Y-%m-%d %H:%M:%S} UTC."


def attempted(done: set["asyncio.Task[Attempted]"]) -> list[Attempted]:
    """The results of finished sends; a send that failed unexpectedly is logged, and its lease runs out so
    that another round sends it again."""
    results = []
    for task in done:
        error = task.exception()
        if error is None:
            results.append(task.result())
        else:
            log.error("Webhook send failed unexpectedly: %r", error)
    return results


@asynccontextmanager
async def delivering(
    *, database_url: str, allow_private: bool, concurrency: int = CONCURRENCY
) -> AsyncIterator[Deliverer]:
    """A deliverer running in the background until the block ends, on an engine of its own, so that its
    sends never hold the connections requests wait for. Sends cut short by the end are sent again
    once their leases run out."""
    engine = create_engine(database_url, pool_size=POOL_SIZE)
    deliverer = Deliverer(engine=engine, allow_private=allow_private, concurrency=concurrency)
    task = asyncio.create_task(deliverer.run(), name="webhook deliverer")
    try:
        yield deliverer
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        await deliverer.aclose()
        await engine.dispose()
