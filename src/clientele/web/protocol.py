"""The HTTP/1.1 protocol `clientele serve` runs: uvicorn's (httptools), with a bound on a request's
head answered with 431 (docs/decisions.md, "Request ids, security headers, request log").
"""

import asyncio
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from clientele.web.request_context import SECURITY_HEADERS, new_request_id

MAX_REQUEST_HEAD_BYTES = 64 * 1024
LINGER_IDLE_SECONDS = 1.0
LINGER_BYTES = 1024 * 1024
HEAD_TOO_LARGE = orjson.dumps(
    {"message": f"The request head (request line and headers) must not be greater than {MAX_REQUEST_HEAD_BYTES} bytes."}
)


class BoundedHeadHttpProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_bytes = 0  # received since the last complete head, outside a body
        self.reading_body = False
        self.refused = False
        self.lingered_bytes = 0
        self.linger_timer: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        if self.refused:
            self.linger(len(data))
            return
        if not self.reading_body:
            self.head_bytes += len(data)
        super().data_received(data)
        # A head not ended yet is refused as soon as it is too long, not when (if ever) it ends.
        if not self.reading_body and not self.refused and self.head_bytes > MAX_REQUEST_HEAD_BYTES:
            self.refuse_head()

    def on_headers_complete(self) -> None:
        if self.refused:
            return
        # Every whole head is measured: the count in data_received sees a read only after the parser
        # is done with it, and a head that came in one read, or behind another request, escapes it.
        if len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers) > MAX_REQUEST_HEAD_BYTES:
            self.refuse_head()
            return
        self.reading_body = True
        self.head_bytes = 0
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self.refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self.reading_body = False
        if not self.refused:
            super().on_message_complete()

    def refuse_head(self) -> None:
        self.refused = True
        # Requests before this one on the connection get nothing more: the 431 ends it. Their responses
        # must not be written after write_eof, which asyncio's own loop refuses with an error.
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
        self.pipeline.clear()
        # Always a new id: a client's own X-Request-Id may lie in the part of the head never read.
        request_id = new_request_id()
        self.logger.warning(
            "request_id=%s A request head over %d bytes was refused.", request_id.decode(), MAX_REQUEST_HEAD_BYTES
        )
        content = [b"HTTP/1.1 431 Request Header Fields Too Large\r\n"]
        for name, value in [*self.server_state.default_headers, (b"x-request-id", request_id), *SECURITY_HEADERS]:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(HEAD_TOO_LARGE)).encode() + b"\r\n",
                b"connection: close\r\n\r\n",
                HEAD_TOO_LARGE,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.write_eof()
        self.linger(0)

    def linger(self, received: int) -> None:
        """Throw away what a refused client still sends; close when it is quiet, or has sent too much."""
        self.lingered_bytes += received
        if self.linger_timer is not None:
            self.linger_timer.cancel()
        if self.lingered_bytes > LINGER_BYTES:
            self.transport.close()
            return
        self.linger_timer = self.loop.call_later(LINGER_IDLE_SECONDS, self.transport.close)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.linger_timer is not None:
            self.linger_timer.cancel()
        super().connection_lost(exc)
