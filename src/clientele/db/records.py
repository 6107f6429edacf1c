"""One business record at a time: loaded by the id a client sent, changed, soft-deleted, the same
way for every domain."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Table, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.db.clock import utcnow
from clientele.db.ids import parse_uuid
from clientele.errors import Conflict, NotFound


async def find_record(
    *,
    connection: AsyncConnection,
    table: Table,
    business_id: uuid.UUID,
    record_id: str,
    missing: str,
    for_update: bool = False,
) -> Row[Any]:
    """A business's record by the id a client sent, deleted or not; 404 for anything else.

    `for_update` locks the row (PostgreSQL) so that a write racing a delete of the same
    record waits for it and then sees it deleted, instead of writing to it regardless.
    """
    parsed = parse_uuid(record_id)
    if parsed is None:
        raise NotFound(missing)
    statement = select(table).where(table.c.business_id == business_id, table.c.id == parsed)
    if for_update:
        statement = statement.with_for_update()
    row = (await connection.execute(statement)).first()
    if row is None:
        raise NotFound(missing)
    return row


def next_updated_at(row: Row[Any]) -> datetime:
    """Now, but always after the stored `updated_at`: each write makes a new version (ETag),
    even when two land within one tick of the clock or the clock steps back."""
    stored: datetime = row.updated_at
    return max(utcnow(), stored + timedelta(microseconds=1))


def changed_values(row: Row[Any], sent: dict[str, Any]) -> dict[str, Any]:
    """The sent values that differ from the stored ones: only these are written."""
    return {field: value for field, value in sent.items() if getattr(row, field) != value}


async def update_record(
    *, connection: AsyncConnection, table: Table, row: Row[Any], values: dict[str, Any]
) -> Row[Any]:
    """Write changed values and move `updated_at` (callers pass only real changes); the row as stored."""
    result = await connection.execute(
        update(table)
        .where(table.c.business_id == row.business_id, table.c.id == row.id)
        .values(updated_at=next_updated_at(row), **values)
        .returning(*table.c)
    )
    return result.one()


async def soft_delete(*, connection: AsyncConnection, table: Table, row: Row[Any]) -> Row[Any] | None:
    """Set `deleted_at` once, and answer the row as stored; deleting a deleted record again changes
    nothing (None)."""
    if row.deleted_at is not None:
        return None
    now = next_updated_at(row)
    result = await connection.execute(
        update(table)
        .where(table.c.business_id == row.business_id, table.c.id == row.id)
        .values(deleted_at=now, updated_at=now)
        .returning(*table.c)
    )
    return result.one()


async def restore(*, connection: AsyncConnection, table: Table, row: Row[Any], taken: Conflict) -> Row[Any]:
    """Clear `deleted_at`; restoring an active record changes nothing. `taken` is raised when an active
    record now holds a value the restored one must not share (the table's partial unique index)."""
    if row.deleted_at is None:
        return row
    try:
        return await update_record(connection=connection, table=table, row=row, values={"deleted_at": None})
    except IntegrityError:
        raise taken from None
