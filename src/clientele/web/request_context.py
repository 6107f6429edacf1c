"""What every response carries and every request leaves in the log: a request id, the security
headers, and one request log line without personal data."""

import logging
import os
import re
import time

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("clientele")
# One line per request at INFO; `clientele serve --no-access-log` turns it off (see serving.serve_log_config).
request_log = logging.getLogger("clientele.requests")

# A client's id is echoed only when it cannot forge a log line or smuggle markup.
SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")

SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store"))

# Where a request answered outside FastAPI's router (clientele.web.fast_paths) names its route.
ROUTE_PATH = "clientele.route_path"


def new_request_id() -> bytes:
    """A request id for a request that brought no usable one: 32 random hex digits."""
    return os.urandom(16).hex().encode()


def route_path(scope: Scope) -> str:
    """The path of the route that served the request, with its parameters as placeholders
    (`/v5/customers/{customer_id}`), or `-` for a request no route served (404, 429).

    A path may hold whatever a client typed there and a query string holds names and phones;
    a route's path holds neither.
    """
    if ROUTE_PATH in scope:
        named: str = scope[ROUTE_PATH]
        return named
    if "endpoint" not in scope:
        return "-"
    path: str = scope["path"]
    if not scope.get("path_params"):
        return path
    template: str | None = getattr(scope.get("route"), "path", None)
    if template is None:
        return "-"
    # The route knows its path within its router; what precedes it is the router's prefix.
    return path.rsplit("/", template.count("/"))[0] + template


class RequestContextMiddleware:
    """Adds `X-Request-Id`, `X-Content-Type-Options: nosniff` and `Cache-Control: no-store` to
    every response, logs the request line, and logs each unhandled error with its request id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                if SANE_REQUEST_ID.fullmatch(value):
                    request_id = value
                break
        if request_id is None:
            request_id = new_request_id()
        added_headers = [(b"x-request-id", request_id), *SECURITY_HEADERS]
        status = 0

        async def send_with_context(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *added_headers]
            await send(message)

        try:
            await self.app(scope, receive, send_with_context)
        except Exception as error:
            # Logged once, here, with the traceback and the request id. Starlette raises the error
            # on after sending its 500, and the server would log the traceback again: once the
            # response has started, the error is not raised further.
            logger.exception(
                "request_id=%s %s %s failed with an unhandled %s",
                request_id.decode(),
                scope["method"],
                route_path(scope),
                type(error).__name__,
            )
            if not status:
                raise
        finally:
            if request_log.isEnabledFor(logging.INFO):
                # Named values, so that a JSON log line carries each as a field of its own.
                request_log.info(
                    "request_id=%(request_id)s method=%(method)s path=%(path)s status=%(status)s "
                    "duration_ms=%(duration_ms).2f",
                    {
                        "request_id": request_id.decode(),
                        "method": scope["method"],
                        "path": route_path(scope),
                        "status": status or "-",
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )


def install_request_context(app: FastAPI) -> None:
    """Put the middleware outside the whole stack, Starlette's 500 handler included, so that a 500
    carries the headers too."""
    build_middleware_stack = app.build_middleware_stack

    def build_with_request_context() -> ASGIApp:
        return RequestContextMiddleware(build_middleware_stack())

    app.build_middleware_stack = build_with_request_context  # type: ignore[method-assign]
