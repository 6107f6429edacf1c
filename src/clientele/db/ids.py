"""Record ids: made by the server as time-ordered UUIDs, read from what a client sent."""

import os
import time
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Table, and_


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


def with_keys(table: Table, keys: Iterable[tuple[Any, uuid.UUID]]) -> ColumnElement[bool]:
    """The rows of these `(business_id, id)` keys, for ids the server made: those are unique across
    businesses, so a list of businesses and a list of ids find exactly the listed pairs. PostgreSQL plans a
    list of pairs in time that grows far faster than its length (2.6 ms for 64, 82 ms for 500, where two
    lists take about 1 ms); the business list keeps the primary key's index usable."""
    businesses, ids = set(), set()
    for business_id, record_id in keys:
        businesses.add(business_id)
        ids.add(record_id)
    return and_(table.c.business_id.in_(businesses), table.c.id.in_(ids))
