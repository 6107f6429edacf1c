"""Tags: their own CRUD, and the links that attach them to customers."""

import re
import uuid
from typing import Any

from sqlalchemy import Row, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.auth.service import Principal
from clientele.customers.models import customers
from clientele.db.clock import utcnow
from clientele.db.ids import new_id
from clientele.db.records import changed_values, find_record, restore, soft_delete, update_record
from clientele.errors import Conflict, Unprocessable
from clientele.events import service as events
from clientele.events.service import CREATED, DELETED, RESTORED, UPDATED
from clientele.listing.filters import deleted_filter, substring_filter, uniform_filters, updated_after_filter
from clientele.listing.spec import ListSpec
from clientele.tags.models import customer_tags, tags
from clientele.tags.schemas import REQUIRED_ON_CREATE, TagInput, tag_body
from clientele.web.validation import validate_body

LIST_SPEC = ListSpec(
    table=tags,
    filters={
        **uniform_filters(tags, "tag"),
        "name": substring_filter(tags.c.name, "name"),
        "name_localized": substring_filter(tags.c.name_localized, "localized name"),
        "updated_after": updated_after_filter(tags.c.updated_at),
        "is_deleted": deleted_filter(tags.c.deleted_at),
    },
    sort_columns={"created_at": tags.c.created_at, "updated_at": tags.c.updated_at},
    includes=("customersCount",),
    # The platform's tags count the records of every kind they label (branchesCount, productsCount, …);
    # Clientele holds customers only, and its clients send the others anyway.
    ignored_includes=re.compile(r"[a-z][A-Za-z]*Count"),
)
NAME_TAKEN = {"name": ["The name has already been taken."]}


async def find_tag(
    *, connection: AsyncConnection, business_id: uuid.UUID, tag_id: str, for_update: bool = False
) -> Row[Any]:
    """The business's tag with this id, deleted or not; 404 for anything else."""
    return await find_record(
        connection=connection,
        table=tags,
        business_id=business_id,
        record_id=tag_id,
        missing="Tag not found.",
        for_update=for_update,
    )


async def create_tag(*, connection: AsyncConnection, principal: Principal, body: dict[str, Any]) -> Row[Any]:
    parsed = validate_body(TagInput, body, required=REQUIRED_ON_CREATE)
    now = utcnow()
    tag_id = new_id()
    try:
        await connection.execute(
            insert(tags).values(
                business_id=principal.business_id,
                id=tag_id,
                created_at=now,
                updated_at=now,
                **parsed.model_dump(exclude_unset=True),
            )
        )
    except IntegrityError:
        raise Unprocessable(NAME_TAKEN) from None
    row = await find_tag(connection=connection, business_id=principal.business_id, tag_id=str(tag_id))
    await events.record_change(connection=connection, kind=events.TAG, action=CREATED, row=row)
    return row


async def update_tag(*, connection: AsyncConnection, row: Row[Any], body: dict[str, Any]) -> Row[Any]:
    if row.deleted_at is not None:
        raise Conflict("A deleted tag cannot be updated.")
    parsed = validate_body(TagInput, body)
    changes = changed_values(row, parsed.model_dump(exclude_unset=True))
    if not changes:
        return row
    try:
        fresh = await update_record(connection=connection, table=tags, row=row, values=changes)
    except IntegrityError:
        raise Unprocessable(NAME_TAKEN) from None
    await events.record_change(connection=connection, kind=events.TAG, action=UPDATED, row=fresh, before=row)
    return fresh


async def delete_tag(*, connection: AsyncConnection, row: Row[Any]) -> None:
    """Soft delete: the tag leaves every customer's includes and matches no filter."""
    deleted = await soft_delete(connection=connection, table=tags, row=row)
    if deleted is not None:
        await events.record_change(connection=connection, kind=events.TAG, action=DELETED, row=deleted, before=row)


async def restore_tag(*, connection: AsyncConnection, row: Row[Any]) -> Row[Any]:
    """Clear `deleted_at`; 409 if an active tag has taken the name meanwhile. Customers still linked
    to the tag hold it again."""
    taken = Conflict("The tag cannot be restored: an active tag has the same name.", errors=NAME_TAKEN)
    restored = await restore(connection=connection, table=tags, row=row, taken=taken)
    await events.record_change(connection=connection, kind=events.TAG, action=RESTORED, row=restored, before=row)
    return restored


async def active_customers_per_tag(
    *, connection: AsyncConnection, business_id: uuid.UUID, tag_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """How many non-deleted customers hold each of these tags (absent: none), in one grouped query."""
    if not tag_ids:
        return {}
    rows = await connection.execute(
        select(customer_tags.c.tag_id, func.count().label("holders"))
        .join(
            customers,
            (customers.c.business_id == customer_tags.c.business_id) & (customers.c.id == customer_tags.c.customer_id),
        )
        .where(
            customer_tags.c.business_id == business_id,
            customer_tags.c.tag_id.in_(tag_ids),
            customers.c.deleted_at.is_(None),
        )
        .group_by(customer_tags.c.tag_id)
    )
    return {row.tag_id: row.holders for row in rows}


# --- customer links ----------------------------------------------------------------------


async def active_tag_ids(
    *, connection: AsyncConnection, business_id: uuid.UUID, ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these ids are non-deleted tags of the business."""
    if not ids:
        return set()
    rows = await connection.execute(
        select(tags.c.id).where(tags.c.business_id == business_id, tags.c.id.in_(ids), tags.c.deleted_at.is_(None))
    )
    return {row.id for row in rows}


async def tags_of_customers(
    *, connection: AsyncConnection, business_id: uuid.UUID, customer_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Each customer's non-deleted tags, in one query for all of them."""
    if not customer_ids:
        return {}
    rows = await connection.execute(
        select(customer_tags.c.customer_id, tags)
        .join(tags, (tags.c.business_id == customer_tags.c.business_id) & (tags.c.id == customer_tags.c.tag_id))
        .where(
            customer_tags.c.business_id == business_id,
            customer_tags.c.customer_id.in_(customer_ids),
            tags.c.deleted_at.is_(None),
        )
        .order_by(tags.c.created_at, tags.c.id)
    )
    by_customer: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in rows:
        by_customer.setdefault(row.customer_id, []).append(tag_body(row))
    return by_customer


async def link_tags(
    *, connection: AsyncConnection, business_id: uuid.UUID, customer_id: uuid.UUID, tag_ids: list[uuid.UUID]
) -> None:
    if tag_ids:
        await connection.execute(
            insert(customer_tags),
            [{"business_id": business_id, "customer_id": customer_id, "tag_id": tag_id} for tag_id in tag_ids],
        )


async def replace_tags(
    *, connection: AsyncConnection, business_id: uuid.UUID, customer_id: uuid.UUID, tag_ids: list[uuid.UUID]
) -> bool:
    """Make the customer's active tags exactly these; False (and nothing written) if they already are."""
    current = await connection.execute(
        select(customer_tags.c.tag_id)
        .join(tags, (tags.c.business_id == customer_tags.c.business_id) & (tags.c.id == customer_tags.c.tag_id))
        .where(
            customer_tags.c.business_id == business_id,
            customer_tags.c.customer_id == customer_id,
            tags.c.deleted_at.is_(None),
        )
    )
    if {row.tag_id for row in current} == set(tag_ids):
        return False
    await connection.execute(
        delete(customer_tags).where(
            customer_tags.c.business_id == business_id, customer_tags.c.customer_id == customer_id
        )
    )
    await link_tags(connection=connection, business_id=business_id, customer_id=customer_id, tag_ids=tag_ids)
    return True
