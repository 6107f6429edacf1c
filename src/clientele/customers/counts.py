"""Exact customer totals without counting rows, for the lists a point of sale asks for most.

Counting a million rows takes PostgreSQL ~100 ms; the unfiltered first page should take a
few. So PostgreSQL keeps per-business counters (migration 0003), active customers per dial
code and per tag (migration 0005: most customers share a dial code, and a tag may be on many
of them), and per set of tags (migration 0007: for a filter with several tags).
Statement-level triggers add each write's delta to one of 16 slot rows chosen at random,
which spreads concurrent writers over 16 row locks, and a read sums the slots. The counters
are written in the same transaction as the rows, so a total read from them is exact in the
reader's snapshot.

A total no counter answers is counted row by row, per list segment (a 1,024th of the business's
customers, by id), and each segment's count is remembered with the version the segment had when
it was counted (migrations 0008, 0009, 0011): a client paging through a filter, or a sync walking
a million customers by cursor, asks for the same total on every page, and gets it without a
recount; after a write, only the segments it wrote in are counted again. A write draws each
segment it moves a new random version (migration 0012), so one version names one committed
state, a database restored from a backup included. A count that found many customers also
leaves what the worker knows of the filter in the database (migration 0010), where a worker
that has not counted it yet starts from it.

SQLite counts rows every time: at a laptop's scale that is fast enough and needs no triggers.
"""

import uuid
from array import array
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ColumnElement,
    DateTime,
    Integer,
    MetaData,
    ScalarSelect,
    Select,
    SmallInteger,
    Table,
    Text,
    Uuid,
    delete,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.customers.models import customers
from clientele.database import utcnow
from clientele.listing import count_statement, parse_boolean, parse_ids, parse_integer
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
# Per business and filter, what each list segment matched and at which version (-1: not counted).
customer_list_counts = Table(
    "customer_list_counts",
    MetaData(),
    Column("business_id", Uuid, primary_key=True),
    Column("filters", Text, primary_key=True),
    Column("versions", ARRAY(BigInteger), nullable=False),
    Column("matches", ARRAY(BigInteger), nullable=False),
    Column("counted_at", DateTime, nullable=False),
)
# A count that found at least this many customers is shared with every worker. Finding fewer costs
# a worker less than sharing it: the recount of one segment after a write, or a searched name or
# email, of which there are many distinct ones.
SHARED_MINIMUM = 10_000
# A shared entry not written for this long is deleted by the business's next shared count.
SHARED_RETENTION = timedelta(days=7)

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


# A business's customers fall into this many list segments, each with its own version
# (migrations 0009, 0011): after a write, only the segments it wrote in are counted again.
SEGMENTS = 1024


def list_segment(customer_id: ColumnElement[Any]) -> ColumnElement[int]:
    """The customer's list segment, fixed by its id (its last ten bits): the expression migration 0011
    indexes, written the same way, constants included, for the index to serve it."""
    id_bytes = func.uuid_send(customer_id)
    return (func.get_byte(id_bytes, literal_column("14")).op("&")(literal_column("3")) * literal_column("256")
            + func.get_byte(id_bytes, literal_column("15")))


def segment_versions(business_id: uuid.UUID, segments: Iterable[int] | None = None, *,
                     only_if: ColumnElement[bool] | None = None) -> ScalarSelect[Any]:
    """The versions of the business's list segments (of these only, if given) as a JSON object;
    each moves with every committed write to the segment's customers or their tag links, and all
    with a write to the business's tags. A segment never written has no version yet (0).
    With `only_if`, none are read (None) unless that holds."""
    v = customer_list_versions.c
    versions = select(func.json_object_agg(v.slot, v.version, type_=JSON)).where(v.business_id == business_id)
    if segments is not None:
        versions = versions.where(v.slot.in_(segments))
    if only_if is not None:
        versions = versions.where(only_if)
    return versions.scalar_subquery()


def per_segment(found: dict[str, int] | None) -> dict[int, int]:
    """Numbers by segment, from a JSON object as read (None where it had no rows)."""
    return {int(segment): number for segment, number in (found or {}).items()}


class RememberedTotals:
    """Per filter, the rows counted in each list segment with the segment's version when they were
    counted; the most recently used filters are kept."""

    def __init__(self, size: int) -> None:
        self.size = size
        # Two arrays of SEGMENTS numbers a filter: versions (-1: never counted) and rows.
        self.entries: OrderedDict[Hashable, tuple[array[int], array[int]]] = OrderedDict()

    def __contains__(self, key: Hashable) -> bool:
        return key in self.entries

    def split(self, key: Hashable, versions: dict[int, int]) -> tuple[int, tuple[int, ...]]:
        """The rows counted for `key` in the segments still at these versions, and the other segments,
        to be counted again."""
        if key not in self.entries:
            return 0, tuple(range(SEGMENTS))
        self.entries.move_to_end(key)
        counted_at, rows = self.entries[key]
        stale = tuple(segment for segment in range(SEGMENTS) if counted_at[segment] != versions.get(segment, 0))
        return sum(rows) - sum(rows[segment] for segment in stale), stale

    def counted(self, key: Hashable) -> tuple[list[int], list[int]]:
        """For `key`, each segment's version when counted (-1: never) and the rows it matched."""
        counted_at, rows = self.entries[key]
        return counted_at.tolist(), rows.tolist()

    def put(self, key: Hashable, counted: dict[int, tuple[int, int]]) -> None:
        """Remember (version, rows) for these segments of `key`, beside its other segments."""
        if key not in self.entries:
            self.entries[key] = (array("q", [-1]) * SEGMENTS, array("q", [0]) * SEGMENTS)
        counted_at, rows = self.entries[key]
        for segment, (version, found) in counted.items():
            counted_at[segment], rows[segment] = version, found
        self.entries.move_to_end(key)
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)


# One per worker process; an entry is two arrays of 1,024 numbers, 16 kB.
REMEMBERED = RememberedTotals(size=1024)


def shared_key(filters: dict[str, str]) -> str:
    """The filters as one string, whatever their order: how a filter is known in memory and in the database."""
    return orjson.dumps(sorted(filters.items())).decode()


def remembered_key(business_id: uuid.UUID, filters: dict[str, str]) -> Hashable:
    return business_id, shared_key(filters)


def shared_counts(business_id: uuid.UUID, filters: dict[str, str]) -> Select[Any]:
    """The business's shared counts for these filters, as a JSON array [versions, matches] (no row: none)."""
    t = customer_list_counts.c
    return select(func.json_build_array(t.versions, t.matches, type_=JSON)).where(
        t.business_id == business_id, t.filters == shared_key(filters))


async def share_counts(*, connection: AsyncConnection, business_id: uuid.UUID, filters: dict[str, str]) -> None:
    """Leave what this worker remembers of the filter where every worker finds it; forget the business's
    entries that nobody has written for SHARED_RETENTION."""
    versions, matches = REMEMBERED.counted(remembered_key(business_id, filters))
    now = utcnow()
    t = customer_list_counts
    key = shared_key(filters)
    # One statement: the expired entries go in a CTE of the upsert. It leaves out this filter's
    # own entry, which the upsert replaces: PostgreSQL does not promise which of two changes to
    # one row in one statement takes effect.
    expired = delete(t).where(t.c.business_id == business_id, t.c.filters != key,
                              t.c.counted_at < now - SHARED_RETENTION).cte("expired")
    entry = insert(t).values(business_id=business_id, filters=key, versions=versions,
                             matches=matches, counted_at=now)
    await connection.execute(entry.on_conflict_do_update(
        index_elements=[t.c.business_id, t.c.filters],
        set_={"versions": entry.excluded.versions, "matches": entry.excluded.matches,
              "counted_at": entry.excluded.counted_at}).add_cte(expired))


@dataclass(frozen=True)
class ListTotals:
    """What a customers list knows of its total before it counts a row."""

    total: int | None  # exact, where known
    population: int | None  # the business's active customers, where asked for and known
    counted: int = 0  # the matches already counted in segments that have not moved: at least this many
    stale: tuple[int, ...] | None = None  # the segments to count; None: all


async def known_totals(*, connection: AsyncConnection, business_id: uuid.UUID, filters: dict[str, str],
                       population: bool) -> ListTotals:
    """The exact number of customers these filters match, where it is known without counting rows:
    from the counters, or (PostgreSQL) from counts remembered per segment whose versions have not
    moved; else which segments are to be counted. And, if `population`, the business's active
    customers. One statement reads whatever of these is needed."""
    if connection.dialect.name != "postgresql":
        return ListTotals(total=None, population=None)
    counter = counter_statement(business_id, filters)
    key = remembered_key(business_id, filters)
    # Only counts made on PostgreSQL are remembered (count_and_remember). A filter this worker has
    # not counted needs the versions only to use a shared count; most such filters (a searched name)
    # have none, and their count reads the versions it counts at.
    shared = None if counter is not None or key in REMEMBERED else shared_counts(business_id, filters)
    read = {
        "total": None if counter is None else counter.scalar_subquery(),
        "versions": None if counter is not None else segment_versions(
            business_id, only_if=None if shared is None else shared.exists()),
        "shared": None if shared is None else shared.scalar_subquery(),
        "population": business_counters(business_id, "active").scalar_subquery() if population else None,
    }
    wanted = [column.label(name) for name, column in read.items() if column is not None]
    found = (await connection.execute(select(*wanted))).one()._mapping
    active = None if "population" not in found else int(found["population"] or 0)
    if counter is not None:
        return ListTotals(total=int(found["total"] or 0), population=active)
    if found.get("shared") is not None:
        versions, matches = found["shared"]
        REMEMBERED.put(key, dict(enumerate(zip(versions, matches, strict=True))))
    if key not in REMEMBERED:
        return ListTotals(total=None, population=active)
    counted, stale = REMEMBERED.split(key, per_segment(found["versions"]))
    return ListTotals(total=None if stale else counted, population=active, counted=counted, stale=stale)


async def count_and_remember(matching: Select[Any], *, connection: AsyncConnection, business_id: uuid.UUID,
                             filters: dict[str, str], known: ListTotals) -> int:
    """The number of `matching` customers. On PostgreSQL, those in the segments `known` holds to be
    counted are counted, per segment, and remembered with the segment's version; the rest were.

    The counts and the versions they were taken at are read in one statement, so in one snapshot:
    a later reader that sees a segment at the same version sees the same committed rows in it.
    """
    if connection.dialect.name != "postgresql":
        return int(await connection.scalar(count_statement(matching)) or 0)
    segment_of_row = list_segment(customers.c.id)
    if known.stale is not None:
        matching = matching.where(segment_of_row.in_(known.stale))
    counted = matching.with_only_columns(segment_of_row.label("segment"), func.count().label("rows")).group_by(
        segment_of_row).order_by(None).subquery()
    found_versions, found_rows = (await connection.execute(select(
        segment_versions(business_id, known.stale),
        select(func.json_object_agg(counted.c.segment, counted.c.rows, type_=JSON)).scalar_subquery(),
    ))).one()
    versions, rows = per_segment(found_versions), per_segment(found_rows)
    recounted = {segment: (versions.get(segment, 0), rows.get(segment, 0))
                 for segment in (known.stale if known.stale is not None else range(SEGMENTS))}
    REMEMBERED.put(remembered_key(business_id, filters), recounted)
    found = sum(rows.values())
    if found >= SHARED_MINIMUM:
        await share_counts(connection=connection, business_id=business_id, filters=filters)
    return known.counted + found
