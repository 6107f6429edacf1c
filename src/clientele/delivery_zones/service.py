"""Delivery zones: the areas addresses belong to."""

import uuid
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.delivery_zones.models import delivery_zones
from clientele.wire import format_timestamp

z = delivery_zones.c


def serialize_zone(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "name": row.name,
        "name_localized": row.name_localized,
        "reference": row.reference,
        "coordinates": row.coordinates,
        "created_at": format_timestamp(row.created_at),
        "updated_at": format_timestamp(row.updated_at),
        "deleted_at": format_timestamp(row.deleted_at),
    }


async def active_zones_by_ids(*, connection: AsyncConnection, business_id: uuid.UUID,
                              ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """Non-deleted zones of the business by id, in one query (for includes)."""
    if not ids:
        return {}
    rows = await connection.execute(
        select(delivery_zones).where(z.business_id == business_id, z.id.in_(ids), z.deleted_at.is_(None)))
    return {row.id: serialize_zone(row) for row in rows}
