"""Every exception rendered as SPEC §3's JSON body, and the error responses /openapi.json describes."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.routing import Match

from clientele.errors import ApiError, FieldErrors, summarise
from clientele.web.request_context import route_path
from clientele.web.wire import JSONResponse

logger = logging.getLogger("clientele")


def error_body(message: str, errors: FieldErrors | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message}
    if errors:
        body["errors"] = errors
    return body


def error_response(
    status_code: int, message: str, errors: FieldErrors | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(message, errors), status_code=status_code, headers=headers)


HTTP_MESSAGES = {
    404: "Not Found.",
    405: "Method Not Allowed.",
    406: "Not Acceptable.",
    415: "Unsupported Media Type.",
}


async def handle_api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.message, exc.errors, exc.headers)


HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    return [
        method
        for method in HTTP_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in request.app.router.routes
        )
    ]


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return error_response(exc.status_code, message, headers=headers)


async def handle_request_validation(_request: Request, exc: Exception) -> Response:
    # Routes parse their own input, so this only fires for malformed framework-level
    # input (path or header parameters); it is the client's fault, never a 500.
    assert isinstance(exc, RequestValidationError)
    errors: FieldErrors = {}
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"][1:]) or "request"
        errors.setdefault(field, []).append(error["msg"])
    return error_response(400, summarise(errors), errors)


async def handle_database_unavailable(request: Request, exc: Exception) -> Response:
    logger.warning("database unavailable on %s %s: %s", request.method, route_path(request.scope), exc)
    retry_after = str(request.app.state.settings.retry_after_seconds)
    return error_response(503, "Service Unavailable.", headers={"Retry-After": retry_after})


async def handle_database_error(request: Request, exc: Exception) -> Response:
    """A connection lost mid-statement, or closed while it was opening (SQLSTATE class 08,
    "connection exception"), which asyncpg reports as a plain DBAPIError, is a 503 too.

    Answered here rather than by `handle_unexpected`: after that catch-all responds, Starlette
    re-raises, and uvicorn then closes the client's keep-alive connection under its next request.
    Any other database error is a bug and goes on to the 500.
    """
    assert isinstance(exc, DBAPIError)
    if exc.connection_invalidated or str(getattr(exc.orig, "sqlstate", "")).startswith("08"):
        return await handle_database_unavailable(request, exc)
    raise exc


async def handle_unexpected(_request: Request, _exc: Exception) -> Response:
    # A lost connection never gets here: handle_database_error answers it. The error is logged
    # by the request context, with the request id and the route's path (not the one sent,
    # which may hold a phone).
    return error_response(500, "Server Error.")


CLIENT_CLOSED_REQUEST = 499


async def handle_client_disconnect(request: Request, _exc: Exception) -> Response:
    """The client went away while sending its body: nobody reads an answer, and it is no server error.

    499 is what the request log shows, as nginx logs it.
    """
    logger.info("client disconnected during %s %s", request.method, route_path(request.scope))
    return Response(status_code=CLIENT_CLOSED_REQUEST)


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception to a JSON body; a traceback never reaches the client."""
    app.add_exception_handler(ApiError, handle_api_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_exception_handler(RequestValidationError, handle_request_validation)
    app.add_exception_handler(ClientDisconnect, handle_client_disconnect)
    # PoolTimeout: every pooled connection stayed busy for the pool's whole timeout.
    for unavailable in (OperationalError, InterfaceError, ConnectionError, TimeoutError, PoolTimeout):
        app.add_exception_handler(unavailable, handle_database_unavailable)
    app.add_exception_handler(DBAPIError, handle_database_error)
    app.add_exception_handler(Exception, handle_unexpected)


class ErrorBody(BaseModel):
    """Every error response (documentation)."""

    message: str
    errors: dict[str, list[str]] = Field(
        default_factory=dict, description="Each field at fault and its sentences; absent when no field is."
    )


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` entry of a route for /openapi.json, one per status it can answer."""
    descriptions = {
        400: "Malformed query or body (unknown filter, sort or include; bad page; body not a JSON object).",
        401: "Missing, invalid, expired or revoked token.",
        403: "The token lacks the route's scope, or the scope for a guarded field it tries to change.",
        404: "No such record in this business.",
        409: "The record is deleted, or restoring it would break a uniqueness rule.",
        412: "`If-Match` names another version of the record than the stored one.",
        413: "Body over 1 MiB.",
        422: "A body field is invalid; `errors` names each one.",
        503: "The database is unavailable; retry after `Retry-After` seconds.",
    }
    headers = {
        401: {"WWW-Authenticate": {"description": "`Bearer`.", "schema": {"type": "string"}}},
        412: {"ETag": {"description": "The record's current version.", "schema": {"type": "string"}}},
        503: {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}},
    }
    return {
        status: {"model": ErrorBody, "description": descriptions[status]}
        | ({"headers": headers[status]} if status in headers else {})
        for status in statuses
    }
