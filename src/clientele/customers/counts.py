"""Exact customer totals without counting rows, for the lists a point of sale asks for most.

Counting a million rows takes PostgreSQL ~100 ms; the unfiltered first page should take a
few. So PostgreSQL keeps per-business counters (migration 0003): statement-level triggers
add each write's delta to one of 16 slot rows chosen at random, which spreads concurrent
writers over 16 row locks, and a read sums the slots. The counters are written in the
same transaction as the rows, so a total read from them is exact in the reader's snapshot.
SQLite counts rows: at a laptop's scale that is fast enough and needs no triggers.
"""

import uuid

from sqlalchemy import BigInteger, Column, MetaData, SmallInteger, Table, Uuid, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.listing import parse_boolean

COUNTERS = ("active", "deleted", "blacklisted", "house_account_enabled", "loyalty_enabled", "with_orders")

# Kept off the shared metadata: the table exists on PostgreSQL only, made by migration 0003.
customer_counts = Table(
    "customer_counts",
    MetaData(),
    Column("business_id", Uuid, primary_key=True),
    Column("slot", SmallInteger, primary_key=True),
    *(Column(name, BigInteger, nullable=False) for name in COUNTERS),
)

# The boolean filters whose `true` count is a counter (among active customers).
FILTER_COUNTERS = {
    "is_blacklisted": "blacklisted",
    "is_house_account_enabled": "house_account_enabled",
    "is_loyalty_enabled": "loyalty_enabled",
    "has_orders": "with_orders",
}


def counter_expression(filters: dict[str, str]) -> tuple[str, str | None] | None:
    """Which counters answer these filters: (counter, counter to subtract), or None if none can."""
    remaining = dict(filters)
    deleted = parse_boolean("filter[is_deleted]", remaining.pop("is_deleted")) if "is_deleted" in remaining else False
    if deleted:
        return ("deleted", None) if not remaining else None
    if not remaining:
        return ("active", None)
    if len(remaining) == 1:
        [(name, value)] = remaining.items()
        counter = FILTER_COUNTERS.get(name)
        if counter is not None:
            return (counter, None) if parse_boolean(f"filter[{name}]", value) else ("active", counter)
    return None


async def counted_total(*, connection: AsyncConnection, business_id: uuid.UUID, filters: dict[str, str]) -> int | None:
    """The exact total from the counters, or None where they cannot answer (then rows are counted)."""
    if connection.dialect.name != "postgresql":
        return None
    expression = counter_expression(filters)
    if expression is None:
        return None
    counter, minus = expression
    total = func.coalesce(func.sum(customer_counts.c[counter]), 0)
    if minus is not None:
        total = total - func.coalesce(func.sum(customer_counts.c[minus]), 0)
    return int(await connection.scalar(select(total).where(customer_counts.c.business_id == business_id)) or 0)
