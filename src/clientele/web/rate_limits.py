"""Per-token rate limits (a GCRA budget), shared through Redis when REDIS_URL is set
(docs/decisions.md, "Rate limits")."""

import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import orjson
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clientele.config import Settings
from clientele.web.errors import error_body

logger = logging.getLogger("clientele.rate_limits")

# Probes for orchestrators, which poll without end and must never be refused.
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz"})

TOO_MANY_REQUESTS_BODY = orjson.dumps(error_body("Too Many Requests."))

NS_PER_SECOND = 1_000_000_000
# Long enough for a Redis across a network, short enough that a hung one barely delays a request.
REDIS_TIMEOUT_SECONDS = 0.25
# After a failure, requests pass unlimited without asking Redis for this long; then one asks again.
REDIS_RETRY_NS = 1 * NS_PER_SECOND
# While Redis stays away, the warning is repeated at most this often.
WARNING_INTERVAL_NS = 60 * NS_PER_SECOND
REDIS_KEY_PREFIX = "clientele:rate-limit:"

# The in-process table forgets idle tokens; past this many live ones it forgets the oldest.
MAX_TRACKED_TOKENS = 100_000


class Decision(NamedTuple):
    allowed: bool
    remaining: int
    # Until the next request of this token would be allowed; 0 when this one is.
    wait_seconds: float


class Limiter(Protocol):
    limit: int

    async def hit(self, key: bytes) -> Decision | None:
        """Count one request of the token whose SHA-256 is `key`; None when it cannot be counted."""

    async def close(self) -> None: ...


class InProcessLimiter:
    """Budgets held in this process (each worker has its own)."""

    def __init__(self, *, limit: int, period_seconds: int, clock: Callable[[], int] = time.monotonic_ns):
        self.limit = limit
        self.interval = max(1, period_seconds * NS_PER_SECOND // limit)
        self.burst = self.interval * limit
        self.clock = clock
        # Token hash -> the time its budget is full again; a time in the past means a full budget.
        self.full_at: dict[bytes, int] = {}
        self.next_sweep = 0

    def __len__(self) -> int:
        return len(self.full_at)

    async def hit(self, key: bytes) -> Decision:
        now = self.clock()
        if now >= self.next_sweep or len(self.full_at) >= MAX_TRACKED_TOKENS:
            self.forget_idle(now)
        full_at = self.full_at.get(key, now)
        if full_at < now:
            full_at = now
        full_at += self.interval
        ahead = full_at - now
        if ahead > self.burst:
            return Decision(False, 0, (ahead - self.burst) / NS_PER_SECOND)
        self.full_at[key] = full_at
        return Decision(True, (self.burst - ahead) // self.interval, 0.0)

    def forget_idle(self, now: int) -> None:
        self.full_at = {key: full_at for key, full_at in self.full_at.items() if full_at > now}
        # Every live budget is full again within one burst, so sweeping once per burst keeps the
        # table at the tokens seen in the last period.
        self.next_sweep = now + self.burst
        excess = len(self.full_at) - MAX_TRACKED_TOKENS // 2
        if excess > 0:
            # Only a flood of distinct tokens gets here; forgetting a token gives it a fresh budget.
            for key in list(self.full_at)[:excess]:
                del self.full_at[key]

    async def close(self) -> None:
        pass


# Times are Redis's own clock in microseconds, so that every process counts on the same clock.
# Lua numbers are doubles: microseconds since 1970 stay exact (< 2^53).
GCRA_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local full_at = tonumber(redis.call('GET', KEYS[1]) or 0)
if full_at < now then full_at = now end
full_at = full_at + interval
local ahead = full_at - now
if ahead > burst then
  return {0, ahead - burst}
end
redis.call('SET', KEYS[1], string.format('%d', full_at), 'PX', math.ceil(ahead / 1000))
return {1, math.floor((burst - ahead) / interval)}
"""


class RedisLimiter:
    """Budgets in Redis, shared by every worker and process; one script call per request.

    When Redis fails or is slow, requests pass unlimited (fail open) and a warning is logged
    at most once a minute. After a failure only one request a second asks Redis, so a hung
    Redis delays at most that one request (by the timeout), and counting resumes by itself.
    """

    def __init__(self, *, url: str, limit: int, period_seconds: int, clock: Callable[[], int] = time.monotonic_ns):
        self.limit = limit
        self.interval = max(1, period_seconds * 1_000_000 // limit)
        self.burst = self.interval * limit
        self.clock = clock
        self.redis = Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 0),
        )
        self.script = self.redis.register_script(GCRA_SCRIPT)
        # While Redis is failing: when to ask it again (0 while it answers).
        self.retry_at = 0
        self.warned_at: int | None = None
        self.passed_unlimited = 0

    async def hit(self, key: bytes) -> Decision | None:
        if self.retry_at:
            now = self.clock()
            if now < self.retry_at:
                self.passed_unlimited += 1
                return None
            # This request asks Redis; the others keep passing until it has an answer.
            self.retry_at = now + REDIS_RETRY_NS
        try:
            allowed, value = await self.script(keys=[REDIS_KEY_PREFIX + key.hex()], args=[self.interval, self.burst])
        except (RedisError, OSError) as error:  # OSError takes in TimeoutError
            self.failed(error)
            return None
        if self.retry_at:
            self.recovered()
        if allowed:
            return Decision(True, int(value), 0.0)
        return Decision(False, 0, int(value) / 1_000_000)

    def failed(self, error: Exception) -> None:
        now = self.clock()
        self.retry_at = now + REDIS_RETRY_NS
        self.passed_unlimited += 1
        if self.warned_at is None:
            logger.warning(
                "Redis is unavailable (%s: %s); requests pass without rate limits until it answers again",
                type(error).__name__,
                error,
            )
        elif now - self.warned_at >= WARNING_INTERVAL_NS:
            logger.warning(
                "Redis is still unavailable (%s: %s); %d requests passed without rate limits since the last warning",
                type(error).__name__,
                error,
                self.passed_unlimited,
            )
        else:
            return
        self.warned_at = now
        self.passed_unlimited = 0

    def recovered(self) -> None:
        logger.warning(
            "Redis answers again; rate limits are enforced (%d requests passed without them since the last warning)",
            self.passed_unlimited,
        )
        self.retry_at = 0
        self.warned_at = None
        self.passed_unlimited = 0

    async def close(self) -> None:
        await self.redis.aclose()


def rate_limiter_for(settings: Settings) -> Limiter | None:
    """The limiter these settings ask for; None when rate limiting is off (a limit of 0)."""
    if settings.rate_limit <= 0:
        return None
    if settings.redis_url:
        return RedisLimiter(
            url=settings.redis_url, limit=settings.rate_limit, period_seconds=settings.rate_limit_period_seconds
        )
    return InProcessLimiter(limit=settings.rate_limit, period_seconds=settings.rate_limit_period_seconds)


def bearer_token(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The token of an `Authorization: Bearer …` header (scheme in any case), if there is one."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            token = token.strip()
            return token if token and scheme.lower() == b"bearer" else None
    return None


class RateLimitMiddleware:
    """Counts every request that carries a bearer token, before it reaches a route.

    Requests without a token are not counted (they get a 401). A token that turns out invalid
    is counted: telling would need the database.
    """

    def __init__(self, app: ASGIApp, *, limiter: Limiter) -> None:
        self.app = app
        self.limiter = limiter
        self.limit_header = (b"x-ratelimit-limit", str(limiter.limit).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope["headers"])
        decision = None if token is None else await self.limiter.hit(hashlib.sha256(token).digest())
        if decision is None:
            await self.app(scope, receive, send)
            return
        limit_headers = [self.limit_header, (b"x-ratelimit-remaining", b"%d" % decision.remaining)]
        if not decision.allowed:
            await self.refuse(send, limit_headers, decision.wait_seconds)
            return

        async def send_with_limit_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *limit_headers]
            await send(message)

        await self.app(scope, receive, send_with_limit_headers)

    @staticmethod
    async def refuse(send: Send, limit_headers: list[tuple[bytes, bytes]], wait_seconds: float) -> None:
        retry_after = max(1, math.ceil(wait_seconds))
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(TOO_MANY_REQUESTS_BODY)),
            (b"retry-after", b"%d" % retry_after),
            (b"x-ratelimit-reset", b"%d" % math.ceil(time.time() + wait_seconds)),
            *limit_headers,
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": TOO_MANY_REQUESTS_BODY})


def add_rate_limit_responses(document: dict[str, Any]) -> None:
    """Document the 429 on every operation that takes a token (those that document a 401)."""
    integer = {"schema": {"type": "integer"}}
    too_many = {
        "description": "Over the token's rate limit; retry after `Retry-After` seconds.",
        "headers": {
            "Retry-After": {"description": "Seconds until the token may send again.", **integer},
            "X-RateLimit-Limit": {"description": "Requests the token may send per minute.", **integer},
            "X-RateLimit-Remaining": {"description": "`0`.", **integer},
            "X-RateLimit-Reset": {"description": "Unix time (seconds) at which the token may send again.", **integer},
        },
    }
    for operations in document["paths"].values():
        for described in operations.values():
            unauthenticated = described.get("responses", {}).get("401")
            if unauthenticated is not None:
                described["responses"]["429"] = too_many | {"content": unauthenticated.get("content", {})}
