"""The one clock every stored timestamp is read from."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current UTC time as a naive datetime, the form every timestamp is stored in."""
    return datetime.now(UTC).replace(tzinfo=None)
