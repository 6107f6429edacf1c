"""Delivery zones: their own CRUD, the branches they serve, and the lookups addresses use for includes."""

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Row, delete, exists, false, insert, null, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.auth.service import Principal
from clientele.db.clock import utcnow
from clientele.db.ids import new_id
from clientele.db.records import changed_values, find_record, restore, soft_delete, update_record
from clientele.delivery_zones.models import delivery_zone_branches, delivery_zones
from clientele.delivery_zones.schemas import MAX_BRANCH_ID, REQUIRED_ON_CREATE, DeliveryZoneInput, zone_body
from clientele.errors import Conflict, Unprocessable
from clientele.events import service as events
from clientele.events.service import CREATED, DELETED, RESTORED, UPDATED
from clientele.listing.filters import (
    TEXT_VALUE,
    Filter,
    comma_list,
    deleted_filter,
    exact_text_filter,
    substring_filter,
    uniform_filters,
    updated_after_filter,
)
from clientele.listing.spec import ListSpec
from clientele.web.validation import validate_body


def serves_any_branch(branch_ids: list[str]) -> ColumnElement[bool]:
    """The zone serves at least one of these branches; an id longer than any stored one matches nothing."""
    wanted = [branch_id for branch_id in branch_ids if len(branch_id) <= MAX_BRANCH_ID]
    if not wanted:
        return false()
    return exists(
        select(1).where(
            delivery_zone_branches.c.business_id == delivery_zones.c.business_id,
            delivery_zone_branches.c.delivery_zone_id == delivery_zones.c.id,
            delivery_zone_branches.c.branch_id.in_(wanted),
        )
    )


BRANCHES_FILTER = Filter(
    parse=lambda value: [part.strip() for part in value.split(",") if part.strip()],
    condition=serves_any_branch,
    description="Comma-separated branch ids; a zone serving any of them matches.",
    documented=comma_list(TEXT_VALUE | {"minLength": 1, "maxLength": MAX_BRANCH_ID}),
)
LIST_SPEC = ListSpec(
    table=delivery_zones,
    filters={
        **uniform_filters(delivery_zones, "delivery zone"),
        "name": substring_filter(delivery_zones.c.name, "name"),
        "name_localized": substring_filter(delivery_zones.c.name_localized, "localized name"),
        # Exact, not a substring: a reference is an external system's key for the zone.
        "reference": exact_text_filter(
            delivery_zones.c.reference, "Exact reference (the whole value, case-sensitive; not a substring match)."
        ),
        "branches.id": BRANCHES_FILTER,
        "updated_after": updated_after_filter(delivery_zones.c.updated_at),
        "is_deleted": deleted_filter(delivery_zones.c.deleted_at),
    },
    sort_columns={
        "created_at": delivery_zones.c.created_at,
        "updated_at": delivery_zones.c.updated_at,
        "name": delivery_zones.c.name,
        "name_localized": delivery_zones.c.name_localized,
        "reference": delivery_zones.c.reference,
    },
    includes=("branches",),
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
    """Validate and store a new zone and its branches; 422 if its reference is taken by an active zone."""
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
                **stored_values(parsed.model_dump(exclude_unset=True, exclude={"branches"})),
            )
        )
    except IntegrityError:
        # The only constraint a valid body can break is the partial unique index on reference.
        raise Unprocessable(REFERENCE_TAKEN) from None
    await add_branches(
        connection=connection, business_id=principal.business_id, zone_id=zone_id, branch_ids=parsed.branches or []
    )
    row = await find_zone(connection=connection, business_id=principal.business_id, zone_id=str(zone_id))
    await events.record_change(connection=connection, kind=events.DELIVERY_ZONE, action=CREATED, row=row)
    return row


async def update_zone(*, connection: AsyncConnection, row: Row[Any], body: dict[str, Any]) -> Row[Any]:
    """Change only the fields sent; `updated_at` moves only if a stored value (or the branch set) changed."""
    if row.deleted_at is not None:
        raise Conflict("A deleted delivery zone cannot be updated.")
    parsed = validate_body(DeliveryZoneInput, body)
    changes = changed_values(row, parsed.model_dump(exclude_unset=True, exclude={"branches"}))
    branches_changed = parsed.branches is not None and await replace_branches(
        connection=connection, business_id=row.business_id, zone_id=row.id, branch_ids=parsed.branches
    )
    if not changes and not branches_changed:
        return row
    try:
        fresh = await update_record(connection=connection, table=delivery_zones, row=row, values=stored_values(changes))
    except IntegrityError:
        raise Unprocessable(REFERENCE_TAKEN) from None
    await events.record_change(connection=connection, kind=events.DELIVERY_ZONE, action=UPDATED, row=fresh, before=row)
    return fresh


async def delete_zone(*, connection: AsyncConnection, row: Row[Any]) -> None:
    """Soft delete: the zone frees its reference and leaves addresses' includes."""
    deleted = await soft_delete(connection=connection, table=delivery_zones, row=row)
    if deleted is not None:
        await events.record_change(
            connection=connection, kind=events.DELIVERY_ZONE, action=DELETED, row=deleted, before=row
        )


async def restore_zone(*, connection: AsyncConnection, row: Row[Any]) -> Row[Any]:
    """Clear `deleted_at`; 409 if an active zone has taken the reference meanwhile."""
    taken = Conflict(
        "The delivery zone cannot be restored: an active delivery zone has the same reference.", errors=REFERENCE_TAKEN
    )
    restored = await restore(connection=connection, table=delivery_zones, row=row, taken=taken)
    await events.record_change(
        connection=connection, kind=events.DELIVERY_ZONE, action=RESTORED, row=restored, before=row
    )
    return restored


# --- branches ----------------------------------------------------------------------------


async def branches_of_zones(
    *, connection: AsyncConnection, business_id: uuid.UUID, zone_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    """Each zone's branch ids, sorted (by code point, the same on both engines), in one query."""
    if not zone_ids:
        return {}
    rows = await connection.execute(
        select(delivery_zone_branches.c.delivery_zone_id, delivery_zone_branches.c.branch_id).where(
            delivery_zone_branches.c.business_id == business_id,
            delivery_zone_branches.c.delivery_zone_id.in_(zone_ids),
        )
    )
    by_zone: dict[uuid.UUID, list[str]] = {}
    for row in rows:
        by_zone.setdefault(row.delivery_zone_id, []).append(row.branch_id)
    return {zone_id: sorted(branch_ids) for zone_id, branch_ids in by_zone.items()}


async def replace_branches(
    *, connection: AsyncConnection, business_id: uuid.UUID, zone_id: uuid.UUID, branch_ids: list[str]
) -> bool:
    """Make the zone's branches exactly these, writing only the difference; False if they already were."""
    stored = await branches_of_zones(connection=connection, business_id=business_id, zone_ids=[zone_id])
    current, wanted = set(stored.get(zone_id, [])), set(branch_ids)
    if current == wanted:
        return False
    if current - wanted:
        await connection.execute(
            delete(delivery_zone_branches).where(
                delivery_zone_branches.c.business_id == business_id,
                delivery_zone_branches.c.delivery_zone_id == zone_id,
                delivery_zone_branches.c.branch_id.in_(current - wanted),
            )
        )
    await add_branches(
        connection=connection, business_id=business_id, zone_id=zone_id, branch_ids=sorted(wanted - current)
    )
    return True


async def add_branches(
    *, connection: AsyncConnection, business_id: uuid.UUID, zone_id: uuid.UUID, branch_ids: list[str]
) -> None:
    if branch_ids:
        await connection.execute(
            insert(delivery_zone_branches),
            [
                {"business_id": business_id, "delivery_zone_id": zone_id, "branch_id": branch_id}
                for branch_id in branch_ids
            ],
        )


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
