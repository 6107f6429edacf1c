"""The two ledgers (SPEC §9): each described once, as a `Ledger`, and served by the same code.

An entry and its customer's balance change are written in one transaction, after the customer's
row is locked: racing entries of one customer take turns (PostgreSQL's row lock; SQLite runs one
write transaction at a time), and each checks its rule against the balance the one before left.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import Column, ColumnElement, Row, Table, and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.auth import scopes as scope
from clientele.auth.service import Principal
from clientele.customers.models import customers
from clientele.db.ids import new_id, parse_uuid
from clientele.db.records import find_record, next_updated_at
from clientele.errors import FieldErrors, Forbidden, Unprocessable
from clientele.events import service as events
from clientele.events.service import CREATED, UPDATED
from clientele.ledgers.models import house_account_transactions, loyalty_transactions
from clientele.ledgers.schemas import (
    REQUIRED_ON_CREATE,
    HouseAccountTransactionInput,
    HouseAccountTransactionOut,
    LedgerEntryInput,
    LedgerEntryOut,
    LoyaltyTransactionOut,
)
from clientele.listing.filters import exact_text_filter, ids_filter, uniform_filters, updated_after_filter
from clientele.listing.spec import KeptCount, ListSpec
from clientele.web.validation import validate_body
from clientele.web.wire import RecordShape

# The balance columns hold 11 digits before the point (Numeric(14, 3)).
BALANCE_BOUND = Decimal(10**11)

Rules = Callable[[Any, Decimal, Decimal], FieldErrors]
"""(the customer as read, the entry's amount, the balance it would leave) -> the 422s it is refused with."""


def house_account_rules(customer: Any, amount: Decimal, balance_after: Decimal) -> FieldErrors:
    """A charge needs the account enabled and may not take the balance below `-house_account_limit`
    (a null limit is none); a payment is always accepted, so that a debt can be settled once the
    account is disabled."""
    if amount > 0:
        return {}
    if not customer.is_house_account_enabled:
        return {"customer_id": ["The customer's house account is not enabled: it takes payments only."]}
    limit = customer.house_account_limit
    if limit is not None and balance_after < -limit:
        return {
            "amount": [
                f"The charge would take the house account balance to {balance_after}, below its limit of -{limit}."
            ]
        }
    return {}


def loyalty_rules(customer: Any, amount: Decimal, balance_after: Decimal) -> FieldErrors:
    """Earning needs loyalty enabled; a redemption may not take the balance below 0 (and spends what was
    earned even once loyalty is disabled)."""
    if amount > 0 and not customer.is_loyalty_enabled:
        return {"customer_id": ["The customer's loyalty is not enabled: it cannot earn."]}
    if amount < 0 and balance_after < 0:
        return {"amount": [f"The redemption would take the loyalty balance to {balance_after}, below 0."]}
    return {}


@dataclass(frozen=True)
class Ledger:
    """One ledger: where it is served, what it is kept in, who may read and write it, what its entries
    carry beside the common fields, and the rules an entry must meet."""

    path: str
    noun: str
    """The entry, as sentences and the document name it: `house account transaction`."""
    table: Table
    balance: Column[Any]
    """The customer's column that is the sum of the ledger's amounts."""
    entries: Column[Any]
    """The customer's column that is the number of its entries in the ledger: its list's total."""
    event_kind: events.RecordKind
    """What its entries' events are."""
    read_scope: str
    write_scope: str
    input_model: type[LedgerEntryInput]
    output_model: type[LedgerEntryOut]
    references: tuple[str, ...]
    """References to the point of sale's records beside `order_id`, each a filter too."""
    rules: Rules

    @cached_property
    def shape(self) -> RecordShape:
        return RecordShape(self.output_model)

    @cached_property
    def list_spec(self) -> ListSpec:
        table = self.table
        return ListSpec(
            table=table,
            filters={
                **uniform_filters(table, self.noun),
                "customer_id": ids_filter(table.c.customer_id.in_, "customer id"),
                **{
                    reference: exact_text_filter(table.c[reference], f"Exactly this {reference}.")
                    for reference in ("order_id", *self.references)
                },
                "updated_after": updated_after_filter(table.c.updated_at),
            },
            sort_columns={
                "created_at": table.c.created_at,
                "updated_at": table.c.updated_at,
                "amount": table.c.amount,
            },
            includes=("customer",),
            kept_count=KeptCount("customer_id", self.entries),
        )


HOUSE_ACCOUNT = Ledger(
    path="/house_account_transactions",
    noun="house account transaction",
    table=house_account_transactions,
    balance=customers.c.house_account_balance,
    entries=customers.c.house_account_entries,
    event_kind=events.HOUSE_ACCOUNT_TRANSACTION,
    read_scope=scope.ACCOUNTS_READ,
    write_scope=scope.ACCOUNTS_WRITE,
    input_model=HouseAccountTransactionInput,
    output_model=HouseAccountTransactionOut,
    references=("user_id", "payment_method_id"),
    rules=house_account_rules,
)
LOYALTY = Ledger(
    path="/loyalty_transactions",
    noun="loyalty transaction",
    table=loyalty_transactions,
    balance=customers.c.loyalty_balance,
    entries=customers.c.loyalty_entries,
    event_kind=events.LOYALTY_TRANSACTION,
    read_scope=scope.LOYALTY_READ,
    write_scope=scope.LOYALTY_WRITE,
    input_model=LedgerEntryInput,
    output_model=LoyaltyTransactionOut,
    references=(),
    rules=loyalty_rules,
)
LEDGERS = (HOUSE_ACCOUNT, LOYALTY)


def include_violation(*, principal: Principal, includes: frozenset[str]) -> Forbidden | None:
    """The 403 due where `include=customer` asks for a customer the token may not read: a ledger's read
    scope shows entries, not names and phones (SPEC §3 places it last, as a guarded field's)."""
    if "customer" in includes and scope.CUSTOMERS_GET not in principal.scopes:
        return Forbidden(f"The customer include requires the {scope.CUSTOMERS_GET} scope.")
    return None


def entry_body(ledger: Ledger, row: Any) -> dict[str, Any]:
    """An entry with `customer` as a `{"id": …}` stub (include=customer replaces it)."""
    return ledger.shape.body(row)


async def find_entry(*, connection: AsyncConnection, ledger: Ledger, business_id: uuid.UUID, entry_id: str) -> Row[Any]:
    """The business's entry with this id; 404 for anything else."""
    return await find_record(
        connection=connection,
        table=ledger.table,
        business_id=business_id,
        record_id=entry_id,
        missing=f"{ledger.noun[0].upper()}{ledger.noun[1:]} not found.",
    )


def active_customer(business_id: Any, customer_id: Any) -> ColumnElement[bool]:
    """The business's non-deleted customer with this id: the one customer an entry may be written to."""
    return and_(customers.c.business_id == business_id, customers.c.id == customer_id, customers.c.deleted_at.is_(None))


async def locked_active_customer(
    *, connection: AsyncConnection, business_id: uuid.UUID, customer_id: str
) -> Row[Any] | None:
    """The business's non-deleted customer with this id, locked until the transaction ends (PostgreSQL),
    so that no other entry, update or delete of it can come between reading its balance and writing it."""
    parsed = parse_uuid(customer_id)
    if parsed is None:
        return None
    return (
        await connection.execute(select(customers).where(active_customer(business_id, parsed)).with_for_update())
    ).first()


def checked_balance(*, ledger: Ledger, customer: Any, amount: Decimal) -> Decimal:
    """The balance the entry leaves the customer (as read) with; 422 naming the field at fault where the
    ledger's rules or the balance column's bounds refuse it."""
    balance_after: Decimal = getattr(customer, ledger.balance.name) + amount
    errors = ledger.rules(customer, amount, balance_after)
    if not errors and abs(balance_after) >= BALANCE_BOUND:
        errors = {"amount": [f"The balance would be {balance_after}, beyond what a balance holds (±{BALANCE_BOUND})."]}
    if errors:
        raise Unprocessable(errors)
    return balance_after


def balance_change(*, ledger: Ledger, balance_after: Any, now: Any) -> dict[Column[Any], Any]:
    """What an entry changes on its customer: the balance, the count of entries, and `updated_at` (a sync
    must see the new balance)."""
    return {ledger.balance: balance_after, ledger.entries: ledger.entries + 1, customers.c.updated_at: now}


def new_entry(
    *, ledger: Ledger, customer: Any, parsed: LedgerEntryInput, balance_after: Decimal, now: datetime
) -> dict[str, Any]:
    """The entry's row: stamped with its customer's new `updated_at` (entries never change after)."""
    return {
        "business_id": customer.business_id,
        "id": new_id(),
        "customer_id": customer.id,
        "amount": parsed.amount,
        "balance_after": balance_after,
        "created_at": now,
        "updated_at": now,
        "meta": parsed.meta,
        **parsed.model_dump(include={"order_id", *ledger.references}),
    }


async def record_entry(
    *, connection: AsyncConnection, principal: Principal, ledger: Ledger, body: dict[str, Any], guard: Forbidden | None
) -> Row[Any]:
    """Validate an entry, check it against its customer as stored, and write it with the balance it
    leaves; 422 naming the field at fault, then `guard` if one is due, and then nothing is written."""
    parsed = validate_body(ledger.input_model, body, required=REQUIRED_ON_CREATE)
    amount = parsed.amount
    assert amount is not None  # required: validate_body refused its absence
    customer = await locked_active_customer(
        connection=connection, business_id=principal.business_id, customer_id=str(parsed.customer_id)
    )
    if customer is None:
        raise Unprocessable({"customer_id": ["The selected customer_id is invalid."]})
    balance_after = checked_balance(ledger=ledger, customer=customer, amount=amount)
    if guard is not None:
        raise guard
    now = next_updated_at(customer)
    changed = await connection.execute(
        update(customers)
        .where(customers.c.business_id == customer.business_id, customers.c.id == customer.id)
        .values(balance_change(ledger=ledger, balance_after=balance_after, now=now))
        .returning(*customers.c)
    )
    result = await connection.execute(
        insert(ledger.table)
        .values(new_entry(ledger=ledger, customer=customer, parsed=parsed, balance_after=balance_after, now=now))
        .returning(*ledger.table.c)
    )
    entry = result.one()
    await events.record_change(connection=connection, kind=ledger.event_kind, action=CREATED, row=entry)
    # A sync that keeps customers from their events must see the balance move (docs/decisions.md, "Events").
    await events.record_change(
        connection=connection, kind=events.CUSTOMER, action=UPDATED, row=changed.one(), before=customer
    )
    return entry
