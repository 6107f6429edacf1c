"""Record ids: made by the server as time-ordered UUIDs, read from what a client sent."""

import os
import time
import uuid


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
