"""The ceiling of this server and driver for a GET by id: a bare ASGI app that sends Clientele's
GET statement through asyncpg, one per request, and answers with a pre-serialised customer body.

No framework, no checks of its own, no serialisation, no batching: uvicorn's work per request,
the token's SHA-256, one pooled asyncpg round trip with the fast path's statement as a request
alone sends it (the token row joined to the customer, `customers/fast_paths.py`) on a session
planning it once, as the key pool's do, and the body the harness saved (BENCH_BODY_FILE). What
any Python service on uvicorn and asyncpg pays at least for a read by key, one request at a
time, on this machine.
"""

import hashlib
import os
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from clientele.customers.fast_paths import CUSTOMERS_WITH_TOKENS
from clientele.db.clock import utcnow
from clientele.db.engine import KEY_POOL_SETTINGS, keep_session

BODY = Path(os.environ["BENCH_BODY_FILE"]).read_bytes()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]
POOL_SIZE = 10
pool: asyncpg.Pool | None = None


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global pool
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            # No reset on release (asyncpg's default is a round trip) and generic plans, as in Clientele's key pool.
            pool = await asyncpg.create_pool(
                os.environ["BENCH_DSN"],
                min_size=POOL_SIZE,
                max_size=POOL_SIZE,
                reset=keep_session,
                server_settings={"plan_cache_mode": KEY_POOL_SETTINGS["plan_cache_mode"]},
            )
            await send({"type": "lifespan.startup.complete"})
        if pool is not None:
            await pool.close()
        await send({"type": "lifespan.shutdown.complete"})
        return
    assert pool is not None
    if scope["path"] == "/healthz":  # the harness's readiness check
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
        return
    token = dict(scope["headers"])[b"authorization"].removeprefix(b"Bearer ")
    customer_id = uuid.UUID(scope["path"].rsplit("/", 1)[1])
    async with pool.acquire() as connection:
        statement = CUSTOMERS_WITH_TOKENS.bind(
            token_hashes=[hashlib.sha256(token).hexdigest()], ids=[customer_id], now=utcnow()
        )
        row = await connection.fetchrow(statement.sql, *statement.arguments)
    if row is None:
        await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
