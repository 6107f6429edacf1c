"""Which events an endpoint asks for: `*`, a family (`customer.*`) or one type (SPEC §10)."""

from typing import Any

from sqlalchemy import Column, ColumnElement, false, or_, true

RECORD_FAMILIES = ("customer", "tag", "delivery_zone", "address")
EVENT_TYPES: tuple[str, ...] = (
    *(f"{family}.{change}" for family in RECORD_FAMILIES for change in ("created", "updated", "deleted", "restored")),
    "house_account_transaction.created",
    "loyalty_transaction.created",
    "customers.imported",
)
FAMILIES = frozenset(event_type.split(".")[0] for event_type in EVENT_TYPES)
EVERY = "*"


def is_pattern(text: str) -> bool:
    """Whether `text` names events: `*`, a known family followed by `.*`, or a known type."""
    family, _, rest = text.partition(".")
    return text == EVERY or text in EVENT_TYPES or (rest == "*" and family in FAMILIES)


def matches(patterns: list[str], event_type: str) -> bool:
    """Whether an endpoint asking for `patterns` wants an event of `event_type`."""
    return any(
        pattern in (EVERY, event_type) or (pattern.endswith(".*") and event_type.startswith(pattern[:-1]))
        for pattern in patterns
    )


def matching_condition(patterns: list[str], column: Column[Any]) -> ColumnElement[bool]:
    """`matches` as SQL on a column of event types: the rows a replay since a time sends."""
    if EVERY in patterns:
        return true()
    exact = [pattern for pattern in patterns if not pattern.endswith(".*")]
    families = [pattern[:-1] for pattern in patterns if pattern.endswith(".*")]
    conditions: list[ColumnElement[bool]] = [column.in_(exact)] if exact else []
    # Families are known names (no LIKE wildcards in them).
    conditions += [column.startswith(family) for family in families]
    return or_(*conditions) if conditions else false()
