"""Delivery zones: their own CRUD, and the lookups addresses use for includes."""

import uuid
from typing import Any

from sqlalchemy import Row, insert, null, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.auth.service import Principal
from clientele.db.clock import utcnow
from clientele.db.ids import new_id
from clientele.db.records import changed_values, find_record, soft_delete, update_record
from clientele.delivery_zones.models import delivery_zones
from clientele.delivery_zones.schemas import REQUIRED_ON_CREATE, DeliveryZoneInput, zone_body
from clientele.errors import Conflict, Unprocessable
from clientele.listing.filters import deleted_filter, exact_text_filter, substring_filter, updated_after_filter
from clientele.listing.spec import ListSpec
from clientele.web.validation import validate_body

LIST_SPEC = ListSpec(
    table=delivery_zones,
    filters={
        "name": substring_filter(delivery_zones.c.name, "name"),
        # Exact, not a substring: a reference is an external system's key for the zone.
        "reference": exact_text_filter(
            delivery_zones.c.reference, "Exact reference (the whole value, case-sensitive; not a substring match)."
        ),
        "updated_after": updated_after_filter(delivery_zones.c.updated_at),
        "is_deleted": deleted_filter(delivery_zones.c.deleted_at),
    },
    sort_columns={"created_at": delivery_zones.c.created_at, "updated_at": delivery_zones.c.updated_at},
)
REFERENCE_TAKEN = {"reference": ["The reference has already been taken."]}


def stored_values(values: dict[str, Any]) -> dict[str, Any]:
    """Column values for a write: no coordinates is SQL NULL, not the JSON text `null`."""
    if "coordinates" in values and values["coordinates"] is None:
        return values | {"coordinates": null()}
    return values


async def find_zone(
    *, connection: AsyncConnection, business_id: uuid.UUID, zone_id: str, for_update: bool = False
) -> Row[Any]:
    """The business's delivery zone with this id, deleted or not; 404 for anything else."""
    return await find_record(
        connection=connection,
        table=delivery_zones,
        business_id=business_id,
        record_id=zone_id,
        missing="Delivery zone not found.",
        for_update=for_update,
    )


async def create_zone(*, connection: AsyncConnection, principal: Principal, body: dict[str, Any]) -> Row[Any]:
    """Validate and store a new zone; 422 if its reference is taken by an active zone."""
    parsed = validate_body(DeliveryZoneInput, body, required=REQUIRED_ON_CREATE)
    now = utcnow()
    zone_id = new_id()
    try:
        await connection.execute(
            insert(delivery_zones).values(
                business_id=principal.business_id,
                id=zone_id,
                created_at=now,
                updated_at=now,
                **stored_values(parsed.model_dump(exclude_unset=True)),
            )
        )
    except IntegrityError:
        # The only constraint a valid body can break is the partial unique index on reference.
        raise Unprocessable(REFERENCE_TAKEN) from None
    return await find_zone(connection=connection, business_id=principal.business_id, zone_id=str(zone_id))


async def update_zone(*, connection: AsyncConnection, row: Row[Any], body: dict[str, Any]) -> Row[Any]:
    """Change only the fields sent; `updated_at` moves only if a stored value changed."""
    if row.deleted_at is not None:
        raise Conflict("A deleted delivery zone cannot be updated.")
    parsed = validate_body(DeliveryZoneInput, body)
    changes = changed_values(row, parsed.model_dump(exclude_unset=True))
    if not changes:
        return row
    try:
        return await update_record(connection=connection, table=delivery_zones, row=row, values=stored_values(changes))
    except IntegrityError:
        raise Unprocessable(REFERENCE_TAKEN) from None


async def delete_zone(*, connection: AsyncConnection, row: Row[Any]) -> None:
    """Soft delete: the zone frees its reference and leaves addresses' includes."""
    await soft_delete(connection=connection, table=delivery_zones, row=row)


# --- lookups for addresses ---------------------------------------------------------------


async def is_active_zone(*, connection: AsyncConnection, business_id: uuid.UUID, zone_id: uuid.UUID) -> bool:
    """Whether this is a non-deleted zone of the business.

    The row is share-locked on PostgreSQL so that the zone cannot be deleted before the
    caller's transaction, which is about to point an address at it, commits.
    """
    found = await connection.scalar(
        select(delivery_zones.c.id)
        .where(
            delivery_zones.c.business_id == business_id,
            delivery_zones.c.id == zone_id,
            delivery_zones.c.deleted_at.is_(None),
        )
        .with_for_update(read=True)
    )
    return found is not None


async def active_zones_by_ids(
    *, connection: AsyncConnection, business_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """Non-deleted zones of the business by id, in one query (for includes)."""
    if not ids:
        return {}
    rows = await connection.execute(
        select(delivery_zones).where(
            delivery_zones.c.business_id == business_id,
            delivery_zones.c.id.in_(ids),
            delivery_zones.c.deleted_at.is_(None),
        )
    )
    return {row.id: zone_body(row) for row in rows}
