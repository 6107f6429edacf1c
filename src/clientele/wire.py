"""How values look on the wire: JSON bodies, timestamps, dates and ids."""

import os
import time
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel
from starlette.responses import JSONResponse as StarletteJSONResponse

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
T = TypeVar("T")


class JSONResponse(StarletteJSONResponse):
    """A JSON response serialised by orjson, which is several times faster than json."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def format_timestamp(value: datetime | None) -> str | None:
    """A stored timestamp shown to the second (truncated, never rounded up)."""
    # isoformat is several times faster than strftime, and every row shows three of these.
    return None if value is None else value.isoformat(" ", "seconds")


def format_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def new_id() -> uuid.UUID:
    """A time-ordered UUIDv7 (RFC 9562), so new rows land at the end of their indexes."""
    unix_ms = time.time_ns() // 1_000_000
    random_bits = int.from_bytes(os.urandom(10), "big")
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (random_bits >> 68 & 0xFFF) << 64
    value |= 0b10 << 62
    value |= random_bits & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def parse_uuid(value: str) -> uuid.UUID | None:
    """The UUID a client sent, or None where the text is not one."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


class Data(BaseModel, Generic[T]):
    """The envelope of every single-record response."""

    data: T
