"""Ledger entries created on a fast path (see clientele.web.fast_paths), each ledger from its `Ledger`.

Two statements on the key pool, each its own transaction: the token and the customer read together;
the entry checked in Python by the route's own rules (`checked_balance`); then one statement that
writes the customer's new balance, the entry and the route's two events, only where the customer's
row is still as it was read (its `updated_at`, which every change moves, and the balance). Where
another write came between, it writes nothing and the route, which locks the row, answers. The two
round trips hold no transaction open and no lock across Python (docs/decisions.md, "Fast paths").
"""

import json
from types import SimpleNamespace
from typing import Any

import asyncpg
import orjson
from sqlalchemy import DateTime, Select, String, Uuid, bindparam, insert, select, union_all, update
from starlette.datastructures import URL

from clientele.auth.models import tokens
from clientele.auth.service import same_token, scopes_of, usable_token
from clientele.customers.fast_paths import as_row
from clientele.customers.models import customers
from clientele.db.clock import utcnow
from clientele.db.ids import new_id, parse_uuid
from clientele.db.records import next_updated_at
from clientele.errors import ApiError
from clientele.events.models import events
from clientele.events.service import CREATED, CUSTOMER, UPDATED, Change, change_of, event_clock
from clientele.ledgers.schemas import REQUIRED_ON_CREATE, LedgerEntryInput
from clientele.ledgers.service import (
    LEDGERS,
    Ledger,
    active_customer,
    balance_change,
    checked_balance,
    entry_body,
    new_entry,
)
from clientele.web.fast_paths import Caller, CompiledStatement, FastPath, Statement
from clientele.web.validation import validate_body, with_exact_numbers
from clientele.web.wire import JSONResponse

NOW = bindparam("now", type_=DateTime)
EVENT_COLUMNS = ("business_id", "id", "type", "record_id", "created_at", "data", "changes")


def customer_with_token() -> Select[Any]:
    """The customer an entry names, as the route reads it (a non-deleted customer of the token's
    business), beside the token, while the token is usable."""
    return (
        select(tokens.c.token_hash, tokens.c.scopes, customers)
        .select_from(tokens)
        .join(customers, active_customer(tokens.c.business_id, bindparam("customer_id", type_=Uuid)))
        .where(tokens.c.token_hash == bindparam("token_hash"), usable_token(NOW))
    )


CUSTOMER_WITH_TOKEN = CompiledStatement.of(customer_with_token())


def entry_written(ledger: Ledger) -> CompiledStatement:
    """Write the entry, its customer's change (`balance_change`) and the two events where the customer is
    still as read; the entry as stored, or no row."""
    c = customers.c
    changed = (
        update(customers)
        .where(
            c.business_id == bindparam("business_id", type_=Uuid),
            c.id == bindparam("customer_id", type_=Uuid),
            c.updated_at == bindparam("read_updated_at", type_=DateTime),
            ledger.balance == bindparam("read_balance", type_=ledger.balance.type),
        )
        .values(
            balance_change(ledger=ledger, balance_after=bindparam("balance_after", type_=ledger.balance.type), now=NOW)
        )
        .returning(c.business_id)
        .cte("changed")
    )
    columns = [column.name for column in ledger.table.c if column.name != "business_id"]
    entry = (
        insert(ledger.table)
        .from_select(
            ["business_id", *columns],
            select(
                changed.c.business_id,
                *(bindparam(f"entry_{name}", type_=ledger.table.c[name].type) for name in columns),
            ),
        )
        .returning(*ledger.table.c)
        .cte("entry")
    )

    def event(number: int) -> Select[Any]:
        return select(
            changed.c.business_id,
            bindparam(f"event_id_{number}", type_=Uuid),
            bindparam(f"event_type_{number}", type_=String),
            bindparam(f"record_id_{number}", type_=Uuid),
            event_clock(),
            bindparam(f"data_{number}", type_=events.c.data.type),
            bindparam(f"changes_{number}", type_=events.c.changes.type),
        )

    recorded = insert(events).from_select(list(EVENT_COLUMNS), union_all(event(1), event(2)))
    return CompiledStatement.of(select(entry).add_cte(recorded.cte("recorded")))


def parsed_entry(ledger: Ledger, body: bytes) -> LedgerEntryInput | None:
    """The body as the route reads it (exact numbers, the ledger's input model), or None where the route
    must answer it."""
    try:
        sent = orjson.loads(body)
        if not isinstance(sent, dict):
            return None
        return validate_body(ledger.input_model, with_exact_numbers(sent, body), required=REQUIRED_ON_CREATE)
    except (orjson.JSONDecodeError, ApiError):
        return None


def as_stored(value: Any) -> str | None:
    """A JSON column's value as the routes' engine writes it (SQLAlchemy's default, `json.dumps`)."""
    return None if value is None else json.dumps(value)


def event_values(number: int, change: Change) -> dict[str, Any]:
    return {
        f"event_type_{number}": change.type,
        f"record_id_{number}": change.record_id,
        f"data_{number}": as_stored(change.data),
        f"changes_{number}": as_stored(change.changes),
    }


def ledger_fast_path(ledger: Ledger) -> FastPath:
    """`POST {ledger.path}` without `include` or `Idempotency-Key`, with a valid body, for a customer whose
    entry the rules accept."""
    written = entry_written(ledger)

    def statement(caller: Caller) -> Statement | None:
        parsed = parsed_entry(ledger, caller.body)
        customer_id = None if parsed is None else parse_uuid(str(parsed.customer_id))
        if customer_id is None:
            return None
        return CUSTOMER_WITH_TOKEN.bind(token_hash=caller.token_hash, customer_id=customer_id, now=utcnow())

    def then(caller: Caller, record: asyncpg.Record) -> Statement | None:
        parsed = parsed_entry(ledger, caller.body)
        if (
            parsed is None
            or parsed.amount is None
            or not same_token(record["token_hash"], caller.token_hash)
            or ledger.write_scope not in scopes_of(record["scopes"])
        ):
            return None
        customer = as_row(record)
        try:
            balance_after = checked_balance(ledger=ledger, customer=customer, amount=parsed.amount)
        except ApiError:
            return None
        now = next_updated_at(customer)  # type: ignore[arg-type]
        entry = new_entry(ledger=ledger, customer=customer, parsed=parsed, balance_after=balance_after, now=now)
        after = SimpleNamespace(
            **vars(customer)
            | {
                ledger.balance.name: balance_after,
                ledger.entries.name: getattr(customer, ledger.entries.name) + 1,
                "updated_at": now,
            }
        )
        made = change_of(kind=ledger.event_kind, action=CREATED, row=SimpleNamespace(**entry))
        moved = change_of(kind=CUSTOMER, action=UPDATED, row=after, before=customer)
        assert made is not None and moved is not None  # `now` is after the customer's `updated_at`
        # Sorted, so that two events stamped in one microsecond still list in the route's order.
        first, second = sorted((new_id(), new_id()))
        return written.bind(
            business_id=customer.business_id,
            customer_id=customer.id,
            read_updated_at=customer.updated_at,
            read_balance=getattr(customer, ledger.balance.name),
            balance_after=balance_after,
            now=now,
            **{
                f"entry_{name}": as_stored(value) if name == "meta" else value
                for name, value in entry.items()
                if name != "business_id"
            },
            event_id_1=first,
            event_id_2=second,
            **event_values(1, made),
            **event_values(2, moved),
        )

    def answer(caller: Caller, record: asyncpg.Record) -> JSONResponse:
        row = as_row(record)
        row.meta = json.loads(row.meta)
        location = f"{URL(scope=caller.scope).replace(query='')}/{row.id}"
        return JSONResponse({"data": entry_body(ledger, row)}, status_code=201, headers={"Location": location})

    return FastPath("POST", ledger.path, statement, answer, reads_body=True, then=then)


FAST_PATHS = [ledger_fast_path(ledger) for ledger in LEDGERS]
