"""Exact customer totals without counting rows, for the lists a point of sale asks for most.

Counting a million rows takes PostgreSQL ~100 ms; the unfiltered first page should take a
few. So PostgreSQL keeps per-business counters (migration 0003), active customers per dial
code and per tag (migration 0005: most customers share a dial code, and a tag may be on many
of them), and per set of tags (migration 0007: for a filter with several tags).
Statement-level triggers add each write's delta to one of 16 slot rows chosen at random,
which spreads concurrent writers over 16 row locks, and a read sums the slots. The counters
are written in the same transaction as the rows, so a total read from them is exact in the
reader's snapshot.

A total no counter answers is counted row by row, and remembered with the business's list
version (migration 0008) it was counted at: a client paging through a filter, or a sync
walking a million customers by cursor, asks for the same total on every page, and gets it
without a recount until a write moves the version.

SQLite counts rows every time: at a laptop's scale that is fast enough and needs no triggers.
"""

import uuid
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    ScalarSelect,
    Select,
    SmallInteger,
    Table,
    Uuid,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.listing import parse_boolean, parse_ids, parse_integer
from clientele.tags.models import tags

COUNTERS = ("active", "deleted", "blacklisted", "house_account_enabled", "loyalty_enabled", "with_orders")

# Kept off the shared metadata: the table exists on PostgreSQL only, made by migration 0003.
customer_counts = Table(
    "customer_counts",
    MetaData(),
    Column("business_id", Uuid, primary_key=True),
    Column("slot", SmallInteger, primary_key=True),
    *(Column(name, BigInteger, nullable=False) for name in COUNTERS),
)


def value_counts(name: str, key: Column[Any]) -> Table:
    """A table of active customers per business and value (migration 0005), in slots."""
    return Table(name, MetaData(), Column("business_id", Uuid, primary_key=True), key,
                 Column("slot", SmallInteger, primary_key=True), Column("active", BigInteger, nullable=False))


customer_dial_code_counts = value_counts("customer_dial_code_counts", Column("dial_code", Integer, primary_key=True))
customer_tag_counts = value_counts("customer_tag_counts", Column("tag_id", Uuid, primary_key=True))
customer_list_versions = Table(
    "customer_list_versions",
    MetaData(),
    Column("business_id", Uuid, primary_key=True),
    Column("slot", SmallInteger, primary_key=True),
    Column("version", BigInteger, nullable=False),
)
customer_tag_set_counts = value_counts("customer_tag_set_counts",
                                       Column("tag_ids", ARRAY(Uuid), primary_key=True))

# The boolean filters whose `true` count is a counter (among active customers).
FILTER_COUNTERS = {
    "is_blacklisted": "blacklisted",
    "is_house_account_enabled": "house_account_enabled",
    "is_loyalty_enabled": "loyalty_enabled",
    "has_orders": "with_orders",
}


def business_counters(business_id: uuid.UUID, counter: str, minus: str | None = None) -> Select[Any]:
    """The sum of one of the business's counters, less another."""
    total = func.coalesce(func.sum(customer_counts.c[counter]), 0)
    if minus is not None:
        total = total - func.coalesce(func.sum(customer_counts.c[minus]), 0)
    return select(total).where(customer_counts.c.business_id == business_id)


def active_tags(business_id: uuid.UUID, tag_ids: set[uuid.UUID]) -> Select[Any]:
    """Those of the ids that are the business's active tags: the filter matches no other."""
    return select(tags.c.id).where(tags.c.business_id == business_id, tags.c.id.in_(tag_ids),
                                   tags.c.deleted_at.is_(None))


def per_value_counter(business_id: uuid.UUID, name: str, value: str) -> Select[Any] | None:
    """The active customers with one dial code, or with any of some tags, or None for any other filter."""
    if name == "dial_code":
        d = customer_dial_code_counts.c
        return select(func.sum(d.active)).where(d.business_id == business_id,
                                                d.dial_code == parse_integer("dial_code", value))
    ids = set(parse_ids(value)) if name == "tags.id" else set()
    if not ids:
        return None
    if len(ids) == 1:
        t = customer_tag_counts.c
        return select(func.sum(t.active)).where(t.business_id == business_id,
                                                t.tag_id.in_(active_tags(business_id, ids)))
    # Customers whose set of tags holds any of them.
    s = customer_tag_set_counts.c
    wanted = func.array(active_tags(business_id, ids).scalar_subquery())
    return select(func.sum(s.active)).where(s.business_id == business_id, s.tag_ids.overlap(wanted))


def counter_statement(business_id: uuid.UUID, filters: dict[str, str]) -> Select[Any] | None:
    """The statement reading the counters that answer these filters exactly, or None if none can."""
    remaining = dict(filters)
    deleted = parse_boolean("filter[is_deleted]", remaining.pop("is_deleted")) if "is_deleted" in remaining else False
    if deleted:
        return business_counters(business_id, "deleted") if not remaining else None
    if not remaining:
        return business_counters(business_id, "active")
    if len(remaining) != 1:
        return None
    [(name, value)] = remaining.items()
    counter = FILTER_COUNTERS.get(name)
    if counter is None:
        return per_value_counter(business_id, name, value)
    if parse_boolean(f"filter[{name}]", value):
        return business_counters(business_id, counter)
    return business_counters(business_id, "active", minus=counter)


def list_version(business_id: uuid.UUID) -> ScalarSelect[Any]:
    """The business's customer list version: it moves with every committed write to its customers,
    their tag links or its tags."""
    v = customer_list_versions.c
    return select(func.coalesce(func.sum(v.version), 0)).where(v.business_id == business_id).scalar_subquery()


class RememberedTotals:
    """Row counts, each with the list version it was counted at; the most recently used are kept."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[Hashable, tuple[int, int]] = OrderedDict()

    def get(self, key: Hashable, version: int) -> int | None:
        """The total counted for `key` at this version, if it is the one remembered."""
        entry = self.entries.get(key)
        if entry is None or entry[0] != version:
            return None
        self.entries.move_to_end(key)
        return entry[1]

    def put(self, key: Hashable, version: int, total: int) -> None:
        self.entries[key] = (version, total)
        self.entries.move_to_end(key)
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)


# One per worker process; an entry is a few hundred bytes.
REMEMBERED = RememberedTotals(size=1024)


def remembered_key(business_id: uuid.UUID, filters: dict[str, str]) -> Hashable:
    return business_id, tuple(sorted(filters.items()))


async def known_totals(*, connection: AsyncConnection, business_id: uuid.UUID, filters: dict[str, str],
                       population: bool) -> tuple[int | None, int | None]:
    """The exact number of customers these filters match, where it is known without counting rows:
    from the counters, or (PostgreSQL) a count remembered at the business's current list version;
    and, if `population`, the business's active customers. None where unknown. One statement reads
    whatever of these is needed."""
    if connection.dialect.name != "postgresql":
        return None, None
    counter = counter_statement(business_id, filters)
    key = remembered_key(business_id, filters)
    # Only counts made on PostgreSQL are remembered (count_and_remember).
    read = {
        "total": None if counter is None else counter.scalar_subquery(),
        "version": list_version(business_id) if counter is None and key in REMEMBERED.entries else None,
        "population": business_counters(business_id, "active").scalar_subquery() if population else None,
    }
    wanted = [column.label(name) for name, column in read.items() if column is not None]
    found = (await connection.execute(select(*wanted))).one()._mapping if wanted else {}
    total = found.get("total")
    if "version" in found:
        total = REMEMBERED.get(key, int(found["version"]))
    return (None if total is None and counter is None else int(total or 0),
            None if "population" not in found else int(found["population"] or 0))


async def count_and_remember(rows: Select[Any], *, connection: AsyncConnection, business_id: uuid.UUID,
                             filters: dict[str, str]) -> int:
    """`rows` (a count of the matching customers), remembered on PostgreSQL with the list version.

    The count and the version it was taken at are read in one statement, so in one snapshot: a
    later reader that sees the same version sees the same committed rows, and the same total.
    """
    if connection.dialect.name != "postgresql":
        return int(await connection.scalar(rows) or 0)
    version, total = (await connection.execute(select(list_version(business_id), rows.scalar_subquery()))).one()
    REMEMBERED.put(remembered_key(business_id, filters), int(version), int(total))
    return int(total)
