"""The customer requests a point of sale sends most, in one statement each (see clientele.web.fast_paths).

Each statement is made of the routes' own definitions: the token rule (`usable_token`), the
scopes a body needs (`guarded_changes`), the body's checks (`CustomerInput`) and the customer's
shape (`customer_body`).
"""

from functools import lru_cache
from types import SimpleNamespace
from typing import Any

import asyncpg
import orjson
from sqlalchemy import DateTime, Select, String, Text, Uuid, bindparam, func, insert, literal, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from starlette.datastructures import URL

from clientele.auth import scopes as scope
from clientele.auth.models import tokens
from clientele.auth.service import same_token, scopes_of, usable_token
from clientele.customers.models import NEW_CUSTOMER, customers
from clientele.customers.schemas import REQUIRED_ON_CREATE, CustomerInput, customer_body
from clientele.customers.service import guarded_changes
from clientele.db.clock import utcnow
from clientele.db.ids import new_id, parse_uuid
from clientele.errors import ApiError
from clientele.events.models import events
from clientele.events.service import CREATED, CUSTOMER, EVERY_SCOPE, event_clock
from clientele.web.fast_paths import Caller, CompiledStatement, FastPath, Statement
from clientele.web.validation import validate_body
from clientele.web.versions import record_response
from clientele.web.wire import JSONResponse

NOW = bindparam("now", type_=DateTime)


def customers_with_tokens() -> Select[Any]:
    """For each (token hash, customer id) asked, numbered `n` by its place: the customer of the token's
    business with this id, beside the token, while the token is usable."""
    asked = (
        func.unnest(bindparam("token_hashes", type_=ARRAY(String)), bindparam("ids", type_=ARRAY(Uuid)))
        .table_valued("token_hash", "id", with_ordinality="n")
        .render_derived(name="asked")
    )
    return (
        select(asked.c.n, tokens.c.token_hash, tokens.c.scopes, customers)
        .select_from(asked)
        .join(tokens, tokens.c.token_hash == asked.c.token_hash)
        .join(customers, (customers.c.business_id == tokens.c.business_id) & (customers.c.id == asked.c.id))
        .where(usable_token(NOW))
    )


CUSTOMERS_WITH_TOKENS = CompiledStatement.of(customers_with_tokens())


def as_row(record: asyncpg.Record) -> SimpleNamespace:
    """The record read by attribute, as SQLAlchemy rows are."""
    return SimpleNamespace(**record)


def customer_statement(caller: Caller) -> Statement | None:
    """`GET /customers/{id}` without `include` or `If-Match`: the request's token hash and customer id."""
    customer_id = parse_uuid(caller.path_params["customer_id"])
    return None if customer_id is None else Statement(CUSTOMERS_WITH_TOKENS.sql, (caller.token_hash, customer_id))


def customers_read_together(requests: list[tuple[Any, ...]]) -> Statement:
    """The one read of a batch of these requests' (token hash, customer id)."""
    hashes, ids = (list(values) for values in zip(*requests, strict=True))
    return CUSTOMERS_WITH_TOKENS.bind(token_hashes=hashes, ids=ids, now=utcnow())


def customer_answer(caller: Caller, record: asyncpg.Record) -> JSONResponse | None:
    scopes = scopes_of(record["scopes"])
    if not same_token(record["token_hash"], caller.token_hash) or scope.CUSTOMERS_GET not in scopes:
        return None
    row = as_row(record)
    return record_response(row, customer_body(row, scopes))


@lru_cache(maxsize=256)
def created_for_token(fields: tuple[str, ...]) -> CompiledStatement:
    """Insert a customer with these fields for a usable token that holds every scope in `needed`,
    and return it with the token's scopes: nothing is inserted for any other token (the statement's
    own checks: once it has inserted, the customer is created).

    Every column a create can set is given (a field not sent as `NEW_CUSTOMER` holds it), so that the
    customer's event, made beforehand, shows the row as stored.
    """
    caller = (
        select(tokens.c.business_id, tokens.c.scopes)
        .where(
            tokens.c.token_hash == bindparam("token_hash"),
            usable_token(NOW),
            # Every needed scope is among the token's (scopes_of, in SQL).
            func.string_to_array(tokens.c.scopes, literal(" ")).op("@>")(bindparam("needed", type_=ARRAY(Text))),
        )
        .cte("caller")
    )
    values = select(
        caller.c.business_id,
        bindparam("id", type_=customers.c.id.type),
        NOW,
        NOW,
        *(bindparam(field, type_=customers.c[field].type) for field in fields),
    )
    created = (
        insert(customers)
        .from_select(["business_id", "id", "created_at", "updated_at", *fields], values)
        .returning(*customers.c)
        .cte("created")
    )
    # Its event, in the same statement (so the same transaction): the row it shows is known before the
    # insert, since every column is given.
    recorded = insert(events).from_select(
        ["business_id", "id", "type", "record_id", "created_at", "data"],
        select(
            created.c.business_id,
            bindparam("event_id", type_=events.c.id.type),
            literal(CUSTOMER.type(CREATED)),
            created.c.id,
            event_clock(),
            bindparam("event_data", type_=events.c.data.type),
        ),
    )
    return CompiledStatement.of(
        select(caller.c.scopes, created).select_from(created.join(caller, true())).add_cte(recorded.cte("recorded"))
    )


def create_statement(caller: Caller) -> Statement | None:
    """`POST /customers` without `include`, `Idempotency-Key` or tags, with a valid body."""
    try:
        body = orjson.loads(caller.body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict) or "tags" in body:
        return None
    try:
        parsed = validate_body(CustomerInput, body, required=REQUIRED_ON_CREATE)
    except ApiError:
        return None
    sent = parsed.model_dump(exclude_unset=True, exclude={"tags"})
    needed = [scope.CUSTOMERS_WRITE, *(needed for _, needed in guarded_changes(sent, {}))]
    values = NEW_CUSTOMER | sent
    customer_id, now = new_id(), utcnow()
    stored = SimpleNamespace(**values, id=customer_id, created_at=now, updated_at=now, deleted_at=None)
    return created_for_token(tuple(values)).bind(
        token_hash=caller.token_hash,
        needed=needed,
        id=customer_id,
        now=now,
        event_id=new_id(),
        event_data=orjson.dumps(CUSTOMER.shape.body(stored, EVERY_SCOPE)).decode(),
        **values,
    )


def created_answer(caller: Caller, record: asyncpg.Record) -> JSONResponse:
    location = f"{URL(scope=caller.scope).replace(query='')}/{record['id']}"
    return JSONResponse(
        {"data": customer_body(as_row(record), scopes_of(record["scopes"]))},
        status_code=201,
        headers={"Location": location},
    )


FAST_PATHS = [
    FastPath("GET", "/customers/{customer_id}", customer_statement, customer_answer, batched=customers_read_together),
    FastPath("POST", "/customers", create_statement, created_answer, reads_body=True),
]
