"""A real HTTP receiver on 127.0.0.1 for the deliverer to send to: it keeps every request and answers
each with the next scripted answer (200 when none is left)."""

import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import orjson
from standardwebhooks import Webhook


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = orjson.loads(self.body)
        return parsed

    def verify(self, secret: str) -> dict[str, Any]:
        """The payload, verified as any Standard Webhooks receiver would (raises if the signature is wrong)."""
        verified: dict[str, Any] = Webhook(secret).verify(self.body, self.headers)
        return verified


class Listener(ThreadingHTTPServer):
    # socketserver's backlog is 5: a deliverer's 16 sends side by side overflowed it, and the kernel
    # retried each connection beyond it a second later (a round took 1.1 s instead of 10 ms).
    request_queue_size = 128


@dataclass
class Receiver:
    # Serve HTTPS with this certificate (trustme's), for a receiver named `localhost`.
    tls: ssl.SSLContext | None = None
    answers: deque[tuple[int, dict[str, str], float]] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        if self.tls is not None:
            return f"https://localhost:{self.server.server_address[1]}/hooks"
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def answer(self, status: int, times: int = 1, delay: float = 0, **headers: str) -> None:
        """Answer the next `times` requests with this status and headers, `delay` seconds after each arrives."""
        self.answers.extend([(status, headers, delay)] * times)

    def __enter__(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender died mid-request (the crash tests kill it): not an arrival, as for any server.
                    return
                receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status, headers, delay = receiver.answers.popleft() if receiver.answers else (200, {}, 0)
                time.sleep(delay)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = Listener(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
