"""Customers: the list they make, reading, writing, soft delete and restore, and the guarded-field rule."""

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, exists, false, insert, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.auth import scopes as scope
from clientele.auth.service import Principal
from clientele.customers.models import customer_counts, customers
from clientele.customers.phones import phone_search
from clientele.customers.schemas import REQUIRED_ON_CREATE, CustomerInput, customer_body
from clientele.db.clock import utcnow
from clientele.db.ids import new_id, parse_uuid
from clientele.db.records import changed_values, find_record, restore, soft_delete, update_record
from clientele.errors import Conflict, FieldErrors, Forbidden, Unprocessable
from clientele.events import service as events
from clientele.events.service import CREATED, DELETED, RESTORED, UPDATED
from clientele.listing.filters import (
    Filter,
    boolean_column_filter,
    boolean_filter,
    deleted_filter,
    email_filter,
    ids_filter,
    integer_filter,
    invalid,
    longer_than,
    lowered_substring_filter,
    uniform_filters,
    updated_after_filter,
)
from clientele.listing.spec import Counters, ListSpec
from clientele.tags import service as tags_service
from clientele.tags.models import customer_tags, tags
from clientele.web.validation import validate_body


def has_any_active_tag(tag_ids: list[uuid.UUID]) -> Any:
    return exists(
        select(1)
        .select_from(
            customer_tags.join(
                tags, (tags.c.business_id == customer_tags.c.business_id) & (tags.c.id == customer_tags.c.tag_id)
            )
        )
        .where(
            customer_tags.c.business_id == customers.c.business_id,
            customer_tags.c.customer_id == customers.c.id,
            customer_tags.c.tag_id.in_(tag_ids),
            tags.c.deleted_at.is_(None),
        )
    )


def parse_phone_search(value: str) -> tuple[int | None, str]:
    search = phone_search(value)
    if search is None:
        raise invalid("filter[phone]", "The phone filter must contain digits only, after + or 00 if international.")
    return search


def phone_matches(search: tuple[int | None, str]) -> ColumnElement[bool]:
    """Customers with this dial code (if the value named one) whose number holds these digits."""
    dial_code, digits = search
    if longer_than(customers.c.phone, digits):
        return false()
    return and_(
        true() if dial_code is None else customers.c.dial_code == dial_code,
        customers.c.phone.like(f"%{digits}%") if digits else true(),
    )


PHONE_FILTER = Filter(
    parse=parse_phone_search,
    condition=phone_matches,
    description="Substring of the stored phone number (separators are ignored, and a leading trunk 0); "
    "in international form (+966…, 00966…), that dial code and a substring of the national number.",
    documented={"schema": {"type": "string", "pattern": r"^(\+|00)?[0-9 ().-]*[0-9][0-9 ().-]*$"}},
)

LIST_SPEC = ListSpec(
    table=customers,
    filters={
        **uniform_filters(customers, "customer"),
        "name": lowered_substring_filter(customers.c.name_lower, "name"),
        "email": email_filter(customers.c.email_lower, customers.c.email),
        "phone": PHONE_FILTER,
        "dial_code": integer_filter(customers.c.dial_code, "dial_code", minimum=1, maximum=999),
        "tags.id": ids_filter(has_any_active_tag, "tag id"),
        "is_blacklisted": boolean_column_filter(customers.c.is_blacklisted, "is_blacklisted"),
        "is_house_account_enabled": boolean_column_filter(
            customers.c.is_house_account_enabled, "is_house_account_enabled"
        ),
        "is_loyalty_enabled": boolean_column_filter(customers.c.is_loyalty_enabled, "is_loyalty_enabled"),
        "has_orders": boolean_filter(
            "has_orders", customers.c.order_count > 0, customers.c.order_count <= 0, "Whether order_count > 0"
        ),
        "has_email": boolean_filter(
            "has_email", customers.c.email.is_not(None), customers.c.email.is_(None), "Whether the email is set"
        ),
        "has_negative_balance": boolean_filter(
            "has_negative_balance",
            customers.c.house_account_balance < 0,
            customers.c.house_account_balance >= 0,
            "Whether house_account_balance < 0; needs customers.accounts.read",
        ),
        "updated_after": updated_after_filter(customers.c.updated_at),
        "is_deleted": deleted_filter(customers.c.deleted_at),
    },
    sort_columns={
        "created_at": customers.c.created_at,
        "updated_at": customers.c.updated_at,
        # Names and emails sort as they are filtered: without regard to case.
        "name": customers.c.name_lower,
        "email": customers.c.email_lower,
        "last_order_at": customers.c.last_order_at,
        "order_count": customers.c.order_count,
        "is_blacklisted": customers.c.is_blacklisted,
        "house_account_balance": customers.c.house_account_balance,
    },
    read_scopes={"has_negative_balance": scope.ACCOUNTS_READ, "house_account_balance": scope.ACCOUNTS_READ},
    includes=("tags", "addresses", "addresses.delivery_zone"),
    implied_includes={"addresses.delivery_zone": "addresses"},
    counters=Counters(
        table=customer_counts,
        active="active",
        deleted="deleted",
        flags={
            "is_blacklisted": "blacklisted",
            "is_house_account_enabled": "house_account_enabled",
            "is_loyalty_enabled": "loyalty_enabled",
            "has_orders": "with_orders",
        },
    ),
)

# Fields a token may change only with a write scope, and their values on a new customer.
GUARDED_FIELDS: dict[str, tuple[str, Any]] = {
    "house_account_limit": (scope.ACCOUNTS_WRITE, None),
    "is_house_account_enabled": (scope.ACCOUNTS_WRITE, False),
    "is_loyalty_enabled": (scope.LOYALTY_WRITE, False),
}
PHONE_TAKEN: FieldErrors = {"phone": ["The phone has already been taken."]}
TAGS_INVALID: FieldErrors = {"tags": ["The selected tags are invalid: each must be an existing tag."]}


async def customers_by_ids(
    *, connection: AsyncConnection, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """Customers of the business by id, as the caller may see them (for other records' includes)."""
    if not ids:
        return {}
    rows = await connection.execute(
        select(customers).where(customers.c.business_id == principal.business_id, customers.c.id.in_(ids))
    )
    return {row.id: customer_body(row, principal.scopes) for row in rows}


async def find_customer(
    *, connection: AsyncConnection, business_id: uuid.UUID, customer_id: str, for_update: bool = False
) -> Row[Any]:
    """The business's customer with this id, deleted or not; 404 for anything else."""
    return await find_record(
        connection=connection,
        table=customers,
        business_id=business_id,
        record_id=customer_id,
        missing="Customer not found.",
        for_update=for_update,
    )


def guarded_changes(changes: dict[str, Any], current: dict[str, Any]) -> list[tuple[str, str]]:
    """The guarded-field rule: each guarded field these changes set to another value than `current`
    holds (on a create: the default), with the write scope that takes."""
    return [
        (field, needed)
        for field, (needed, default) in GUARDED_FIELDS.items()
        if field in changes and changes[field] != current.get(field, default)
    ]


def guarded_field_violation(
    *, principal: Principal, changes: dict[str, Any], current: dict[str, Any]
) -> Forbidden | None:
    """The 403 due where the body changes a guarded field without its write scope."""
    for field, needed in guarded_changes(changes, current):
        if needed not in principal.scopes:
            return Forbidden(f"Changing {field} requires the {needed} scope.")
    return None


async def checked_against_stored_data(
    *,
    connection: AsyncConnection,
    business_id: uuid.UUID,
    phone: tuple[int, str] | None,
    tag_references: list[dict[str, Any]] | None,
    guard: Forbidden | None,
    customer_id: uuid.UUID | None = None,
) -> list[uuid.UUID] | None:
    """The tag ids to link (None: leave the links alone); 422 where the body clashes with stored
    data, then the guarded-field 403 if one is due.

    The partial unique index decides whether a phone is taken; it is looked up here only
    when another error is due anyway, so that a taken phone is reported with the other 422s
    and wins over a 403 (SPEC §3) without costing a query on every write.
    """
    errors: FieldErrors = {}
    tag_ids = None
    if tag_references is not None:
        wanted = list(dict.fromkeys(parse_uuid(item["id"]) for item in tag_references))
        tag_ids = [tag_id for tag_id in wanted if tag_id is not None]
        found = await tags_service.active_tag_ids(connection=connection, business_id=business_id, ids=tag_ids)
        if len(found) != len(wanted):
            errors |= TAGS_INVALID
    if (
        phone is not None
        and (errors or guard)
        and await phone_taken(
            connection=connection, business_id=business_id, dial_code=phone[0], phone=phone[1], customer_id=customer_id
        )
    ):
        errors |= PHONE_TAKEN
    if errors:
        raise Unprocessable(errors)
    if guard is not None:
        raise guard
    return tag_ids


async def phone_taken(
    *, connection: AsyncConnection, business_id: uuid.UUID, dial_code: int, phone: str, customer_id: uuid.UUID | None
) -> bool:
    """Whether an active customer of the business, other than `customer_id`, has this phone."""
    holders = select(customers.c.id).where(
        customers.c.business_id == business_id,
        customers.c.dial_code == dial_code,
        customers.c.phone == phone,
        customers.c.deleted_at.is_(None),
    )
    if customer_id is not None:
        holders = holders.where(customers.c.id != customer_id)
    return await connection.scalar(select(exists(holders))) or False


async def create_customer(*, connection: AsyncConnection, principal: Principal, body: dict[str, Any]) -> Row[Any]:
    """Validate and store a new customer (422 on a field, then 403 on a guarded field)."""
    parsed = validate_body(CustomerInput, body, required=REQUIRED_ON_CREATE)
    values = parsed.model_dump(exclude_unset=True, exclude={"tags"})
    tag_ids = await checked_against_stored_data(
        connection=connection,
        business_id=principal.business_id,
        phone=(values["dial_code"], values["phone"]),
        tag_references=parsed.tags,
        guard=guarded_field_violation(principal=principal, changes=values, current={}),
    )
    now = utcnow()
    try:
        result = await connection.execute(
            insert(customers)
            .values(
                business_id=principal.business_id,
                id=new_id(),
                created_at=now,
                updated_at=now,
                **values,
            )
            .returning(*customers.c)
        )
    except IntegrityError:
        raise Unprocessable(PHONE_TAKEN) from None
    row = result.one()
    await tags_service.link_tags(
        connection=connection, business_id=principal.business_id, customer_id=row.id, tag_ids=tag_ids or []
    )
    await events.record_change(connection=connection, kind=events.CUSTOMER, action=CREATED, row=row)
    return row


async def update_customer(
    *, connection: AsyncConnection, principal: Principal, row: Row[Any], body: dict[str, Any]
) -> Row[Any]:
    """Change only the fields sent; `updated_at` moves only if a stored value changed."""
    if row.deleted_at is not None:
        raise Conflict("A deleted customer cannot be updated; restore it first.")
    if "dial_code" in body and "phone" not in body:
        # Under a new dial code the stored digits must still make a possible phone (and it may differ).
        body = body | {"phone": row.phone}
    context = None if "dial_code" in body else {"dial_code": row.dial_code}
    parsed = validate_body(CustomerInput, body, context=context)
    changes = changed_values(row, parsed.model_dump(exclude_unset=True, exclude={"tags"}))
    phone = None
    if "dial_code" in changes or "phone" in changes:
        phone = (changes.get("dial_code", row.dial_code), changes.get("phone", row.phone))
    tag_ids = await checked_against_stored_data(
        connection=connection,
        business_id=principal.business_id,
        phone=phone,
        tag_references=parsed.tags,
        guard=guarded_field_violation(principal=principal, changes=changes, current=row._asdict()),
        customer_id=row.id,
    )
    tags_changed = tag_ids is not None and await tags_service.replace_tags(
        connection=connection, business_id=principal.business_id, customer_id=row.id, tag_ids=tag_ids
    )
    fresh = row
    if changes or tags_changed:
        try:
            fresh = await update_record(connection=connection, table=customers, row=row, values=changes)
        except IntegrityError:
            raise Unprocessable(PHONE_TAKEN) from None
        await events.record_change(connection=connection, kind=events.CUSTOMER, action=UPDATED, row=fresh, before=row)
    return fresh


async def delete_customer(*, connection: AsyncConnection, row: Row[Any]) -> None:
    """Soft delete; deleting again keeps the first `deleted_at`."""
    deleted = await soft_delete(connection=connection, table=customers, row=row)
    if deleted is not None:
        await events.record_change(connection=connection, kind=events.CUSTOMER, action=DELETED, row=deleted, before=row)


async def restore_customer(*, connection: AsyncConnection, row: Row[Any]) -> Row[Any]:
    """Clear `deleted_at`; 409 if an active customer has taken the phone meanwhile."""
    taken = Conflict("The customer cannot be restored: an active customer has the same phone.", errors=PHONE_TAKEN)
    restored = await restore(connection=connection, table=customers, row=row, taken=taken)
    await events.record_change(connection=connection, kind=events.CUSTOMER, action=RESTORED, row=restored, before=row)
    return restored
