"""Idempotency keys: a POST retried with the same `Idempotency-Key` is answered again, not run
again (docs/decisions.md, "Idempotency keys")."""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import orjson
from fastapi import Depends, Header, Request, Response
from pydantic import WithJsonSchema
from sqlalchemy import (
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    Uuid,
    delete,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.auth.service import Principal
from clientele.db.clock import utcnow
from clientele.db.engine import is_sqlite, upsert_insert
from clientele.db.metadata import metadata
from clientele.errors import BadRequest, Conflict, Unprocessable
from clientele.web.authentication import Authenticated
from clientele.web.errors import ErrorBody
from clientele.web.transaction import Connection
from clientele.web.validation import json_object

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_CHARS = 255
KEY_LIFETIME = timedelta(hours=24)
# How long a request waits for another one holding its key before it is answered 409.
IN_FLIGHT_WAIT_MS = 10_000
# Expired keys a claim deletes on its way: more than one, so that cleaning up outpaces new keys.
EXPIRED_KEYS_PER_CLAIM = 10
LOCK_NOT_AVAILABLE = "55P03"

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("business_id", Uuid, primary_key=True),
    Column("key", String(MAX_KEY_CHARS), primary_key=True),
    # SHA-256 of what makes two requests the same one (see `request_fingerprint`).
    Column("fingerprint", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    # The response, written in the transaction that claimed the key, before it commits.
    Column("status_code", Integer, nullable=True),
    Column("body", LargeBinary, nullable=True),
    Column("location", Text, nullable=True),
    ForeignKeyConstraint(["business_id"], ["businesses.id"]),
    Index("ix_idempotency_keys_business_id_created_at", "business_id", "created_at"),
)

KEY_LENGTH = f"The {KEY_HEADER} header must be 1 to {MAX_KEY_CHARS} characters long."
KEY_REUSED = f"The {KEY_HEADER} has already been used for a different request."
KEY_IN_FLIGHT = f"A request with this {KEY_HEADER} is still being processed; retry it later."

KEY_DOCS = (
    f"Optional, 1-{MAX_KEY_CHARS} characters. A retry with the same key and the same request within "
    f"{KEY_LIFETIME.total_seconds() / 3600:.0f} hours gets the first response again, with "
    f"`{REPLAYED_HEADER}: true`, and creates nothing; the same key with another request is a 422. A request "
    "that failed is not remembered."
)
# The answers of a create (every create takes an idempotency key) beside its errors.
CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {
        "headers": {
            "Location": {"description": "The created record's URL.", "schema": {"type": "string"}},
            REPLAYED_HEADER: {
                "description": f"`true` when this is the stored response to an earlier "
                f"request with the same `{KEY_HEADER}`.",
                "schema": {"type": "string"},
            },
        }
    },
    409: {
        "model": ErrorBody,
        "description": f"Another request with this `{KEY_HEADER}` is still being processed.",
        "headers": {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}},
    },
}


@dataclass
class IdempotentRequest:
    """A POST's idempotency: the stored response to replay, or where to store the one it makes."""

    connection: AsyncConnection
    business_id: uuid.UUID
    key: str | None
    replay: Response | None = None

    async def remember(self, response: Response) -> Response:
        """Store the response under the key (if one was sent), in the transaction that created the record."""
        if self.key is not None:
            k = idempotency_keys.c
            await self.connection.execute(
                update(idempotency_keys)
                .where(k.business_id == self.business_id, k.key == self.key)
                .values(
                    status_code=response.status_code,
                    body=bytes(response.body),
                    location=response.headers.get("location"),
                )
            )
        return response


def request_fingerprint(request: Request, principal: Principal, body: dict[str, Any]) -> str:
    """What makes a retry the same request: method, path, query, body as parsed JSON (key order and
    whitespace aside), and the token's scopes, which decide the fields the stored response shows."""
    try:
        canonical_body = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        # Nested deeper than orjson writes (255 levels), though not deeper than it reads: such a
        # body is compared byte for byte instead.
        canonical_body = request.state.body
    request_line = orjson.dumps(
        [request.method, request.url.path, sorted(request.query_params.multi_items()), sorted(principal.scopes)]
    )
    return hashlib.sha256(request_line + b"\n" + canonical_body).hexdigest()


def idempotency_key(
    key: Annotated[
        str | None,
        Header(alias=KEY_HEADER, description=KEY_DOCS),
        # A header is sent or not, never null: a client generated from `str | None` could pass None.
        WithJsonSchema({"type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS}),
    ] = None,
) -> str | None:
    """The `Idempotency-Key` the request sent, if any; 400 outside 1-255 characters."""
    if key is not None and not 1 <= len(key) <= MAX_KEY_CHARS:
        raise BadRequest(KEY_LENGTH, errors={KEY_HEADER: [KEY_LENGTH]})
    return key


async def idempotent_request(
    request: Request,
    principal: Authenticated,
    key: Annotated[str | None, Depends(idempotency_key)],
    body: Annotated[dict[str, Any], Depends(json_object)],
    connection: Connection,
) -> IdempotentRequest:
    """Claim the request's `Idempotency-Key`, or find the stored response to an earlier request with it.

    It runs after authentication, and the key is checked before the body is read (a malformed
    request is a 400 before an oversized body is a 413); the claim comes before any validation,
    so that a retry is answered as the first request was even where running it again would now
    fail (a phone already taken).
    """
    idempotent = IdempotentRequest(connection=connection, business_id=principal.business_id, key=key)
    if key is None:
        return idempotent
    fingerprint = request_fingerprint(request, principal, body)
    if await claim_key(connection=connection, business_id=principal.business_id, key=key, fingerprint=fingerprint):
        await delete_expired_keys(
            connection=connection, business_id=principal.business_id, limit=EXPIRED_KEYS_PER_CLAIM
        )
        return idempotent
    k = idempotency_keys.c
    stored = (
        await connection.execute(
            select(k.fingerprint, k.status_code, k.body, k.location).where(
                k.business_id == principal.business_id, k.key == key
            )
        )
    ).one()
    if stored.fingerprint != fingerprint:
        raise Unprocessable({KEY_HEADER: [KEY_REUSED]})
    headers = {REPLAYED_HEADER: "true"} | ({"Location": stored.location} if stored.location else {})
    idempotent.replay = Response(
        stored.body, status_code=stored.status_code, headers=headers, media_type="application/json"
    )
    return idempotent


Idempotency = Annotated[IdempotentRequest, Depends(idempotent_request)]
"""For every POST route: `if idempotency.replay` answer it, else `return await idempotency.remember(response)`."""


async def claim_key(*, connection: AsyncConnection, business_id: uuid.UUID, key: str, fingerprint: str) -> bool:
    """Take the key for this request (new, or expired and taken over); False if a live request holds it.

    On PostgreSQL the INSERT waits for another transaction that inserted the same key and has not
    ended yet, then sees its outcome; the wait is bounded so that a stuck first request cannot hold
    every retry (and its pooled connection) indefinitely.
    """
    now = utcnow()
    k = idempotency_keys.c
    upsert = upsert_insert(connection, idempotency_keys)
    statement = (
        upsert.values(business_id=business_id, key=key, fingerprint=fingerprint, created_at=now)
        .on_conflict_do_update(
            index_elements=[k.business_id, k.key],
            set_={"fingerprint": fingerprint, "created_at": now, "status_code": None, "body": None, "location": None},
            where=k.created_at <= now - KEY_LIFETIME,
        )
        .returning(k.key)
    )
    if is_sqlite(connection):
        return (await connection.execute(statement)).first() is not None
    await connection.execute(text(f"SET LOCAL lock_timeout = {IN_FLIGHT_WAIT_MS}"))
    try:
        claimed = (await connection.execute(statement)).first() is not None
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise Conflict(KEY_IN_FLIGHT, headers={"Retry-After": "1"}) from None
        raise
    await connection.execute(text("SET LOCAL lock_timeout = DEFAULT"))
    return claimed


async def delete_expired_keys(
    *, connection: AsyncConnection, business_id: uuid.UUID | None = None, limit: int | None = None
) -> int:
    """Delete keys older than KEY_LIFETIME (of one business, or of all); how many were deleted.

    Keys another transaction holds are skipped (PostgreSQL), so that concurrent requests of one
    business never wait for each other's clean-up.
    """
    k = idempotency_keys.c
    expired = (
        select(k.business_id, k.key)
        .where(k.created_at <= utcnow() - KEY_LIFETIME)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if business_id is not None:
        expired = expired.where(k.business_id == business_id)
    result = await connection.execute(delete(idempotency_keys).where(tuple_(k.business_id, k.key).in_(expired)))
    return result.rowcount
