"""Record versions over HTTP: a strong `ETag` on single-record responses, `If-Match` on writes
(docs/decisions.md, "Record versions")."""

from datetime import datetime, timedelta
from typing import Any, Protocol

from fastapi import Request

from clientele.errors import PreconditionFailed
from clientele.web.wire import JSONResponse

EPOCH = datetime(1970, 1, 1)
MICROSECOND = timedelta(microseconds=1)


class Versioned(Protocol):
    """A record as read: a row, or the fast paths' record read by attribute."""

    @property
    def updated_at(self) -> datetime: ...


def etag(row: Versioned) -> str:
    return f'"{(row.updated_at - EPOCH) // MICROSECOND:x}"'


def if_match_allows(header: str, current: str) -> bool:
    """RFC 9110's strong comparison: `*`, or any listed tag equal to the current one.

    A weak tag (`W/"…"`) never matches. A bare, unquoted tag is read as if quoted, since
    some clients strip the quotes they were sent.
    """
    for candidate in (part.strip() for part in header.split(",")):
        if candidate == "*" or candidate == current or f'"{candidate}"' == current:
            return True
    return False


def require_version(request: Request, row: Versioned) -> None:
    """412 with the current ETag when the request's `If-Match` names another version."""
    header = request.headers.get("if-match")
    if header is None:
        return
    current = etag(row)
    if not if_match_allows(header, current):
        raise PreconditionFailed(
            "The record has changed since that version: If-Match does not match its ETag.", headers={"ETag": current}
        )


def record_response(
    row: Versioned, body: dict[str, Any], *, status_code: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    """One record's response, `{"data": …}`, with its ETag."""
    return JSONResponse({"data": body}, status_code=status_code, headers={"ETag": etag(row)} | (headers or {}))


ETAG_DOCS: dict[int | str, dict[str, Any]] = {
    200: {"headers": {"ETag": {"description": "The record's version, for `If-Match`.", "schema": {"type": "string"}}}},
}
IF_MATCH_PARAMETER: dict[str, Any] = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "Answer only if the record's `ETag` is one of these (or `*`); else 412 with the current `ETag`, "
    "and nothing changes.",
    "schema": {"type": "string"},
}
