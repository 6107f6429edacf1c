"""Addresses: a customer's places, each optionally in a delivery zone."""

import uuid
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.addresses.models import addresses
from clientele.delivery_zones import service as zones_service
from clientele.wire import format_timestamp

a = addresses.c


def serialize_address(row: Row[Any]) -> dict[str, Any]:
    """An address with `customer` and `delivery_zone` as `{"id": …}` stubs (includes replace them)."""
    return {
        "id": str(row.id),
        "name": row.name,
        "description": row.description,
        "latitude": row.latitude,
        "longitude": row.longitude,
        "customer": {"id": str(row.customer_id)},
        "delivery_zone": None if row.delivery_zone_id is None else {"id": str(row.delivery_zone_id)},
        "created_at": format_timestamp(row.created_at),
        "updated_at": format_timestamp(row.updated_at),
        "deleted_at": format_timestamp(row.deleted_at),
    }


async def attach_delivery_zones(*, connection: AsyncConnection, business_id: uuid.UUID, rows: list[Row[Any]],
                                bodies: list[dict[str, Any]]) -> None:
    """Replace zone stubs with full zones, in one query; a deleted zone shows as null."""
    zone_ids = list({row.delivery_zone_id for row in rows if row.delivery_zone_id is not None})
    zones = await zones_service.active_zones_by_ids(connection=connection, business_id=business_id, ids=zone_ids)
    for row, body in zip(rows, bodies, strict=True):
        body["delivery_zone"] = zones.get(row.delivery_zone_id)


async def addresses_of_customers(*, connection: AsyncConnection, business_id: uuid.UUID,
                                 customer_ids: list[uuid.UUID],
                                 with_delivery_zone: bool) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Each customer's non-deleted addresses, in one query (and one more for their zones)."""
    if not customer_ids:
        return {}
    rows = list(await connection.execute(
        select(addresses)
        .where(a.business_id == business_id, a.customer_id.in_(customer_ids), a.deleted_at.is_(None))
        .order_by(a.created_at, a.id)))
    bodies = [serialize_address(row) for row in rows]
    if with_delivery_zone:
        await attach_delivery_zones(connection=connection, business_id=business_id, rows=rows, bodies=bodies)
    by_customer: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row, body in zip(rows, bodies, strict=True):
        by_customer.setdefault(row.customer_id, []).append(body)
    return by_customer
