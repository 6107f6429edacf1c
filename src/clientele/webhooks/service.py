"""Webhook endpoints: their CRUD, secrets, replays, and the one way an endpoint is disabled."""

import base64
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, delete, exists, insert, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from clientele.auth.scopes import READ_SCOPES
from clientele.auth.service import Principal
from clientele.db.clock import utcnow
from clientele.db.engine import copy_rows
from clientele.db.ids import new_id
from clientele.db.records import changed_values, find_record, update_record
from clientele.errors import Conflict, Unprocessable
from clientele.events.models import events
from clientele.events.service import RETENTION, delete_in_batches, matching_types, readable_types
from clientele.listing.filters import boolean_column_filter, day_filter, ids_filter
from clientele.listing.spec import ListSpec
from clientele.web.validation import validate_body
from clientele.web.wire import RecordShape
from clientele.webhooks import destinations
from clientele.webhooks.models import webhook_attempts, webhook_deliveries, webhook_endpoints
from clientele.webhooks.schemas import (
    REQUIRED_ON_CREATE,
    AttemptOut,
    EndpointInput,
    EndpointOut,
    ReplayInput,
)

SECRET_PREFIX = "whsec_"
# Standard Webhooks asks for 24 to 64 bytes of key.
SECRET_BYTES = 32
# How long the secret a rotation replaced still signs each delivery beside the new one.
ROTATION_OVERLAP = timedelta(hours=24)
EVERY_EVENT = "*"

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
# In SQL as a literal, so that both engines use the partial indexes made for pending deliveries.
IS_PENDING = webhook_deliveries.c.status == literal_column(f"'{PENDING}'")
# Attempts, and deliveries no longer pending, are kept as long as events are.
LOG_RETENTION = RETENTION

LIST_SPEC = ListSpec(
    table=webhook_endpoints,
    filters={
        "id": ids_filter(webhook_endpoints.c.id.in_, "webhook endpoint id"),
        "enabled": boolean_column_filter(webhook_endpoints.c.enabled, "enabled"),
        "created_on": day_filter(webhook_endpoints.c.created_at, "created_on", "Created"),
        "updated_on": day_filter(webhook_endpoints.c.updated_at, "updated_on", "Last updated"),
    },
    sort_columns={"created_at": webhook_endpoints.c.created_at, "updated_at": webhook_endpoints.c.updated_at},
)
ATTEMPTS_SPEC = ListSpec(
    table=webhook_attempts,
    filters={
        "id": ids_filter(webhook_attempts.c.id.in_, "attempt id"),
        "event_id": ids_filter(webhook_attempts.c.event_id.in_, "event id"),
        "created_on": day_filter(webhook_attempts.c.created_at, "created_on", "Attempted"),
    },
    sort_columns={"created_at": webhook_attempts.c.created_at},
)
ENDPOINT_SHAPE = RecordShape(EndpointOut)
ATTEMPT_SHAPE = RecordShape(AttemptOut)


def endpoint_body(row: Any) -> dict[str, Any]:
    return ENDPOINT_SHAPE.body(row)


def attempt_body(row: Any) -> dict[str, Any]:
    return ATTEMPT_SHAPE.body(row)


def wanted_types(endpoint: Any) -> frozenset[str]:
    """The event types an endpoint is sent: those it asks for that its scopes may read."""
    return sent_types(endpoint.event_types, endpoint.scopes)


def sent_types(event_types: list[str], scopes: list[str]) -> frozenset[str]:
    return matching_types(",".join(event_types)) & readable_types(frozenset(scopes))


def require_some_event(event_types: list[str], scopes: list[str]) -> None:
    """422 on `event_types` for an endpoint that would never be sent anything: none of the types it asks
    for is of records its scopes read."""
    if not sent_types(event_types, scopes):
        sentence = (
            "The endpoint's read scopes show none of these events: it is sent only events of records they "
            "read (customers.get for customer and address events, general.read for tags and zones, "
            "customers.accounts.read and customers.loyalty.read for the ledgers, customers.list for imports)."
        )
        raise Unprocessable({"event_types": [sentence]})


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


async def find_endpoint(
    *, connection: AsyncConnection, business_id: uuid.UUID, endpoint_id: str, for_update: bool = False
) -> Row[Any]:
    """The business's endpoint with this id; 404 for anything else."""
    return await find_record(
        connection=connection,
        table=webhook_endpoints,
        business_id=business_id,
        record_id=endpoint_id,
        missing="Webhook endpoint not found.",
        for_update=for_update,
    )


async def checked_destination(url: str, *, allow_private: bool) -> None:
    """422 on `url` where its host does not resolve, or resolves inside the network."""
    try:
        await destinations.resolve(url, allow_private=allow_private)
    except destinations.Refused as refused:
        raise Unprocessable({"url": [str(refused)]}) from None


async def create_endpoint(
    *, connection: AsyncConnection, principal: Principal, body: dict[str, Any], allow_private: bool
) -> tuple[Row[Any], str]:
    """A new endpoint with the creating token's read scopes, and its secret (shown only now)."""
    parsed = validate_body(EndpointInput, body, required=REQUIRED_ON_CREATE, context={"allow_private": allow_private})
    assert parsed.url is not None
    event_types = parsed.event_types or [EVERY_EVENT]
    scopes = [scope for scope in READ_SCOPES if scope in principal.scopes]
    require_some_event(event_types, scopes)
    await checked_destination(parsed.url, allow_private=allow_private)
    now = utcnow()
    endpoint_id = new_id()
    secret = new_secret()
    await connection.execute(
        insert(webhook_endpoints).values(
            business_id=principal.business_id,
            id=endpoint_id,
            url=parsed.url,
            event_types=event_types,
            description=parsed.description,
            enabled=parsed.enabled is not False,
            scopes=scopes,
            secret=secret,
            created_at=now,
            updated_at=now,
        )
    )
    row = await find_endpoint(connection=connection, business_id=principal.business_id, endpoint_id=str(endpoint_id))
    return row, secret


async def update_endpoint(
    *, connection: AsyncConnection, row: Row[Any], body: dict[str, Any], allow_private: bool
) -> Row[Any]:
    """Change the fields sent. Disabling fails the endpoint's pending deliveries; enabling clears
    `disabled_reason` and the endpoint's failure streak."""
    parsed = validate_body(EndpointInput, body, context={"allow_private": allow_private})
    changes = changed_values(row, parsed.model_dump(exclude_unset=True))
    if "event_types" in changes:
        require_some_event(changes["event_types"], row.scopes)
    if "url" in changes:
        await checked_destination(changes["url"], allow_private=allow_private)
    if changes.get("enabled") is True:
        changes |= {"disabled_reason": None, "failing_since": None}
    if not changes:
        return row
    if changes.get("enabled") is False:
        await fail_pending(connection=connection, business_id=row.business_id, endpoint_id=row.id)
    return await update_record(connection=connection, table=webhook_endpoints, row=row, values=changes)


async def delete_endpoint(*, connection: AsyncConnection, row: Row[Any]) -> None:
    """Gone at once, with its deliveries and log (cascade): nothing more is sent to it."""
    await connection.execute(
        delete(webhook_endpoints).where(
            webhook_endpoints.c.business_id == row.business_id, webhook_endpoints.c.id == row.id
        )
    )


async def rotate_secret(*, connection: AsyncConnection, row: Row[Any]) -> tuple[Row[Any], str]:
    """A new secret; the one it replaces signs beside it for 24 hours (a secret replaced earlier stops at once)."""
    secret = new_secret()
    changed = await update_record(
        connection=connection,
        table=webhook_endpoints,
        row=row,
        values={
            "secret": secret,
            "previous_secret": row.secret,
            "previous_secret_expires_at": utcnow() + ROTATION_OVERLAP,
        },
    )
    return changed, secret


async def replay(*, connection: AsyncConnection, row: Row[Any], body: dict[str, Any]) -> int:
    """New deliveries of the events named (`event_ids`) or of the endpoint's types since a time; how many."""
    parsed = validate_body(ReplayInput, body)
    if (parsed.since is None) == (parsed.event_ids is None):
        sentence = "Send either since or event_ids."
        raise Unprocessable({"since": [sentence], "event_ids": [sentence]})
    if not row.enabled:
        raise Conflict("The webhook endpoint is disabled: enable it before replaying events.")
    chosen = select(events.c.id, events.c.type, events.c.record_id, events.c.created_at).where(
        events.c.business_id == row.business_id
    )
    if parsed.event_ids is not None:
        ids = [uuid.UUID(event_id) for event_id in parsed.event_ids]
        found = list(await connection.execute(chosen.where(events.c.id.in_(ids))))
        missing = set(ids) - {event.id for event in found}
        if missing:
            sentence = f"The selected event_ids is invalid: {min(map(str, missing))} is not an event of the business."
            raise Unprocessable({"event_ids": [sentence]})
        unreadable = sorted(str(event.id) for event in found if event.type not in readable_types(frozenset(row.scopes)))
        if unreadable:
            sentence = f"The endpoint's scopes do not show event {unreadable[0]}."
            raise Unprocessable({"event_ids": [sentence]})
    else:
        assert parsed.since is not None
        found = list(
            await connection.execute(
                chosen.where(events.c.created_at >= parsed.since, events.c.type.in_(wanted_types(row))).order_by(
                    events.c.created_at, events.c.id
                )
            )
        )
    await queue_deliveries(
        connection=connection,
        endpoint=row,
        events_found=[(event.id, event.record_id, event.created_at) for event in found],
        now=utcnow(),
    )
    return len(found)


QUEUED_COLUMNS = (
    "business_id",
    "id",
    "endpoint_id",
    "event_id",
    "record_id",
    "event_created_at",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)


async def queue_deliveries(
    *,
    connection: AsyncConnection,
    endpoint: Any,
    events_found: list[tuple[uuid.UUID, uuid.UUID | None, datetime]],
    now: datetime,
) -> None:
    """One pending delivery, due now, of each of these events (id, record, created_at) to the endpoint."""
    await copy_rows(
        connection,
        webhook_deliveries,
        QUEUED_COLUMNS,
        [
            (endpoint.business_id, new_id(), endpoint.id, event_id, record_id, created_at, PENDING, 0, now, now)
            for event_id, record_id, created_at in events_found
        ],
    )


async def fail_pending(*, connection: AsyncConnection, business_id: uuid.UUID, endpoint_id: uuid.UUID) -> None:
    """A disabled endpoint's pending deliveries are failed (replayable): nothing waits for it."""
    await connection.execute(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.business_id == business_id,
            webhook_deliveries.c.endpoint_id == endpoint_id,
            IS_PENDING,
        )
        .values(status=FAILED, next_attempt_at=None, claimed_until=None)
    )


async def disable(
    *, connection: AsyncConnection, business_id: uuid.UUID, endpoint_id: uuid.UUID, reason: str, now: datetime
) -> None:
    """Disable an endpoint for `reason` (Clientele's own decision), failing its pending deliveries."""
    this_endpoint = (webhook_endpoints.c.business_id == business_id, webhook_endpoints.c.id == endpoint_id)
    updated_at = await connection.scalar(
        select(webhook_endpoints.c.updated_at).where(*this_endpoint, webhook_endpoints.c.enabled.is_(True))
    )
    if updated_at is None:
        return
    await connection.execute(
        update(webhook_endpoints)
        .where(*this_endpoint)
        # A new version (ETag), after the one a client may hold, whatever the deliverer's clock says.
        .values(enabled=False, disabled_reason=reason, updated_at=max(now, updated_at + timedelta(microseconds=1)))
    )
    await fail_pending(connection=connection, business_id=business_id, endpoint_id=endpoint_id)


async def purge_expired_log(*, engine: AsyncEngine, now: datetime) -> int:
    """Delete the attempts, and the deliveries no longer pending, made more than 30 days before `now`
    (their events are gone by then, so nothing could be replayed from them), an endpoint and a batch at
    a time, each batch its own transaction; how many rows were deleted."""
    cutoff = now - LOG_RETENTION
    e, d, a = webhook_endpoints, webhook_deliveries, webhook_attempts

    def finished(business_id: Any, endpoint_id: Any) -> Select[Any]:
        return select(d.c.id).where(
            d.c.business_id == business_id, d.c.endpoint_id == endpoint_id, d.c.created_at < cutoff, ~IS_PENDING
        )

    def attempted(business_id: Any, endpoint_id: Any) -> Select[Any]:
        return select(a.c.id).where(
            a.c.business_id == business_id, a.c.endpoint_id == endpoint_id, a.c.created_at < cutoff
        )

    async with engine.connect() as connection:
        # One statement, two index probes per endpoint: a purge visits only the endpoints it deletes from.
        holding = select(e.c.business_id, e.c.id).where(
            or_(exists(finished(e.c.business_id, e.c.id)), exists(attempted(e.c.business_id, e.c.id)))
        )
        endpoints = list(await connection.execute(holding))
    deleted = 0
    for business_id, endpoint_id in endpoints:
        deleted += await delete_in_batches(engine, d, business_id, finished(business_id, endpoint_id))
        deleted += await delete_in_batches(engine, a, business_id, attempted(business_id, endpoint_id))
    return deleted
