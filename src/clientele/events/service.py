"""Change events (SPEC §10): written in the writing transaction (the outbox), shown as each reader may see them.

An event stores its record as every scope would see it; the reader's scopes filter it when it is
read (`event_payload`), by the rule the record's own GET follows (`RecordShape.visible`).
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, case, delete, exists, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from clientele.addresses.schemas import ADDRESS_SHAPE
from clientele.auth import scopes as scope
from clientele.auth.models import businesses
from clientele.customers.schemas import CUSTOMER_SHAPE
from clientele.db.clock import utcnow
from clientele.db.engine import is_sqlite, write_transaction
from clientele.db.ids import new_id
from clientele.delivery_zones.schemas import ZONE_SHAPE
from clientele.events.models import events
from clientele.ledgers.schemas import HouseAccountTransactionOut, LoyaltyTransactionOut
from clientele.listing.filters import Filter, comma_list, day_filter, ids_filter, invalid, parse_timestamp
from clientele.listing.query import ListQuery, SortKey
from clientele.listing.spec import ListSpec
from clientele.tags.schemas import TAG_SHAPE
from clientele.web.wire import RecordShape

logger = logging.getLogger("clientele.events")
EVERY_SCOPE = frozenset(scope.ALL_SCOPES)
RETENTION = timedelta(days=30)
PURGE_BATCH = 10_000
PURGE_EVERY_SECONDS = 3600
IMPORTED = "customers.imported"
CREATED, UPDATED, DELETED, RESTORED = "created", "updated", "deleted", "restored"


@dataclass(frozen=True)
class RecordKind:
    """A kind of record that has events: the name its event types start with, its body's shape, the scope
    its GET needs (an event of it is shown only to a reader holding that scope), and its actions."""

    name: str
    shape: RecordShape
    read_scope: str
    actions: tuple[str, ...] = (CREATED, UPDATED, DELETED, RESTORED)

    def type(self, action: str) -> str:
        return f"{self.name}.{action}"


CUSTOMER = RecordKind("customer", CUSTOMER_SHAPE, scope.CUSTOMERS_GET)
TAG = RecordKind("tag", TAG_SHAPE, scope.GENERAL_READ)
DELIVERY_ZONE = RecordKind("delivery_zone", ZONE_SHAPE, scope.GENERAL_READ)
ADDRESS = RecordKind("address", ADDRESS_SHAPE, scope.CUSTOMERS_GET)
HOUSE_ACCOUNT_TRANSACTION = RecordKind(
    "house_account_transaction", RecordShape(HouseAccountTransactionOut), scope.ACCOUNTS_READ, (CREATED,)
)
LOYALTY_TRANSACTION = RecordKind(
    "loyalty_transaction", RecordShape(LoyaltyTransactionOut), scope.LOYALTY_READ, (CREATED,)
)
KINDS = {
    kind.name: kind for kind in (CUSTOMER, TAG, DELIVERY_ZONE, ADDRESS, HOUSE_ACCOUNT_TRANSACTION, LOYALTY_TRANSACTION)
}
READ_SCOPES: dict[str, str] = {
    **{kind.type(action): kind.read_scope for kind in KINDS.values() for action in kind.actions},
    # The import summary tells how many customers came in, which is what the customer list shows.
    IMPORTED: scope.CUSTOMERS_LIST,
}
EVENT_TYPES: tuple[str, ...] = tuple(READ_SCOPES)


def matching_types(patterns: str) -> frozenset[str]:
    """The event types a comma list names: a type, `family.*` (`customer.*`), or `*` for every type.
    ValueError naming the first item that names none."""
    matched: set[str] = set()
    for item in (part.strip() for part in patterns.split(",")):
        if not item:
            continue
        family = item.removesuffix("*")
        found = (
            set(EVENT_TYPES)
            if item == "*"
            else {event_type for event_type in EVENT_TYPES if event_type.startswith(family)}
            if item.endswith(".*")
            else {item} & set(EVENT_TYPES)
        )
        if not found:
            raise ValueError(f"Unknown event type {item!r}.")
        matched |= found
    return frozenset(matched)


def parse_types(value: str) -> list[str]:
    """The types `filter[type]` names, sorted: a cursor is bound to them as a list."""
    try:
        return sorted(matching_types(value))
    except ValueError as error:
        raise invalid("filter[type]", f"{error} Allowed: {', '.join(EVENT_TYPES)}, or family.* (customer.*).") from None


def parse_moment(value: str) -> datetime:
    """`filter[created_after]`: RFC 3339 (an event's `timestamp`), or the wire's `YYYY-MM-DD[ HH:MM:SS]` in UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return parse_timestamp("filter[created_after]", value)
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


LIST_SPEC = ListSpec(
    table=events,
    filters={
        "id": ids_filter(events.c.id.in_, "event id"),
        "type": Filter(
            parse=parse_types,
            condition=events.c.type.in_,
            description="Comma-separated event types; `customer.*` matches every type of a family.",
            documented=comma_list({"type": "string", "pattern": r"^[a-z_.*]+$"}),
        ),
        "record_id": ids_filter(events.c.record_id.in_, "record id"),
        "created_after": Filter(
            parse=parse_moment,
            condition=lambda moment: events.c.created_at > moment,
            description="Written strictly after this time: RFC 3339 (an event's `timestamp`) or UTC "
            "`YYYY-MM-DD[ HH:MM:SS]`.",
        ),
        "created_on": day_filter(events.c.created_at, "created_on", "Written"),
    },
    sort_columns={"created_at": events.c.created_at},
    follows=True,
)


def readable_types(scopes: frozenset[str]) -> frozenset[str]:
    """The event types a reader with these scopes is shown: those whose record it could GET."""
    return frozenset(event_type for event_type, needed in READ_SCOPES.items() if needed in scopes)


def event_clock() -> ColumnElement[datetime]:
    """An event's `created_at` on PostgreSQL: the database's clock, read once the transaction holds an id
    (the CASE asks for it first), so that `settled_before` sees the transaction before it can stamp an
    event (docs/decisions.md, "Events")."""
    return case(
        (func.pg_current_xact_id().is_not(None), func.timezone("UTC", func.clock_timestamp())),
    )


async def next_event_time(connection: AsyncConnection, business_id: uuid.UUID) -> datetime | ColumnElement[datetime]:
    """When an event written now is stamped. SQLite runs one write transaction at a time, so its own clock
    orders events as they commit, provided it never steps back behind the business's last event."""
    if not is_sqlite(connection):
        return event_clock()
    last = await connection.scalar(select(func.max(events.c.created_at)).where(events.c.business_id == business_id))
    now = utcnow()
    return now if last is None else max(now, last + timedelta(microseconds=1))


async def record_event(
    *,
    connection: AsyncConnection,
    business_id: uuid.UUID,
    type: str,
    record_id: uuid.UUID | None,
    data: dict[str, Any],
    changes: dict[str, Any] | None = None,
) -> None:
    """Write one event in the caller's transaction: it commits with the change it tells of, or not at all."""
    await connection.execute(
        insert(events).values(
            business_id=business_id,
            id=new_id(),
            type=type,
            record_id=record_id,
            created_at=await next_event_time(connection, business_id),
            data=data,
            changes=changes,
        )
    )


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """`{field: value before}` for each field whose shown value differs."""
    return {name: before.get(name) for name, value in after.items() if before.get(name) != value}


@dataclass(frozen=True)
class Change:
    """What the event of one change holds besides its id and time."""

    type: str
    record_id: uuid.UUID
    data: dict[str, Any]
    changes: dict[str, Any] | None


def change_of(*, kind: RecordKind, action: str, row: Any, before: Any = None) -> Change | None:
    """The event of `row` (the record as it now is) created, or changed from `before` by an update, delete
    or restore; None for a write that left the record as it was (its `updated_at`, which every change
    moves). Only an update's event carries `changes`: the shown fields that differ, which may be none
    where only a relation (tags, branches) changed."""
    if before is not None and before.updated_at == row.updated_at:
        return None
    data = kind.shape.body(row, EVERY_SCOPE)
    changes = None
    if action == UPDATED:
        changes = changed_fields(kind.shape.body(before, EVERY_SCOPE), data)
    return Change(type=kind.type(action), record_id=row.id, data=data, changes=changes)


async def record_change(
    *, connection: AsyncConnection, kind: RecordKind, action: str, row: Any, before: Any = None
) -> None:
    """Write the event of a change (`change_of`), if it made one, in the caller's transaction."""
    change = change_of(kind=kind, action=action, row=row, before=before)
    if change is None:
        return
    await record_event(
        connection=connection,
        business_id=row.business_id,
        type=change.type,
        record_id=change.record_id,
        data=change.data,
        changes=change.changes,
    )


def rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds") + "Z"


def event_payload(row: Any, *, scopes: frozenset[str]) -> dict[str, Any]:
    """The event as a reader with these scopes sees it: `id`, `type`, `timestamp` (RFC 3339, UTC), `data`
    and, for an update, `changes` (`{field: value before}`), each field shown as the record's GET would
    show it to that reader. Whether the reader sees the event at all is `readable_types`."""
    kind = KINDS.get(row.type.partition(".")[0])
    data = row.data if kind is None else kind.shape.visible(row.data, scopes)
    payload = {"id": str(row.id), "type": row.type, "timestamp": rfc3339(row.created_at), "data": data}
    if row.changes is not None:
        payload["changes"] = row.changes if kind is None else kind.shape.visible(row.changes, scopes)
    return payload


async def readable_settled(*, connection: AsyncConnection, query: ListQuery, scopes: frozenset[str]) -> ListQuery:
    """The list narrowed to the events the reader may see, and to those settled (`settled_before`), so that
    a reader walking by cursor never passes an event that commits later."""
    conditions = [*query.conditions, events.c.type.in_(readable_types(scopes))]
    settled = await settled_before(connection)
    if settled is not None:
        conditions.append(events.c.created_at < settled)
    return replace(query, conditions=conditions)


async def last_settled(*, connection: AsyncConnection, query: ListQuery) -> list[Any] | None:
    """The sort values of the last event the list shows now (to every scope): where a reader that wants
    only the events still to come starts (`clientele events tail`); None when it shows none yet. As for
    `readable_settled`, call it first in its transaction."""
    shown = await readable_settled(connection=connection, query=query, scopes=EVERY_SCOPE)
    last = (
        await connection.execute(
            select(*(key.column for key in query.sort))
            .where(*shown.conditions)
            .order_by(*(SortKey(key.column, not key.descending).order for key in query.sort))
            .limit(1)
        )
    ).first()
    return None if last is None else list(last)


async def settled_before(connection: AsyncConnection) -> datetime | None:
    """Every event stamped before this moment has committed or never will (None: every event has).

    An event is stamped before its transaction commits, so a reader could see a later event before an
    earlier one commits. On PostgreSQL no transaction that holds an id can stamp an event before it
    began; the oldest such transaction of this database bounds what is settled. Read before the events
    are, so that a transaction committing in between is seen by one read or the other, and as the first
    statement of its transaction (or in autocommit): PostgreSQL keeps one view of `pg_stat_activity` per
    transaction, and an older view would miss the transactions begun since.
    """
    if is_sqlite(connection):
        return None
    settled: datetime = await connection.scalar(SETTLED_BEFORE)
    return settled


SETTLED_BEFORE = text(
    "SELECT least(timezone('UTC', clock_timestamp()), min(timezone('UTC', xact_start))) FROM pg_stat_activity "
    "WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
)


async def purge_expired(*, engine: AsyncEngine, now: datetime) -> int:
    """Delete the events written more than 30 days before `now`, a business and a batch at a time, each
    batch its own transaction on a connection taken for it (so that a first purge of a large backlog
    never holds many locks long, and never keeps one of the pool's connections from the requests);
    how many were deleted."""
    cutoff = now - RETENTION

    def expired(business_id: Any) -> Select[Any]:
        # The business's oldest events first, through its (business_id, created_at, id) index.
        return select(events.c.id).where(events.c.business_id == business_id, events.c.created_at < cutoff)

    async with engine.connect() as connection:
        # One statement, one index probe per business: a purge visits only the businesses it deletes from.
        holding = select(businesses.c.id).where(exists(expired(businesses.c.id)))
        business_ids = list(await connection.scalars(holding))
    deleted = 0
    for business_id in business_ids:
        deleted += await delete_in_batches(engine, events, business_id, expired(business_id))
    return deleted


async def delete_in_batches(engine: AsyncEngine, table: Table, business_id: Any, ids: Select[Any]) -> int:
    """Delete the business's rows of `table` whose ids `ids` selects, PURGE_BATCH at a time, each batch its
    own transaction on a connection taken for it; how many were deleted."""
    deleted = 0
    while True:
        async with write_transaction(engine) as connection:
            result = await connection.execute(
                delete(table).where(table.c.business_id == business_id, table.c.id.in_(ids.limit(PURGE_BATCH)))
            )
        deleted += result.rowcount
        if result.rowcount < PURGE_BATCH:
            return deleted


Purge = Callable[..., Awaitable[int]]


async def purge_periodically(engine: AsyncEngine, purges: Sequence[Purge]) -> None:
    """What `clientele serve` runs beside each worker: the purges (`purge(engine=, now=)`) at start, then
    every hour. A purge that fails is logged and tried again at the next hour, so that the worker serves
    on (a database that is away is expected, and not worth a traceback); workers purging together only
    find less to delete."""
    while True:
        for purge in purges:
            try:
                await purge(engine=engine, now=utcnow())
            except (SQLAlchemyError, OSError) as error:
                logger.warning("%s did not run: %s", purge.__name__, error.__class__.__name__)
            except Exception:
                logger.exception("%s did not run", purge.__name__)
        await asyncio.sleep(PURGE_EVERY_SECONDS)
