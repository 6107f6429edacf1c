"""Addresses: a customer's places, each optionally in a delivery zone."""

import uuid
from typing import Any

from sqlalchemy import Row, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.addresses.models import addresses
from clientele.addresses.schemas import REQUIRED_ON_CREATE, AddressInput, address_body
from clientele.auth.service import Principal
from clientele.customers.models import customers
from clientele.db.clock import utcnow
from clientele.db.ids import new_id, parse_uuid
from clientele.db.records import changed_values, find_record, soft_delete, update_record
from clientele.delivery_zones import service as zones_service
from clientele.errors import Conflict, FieldErrors, Unprocessable
from clientele.events import service as events
from clientele.events.service import CREATED, DELETED, UPDATED
from clientele.listing.filters import (
    deleted_filter,
    ids_filter,
    substring_filter,
    uniform_filters,
    updated_after_filter,
)
from clientele.listing.spec import ListSpec
from clientele.web.validation import validate_body

LIST_SPEC = ListSpec(
    table=addresses,
    filters={
        **uniform_filters(addresses, "address"),
        "customer_id": ids_filter(addresses.c.customer_id.in_, "customer id"),
        "name": substring_filter(addresses.c.name, "name"),
        "updated_after": updated_after_filter(addresses.c.updated_at),
        "is_deleted": deleted_filter(addresses.c.deleted_at),
    },
    sort_columns={
        "created_at": addresses.c.created_at,
        "updated_at": addresses.c.updated_at,
        "name": addresses.c.name,
        "customer_id": addresses.c.customer_id,
    },
    includes=("customer", "delivery_zone"),
)


async def attach_delivery_zones(
    *, connection: AsyncConnection, business_id: uuid.UUID, rows: list[Row[Any]], bodies: list[dict[str, Any]]
) -> None:
    """Replace zone stubs with full zones, in one query; a deleted zone shows as null."""
    zone_ids = list({row.delivery_zone_id for row in rows if row.delivery_zone_id is not None})
    zones = await zones_service.active_zones_by_ids(connection=connection, business_id=business_id, ids=zone_ids)
    for row, body in zip(rows, bodies, strict=True):
        body["delivery_zone"] = zones.get(row.delivery_zone_id)


async def addresses_of_customers(
    *, connection: AsyncConnection, business_id: uuid.UUID, customer_ids: list[uuid.UUID], with_delivery_zone: bool
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Each customer's non-deleted addresses, in one query (and one more for their zones)."""
    if not customer_ids:
        return {}
    rows = list(
        await connection.execute(
            select(addresses)
            .where(
                addresses.c.business_id == business_id,
                addresses.c.customer_id.in_(customer_ids),
                addresses.c.deleted_at.is_(None),
            )
            .order_by(addresses.c.created_at, addresses.c.id)
        )
    )
    bodies = [address_body(row) for row in rows]
    if with_delivery_zone:
        await attach_delivery_zones(connection=connection, business_id=business_id, rows=rows, bodies=bodies)
    by_customer: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row, body in zip(rows, bodies, strict=True):
        by_customer.setdefault(row.customer_id, []).append(body)
    return by_customer


async def find_address(
    *, connection: AsyncConnection, business_id: uuid.UUID, address_id: str, for_update: bool = False
) -> Row[Any]:
    """The business's address with this id, deleted or not; 404 for anything else."""
    return await find_record(
        connection=connection,
        table=addresses,
        business_id=business_id,
        record_id=address_id,
        missing="Address not found.",
        for_update=for_update,
    )


async def is_active_customer(*, connection: AsyncConnection, business_id: uuid.UUID, customer_id: uuid.UUID) -> bool:
    """Whether this is a non-deleted customer of the business.

    The row is share-locked on PostgreSQL so that the customer cannot be deleted before the
    caller's transaction, which is about to point an address at it, commits.
    """
    found = await connection.scalar(
        select(customers.c.id)
        .where(customers.c.business_id == business_id, customers.c.id == customer_id, customers.c.deleted_at.is_(None))
        .with_for_update(read=True)
    )
    return found is not None


async def resolved_references(
    *, connection: AsyncConnection, business_id: uuid.UUID, sent: dict[str, Any]
) -> dict[str, Any]:
    """`customer_id` and `delivery_zone_id` as UUIDs of live records; 422 naming each one that is not."""
    resolved: dict[str, Any] = {}
    errors: FieldErrors = {}
    if "customer_id" in sent:
        customer_id = parse_uuid(sent["customer_id"])
        if customer_id is None or not await is_active_customer(
            connection=connection, business_id=business_id, customer_id=customer_id
        ):
            errors["customer_id"] = ["The selected customer_id is invalid."]
        resolved["customer_id"] = customer_id
    if "delivery_zone_id" in sent and sent["delivery_zone_id"] is not None:
        zone_id = parse_uuid(sent["delivery_zone_id"])
        if zone_id is None or not await zones_service.is_active_zone(
            connection=connection, business_id=business_id, zone_id=zone_id
        ):
            errors["delivery_zone_id"] = ["The selected delivery_zone_id is invalid."]
        resolved["delivery_zone_id"] = zone_id
    elif "delivery_zone_id" in sent:
        resolved["delivery_zone_id"] = None
    if errors:
        raise Unprocessable(errors)
    return resolved


async def create_address(*, connection: AsyncConnection, principal: Principal, body: dict[str, Any]) -> Row[Any]:
    """Validate and store a new address for a live customer (and, optionally, a live zone)."""
    parsed = validate_body(AddressInput, body, required=REQUIRED_ON_CREATE)
    values = parsed.model_dump(exclude_unset=True)
    values |= await resolved_references(connection=connection, business_id=principal.business_id, sent=values)
    now = utcnow()
    address_id = new_id()
    await connection.execute(
        insert(addresses).values(
            business_id=principal.business_id, id=address_id, created_at=now, updated_at=now, **values
        )
    )
    row = await find_address(connection=connection, business_id=principal.business_id, address_id=str(address_id))
    await events.record_change(connection=connection, kind=events.ADDRESS, action=CREATED, row=row)
    return row


async def update_address(
    *, connection: AsyncConnection, principal: Principal, row: Row[Any], body: dict[str, Any]
) -> Row[Any]:
    """Change only the fields sent; `updated_at` moves only if a stored value changed."""
    if row.deleted_at is not None:
        raise Conflict("A deleted address cannot be updated.")
    parsed = validate_body(AddressInput, body)
    sent = parsed.model_dump(exclude_unset=True)
    sent |= await resolved_references(connection=connection, business_id=principal.business_id, sent=sent)
    changes = changed_values(row, sent)
    if not changes:
        return row
    fresh = await update_record(connection=connection, table=addresses, row=row, values=changes)
    await events.record_change(connection=connection, kind=events.ADDRESS, action=UPDATED, row=fresh, before=row)
    return fresh


async def delete_address(*, connection: AsyncConnection, row: Row[Any]) -> None:
    """Soft delete: the address leaves its customer's includes; deleting again changes nothing."""
    deleted = await soft_delete(connection=connection, table=addresses, row=row)
    if deleted is not None:
        await events.record_change(connection=connection, kind=events.ADDRESS, action=DELETED, row=deleted, before=row)
