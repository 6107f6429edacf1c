"""The HTTP ceiling: a bare ASGI app answering every GET with a pre-serialised customer body.

No framework, no database, no parsing: what uvicorn itself costs per request on this
machine, for a body of the same size as Clientele's `GET /customers/{id}` (the harness
saves that body to the file named by BENCH_BODY_FILE).
"""

import os
from pathlib import Path
from typing import Any

BODY = Path(os.environ["BENCH_BODY_FILE"]).read_bytes()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
