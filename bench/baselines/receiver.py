"""The webhook receiver of the delivery runs: a bare ASGI app that answers every POST to /hook with 204.

One uvicorn process (one worker, so one memory holds every count). It does not verify signatures,
nor parse the body: per delivery it notes the time it arrived (`time.time()`, the clock the
database stamps events with on this machine), the `webhook-id` header, and the 27 bytes after
`"timestamp":"` in the body (the deliverer writes `id`, `type`, `timestamp` first), a slice rather
than a JSON parse. A receiver that verified each HMAC and parsed each body would cost microseconds
more per delivery, still far below what the deliverer spends; this one keeps the receiver out of
the figure. The harness reads what it noted:

- `GET /stats`: `{"received", "unique", "first", "last"}` (deliveries, distinct webhook-ids, and
  the arrival times of the first and last, in seconds since the epoch);
- `GET /arrivals`: `[[arrival, webhook-id, timestamp], …]`, every delivery since the last reset;
- `POST /reset`: forget everything; `GET /healthz`: 200.
"""

import json
import time
from typing import Any

ARRIVALS: list[tuple[float, bytes, bytes]] = []
SEEN: set[bytes] = set()
STAMP = b'"timestamp":"'
STAMP_LENGTH = len("2026-12-07T13:40:05.123456Z")
NO_CONTENT = {"type": "http.response.start", "status": 204, "headers": []}
EMPTY = {"type": "http.response.body", "body": b""}


def header(scope: dict[str, Any], name: bytes) -> bytes:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return b""


async def answer(send: Any, status: int, document: Any) -> None:
    body = json.dumps(document).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    path, method = scope["path"], scope["method"]
    if method == "POST" and path == "/hook":
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        arrived = time.time()
        start = body.find(STAMP)
        stamp = body[start + len(STAMP) : start + len(STAMP) + STAMP_LENGTH] if start >= 0 else b""
        webhook_id = header(scope, b"webhook-id")
        ARRIVALS.append((arrived, webhook_id, stamp))
        SEEN.add(webhook_id)
        await send(NO_CONTENT)
        await send(EMPTY)
    elif path == "/stats":
        await answer(
            send,
            200,
            {
                "received": len(ARRIVALS),
                "unique": len(SEEN),
                "first": ARRIVALS[0][0] if ARRIVALS else None,
                "last": ARRIVALS[-1][0] if ARRIVALS else None,
            },
        )
    elif path == "/arrivals":
        await answer(send, 200, [[when, key.decode(), stamp.decode()] for when, key, stamp in ARRIVALS])
    elif method == "POST" and path == "/reset":
        ARRIVALS.clear()
        SEEN.clear()
        await answer(send, 200, {"received": 0})
    elif path == "/healthz":
        await answer(send, 200, {"status": "ok"})
    else:
        await answer(send, 404, {"error": "not found"})
