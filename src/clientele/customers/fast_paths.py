"""The customer requests a point of sale sends most, in one statement each (see clientele.web.fast_paths)."""

from functools import lru_cache
from types import SimpleNamespace

import asyncpg
import orjson
from sqlalchemy.dialects import postgresql
from starlette.datastructures import URL

from clientele.auth import scopes as scope
from clientele.customers.models import customers
from clientele.customers.schemas import REQUIRED_ON_CREATE, CustomerInput, customer_body
from clientele.customers.service import GUARDED_FIELDS
from clientele.db.clock import utcnow
from clientele.db.ids import new_id, parse_uuid
from clientele.errors import ApiError
from clientele.web.fast_paths import Caller, FastPath, Statement, accepted_token
from clientele.web.validation import validate_body
from clientele.web.versions import record_response
from clientele.web.wire import JSONResponse

# Each request's token and customer, in one statement for a batch of requests (clientele.web.fast_paths.Batch):
# a customer of another business than the request's token's never joins.
CUSTOMERS_WITH_TOKENS = """
SELECT asked.n, tokens.token_hash, tokens.scopes, tokens.expires_at, tokens.revoked_at, customers.*
FROM unnest($1::text[], $2::uuid[]) WITH ORDINALITY AS asked (token_hash, customer_id, n)
JOIN tokens ON tokens.token_hash = asked.token_hash
JOIN customers ON customers.business_id = tokens.business_id AND customers.id = asked.customer_id
"""


def as_row(record: asyncpg.Record) -> SimpleNamespace:
    """The record read by attribute, as the serialisers read SQLAlchemy rows."""
    return SimpleNamespace(**record)


def customer_statement(caller: Caller) -> Statement | None:
    """`GET /customers/{id}` without `include` or `If-Match`: the customer with the token's row."""
    customer_id = parse_uuid(caller.path_params["customer_id"])
    return None if customer_id is None else Statement(CUSTOMERS_WITH_TOKENS, (caller.token_hash, customer_id))


def customer_answer(caller: Caller, record: asyncpg.Record) -> JSONResponse | None:
    if not accepted_token(caller.token_hash, record, scope.CUSTOMERS_GET):
        return None
    row = as_row(record)
    return record_response(row, customer_body(row, frozenset(record["scopes"].split())))


@lru_cache(maxsize=256)
def insert_for_token(fields: tuple[str, ...]) -> str:
    """Insert a customer with these fields for a valid token that holds every scope in `$3`,
    and return it with the token's scopes: nothing is inserted for any other token. (The token's
    checks are the statement's own: once it has inserted, the customer is created.)

    A field not sent is left out, so that the table's own default applies, as on the route.
    """
    dialect = postgresql.dialect()
    casts = [
        f"${number}::{customers.c[field].type.compile(dialect=dialect).split('(')[0]}"
        for number, field in enumerate(fields, start=6)
    ]
    return f"""
WITH caller AS (
    SELECT business_id, scopes FROM tokens
    WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
      AND string_to_array(scopes, ' ') @> $3::text[]
), created AS (
    INSERT INTO customers (business_id, id, created_at, updated_at{"".join(f", {field}" for field in fields)})
    SELECT business_id, $4::uuid, $5::timestamp, $5::timestamp{"".join(f", {cast}" for cast in casts)} FROM caller
    RETURNING *
)
SELECT caller.scopes, created.* FROM created, caller
"""


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
    values = parsed.model_dump(exclude_unset=True, exclude={"tags"})
    # A guarded field set to anything but its default needs its write scope too.
    needed = [
        scope.CUSTOMERS_WRITE,
        *(
            needed
            for field, (needed, default) in GUARDED_FIELDS.items()
            if field in values and values[field] != default
        ),
    ]
    now = utcnow()
    return Statement(insert_for_token(tuple(values)), (caller.token_hash, now, needed, new_id(), now, *values.values()))


def created_answer(caller: Caller, record: asyncpg.Record) -> JSONResponse:
    location = f"{URL(scope=caller.scope).replace(query='')}/{record['id']}"
    return JSONResponse(
        {"data": customer_body(as_row(record), frozenset(record["scopes"].split()))},
        status_code=201,
        headers={"Location": location},
    )


FAST_PATHS = [
    FastPath("GET", "/customers/{customer_id}", customer_statement, customer_answer, batched=True),
    FastPath("POST", "/customers", create_statement, created_answer, reads_body=True),
]
