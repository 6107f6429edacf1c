"""The deliverer's rows written and found in batches (`db.engine.copy_rows`, `db.ids.with_keys`), as
the database stores them, on both engines."""

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from clientele.db.clock import utcnow
from clientele.db.engine import copy_rows
from clientele.db.ids import new_id, with_keys
from clientele.webhooks.models import webhook_attempts
from tests.conftest import Api, new_business, new_token, run_in_app, run_statement
from tests.webhooks.conftest import make_endpoint


def attempt_row(business_id: uuid.UUID, endpoint_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "business_id": business_id,
        "id": new_id(),
        "endpoint_id": uuid.UUID(endpoint_id),
        "delivery_id": new_id(),
        "event_id": new_id(),
        "created_at": utcnow().replace(microsecond=123456),
        "status_code": None,
        "error": None,
        "duration_ms": 0,
        "result": "succeeded",
        "next_attempt_at": None,
    } | fields


def stored_attempts(api: Api, keys: list[tuple[uuid.UUID, uuid.UUID]]) -> list[dict[str, Any]]:
    found = run_statement(api.client, select(webhook_attempts).where(with_keys(webhook_attempts, keys)))
    return sorted(found, key=lambda row: row["id"])


def test_rows_inserted_together_are_stored_as_given(local_api: Api) -> None:
    endpoint = make_endpoint(local_api)
    later = utcnow().replace(microsecond=654321) + timedelta(minutes=5)
    rows = [
        attempt_row(local_api.business_id, endpoint["id"], status_code=204, duration_ms=12),
        attempt_row(
            local_api.business_id,
            endpoint["id"],
            error="Could not connect.",
            result="retrying",
            next_attempt_at=later,
        ),
        attempt_row(local_api.business_id, endpoint["id"], status_code=410, result="failed"),
    ]

    async def insert(connection: Any) -> None:
        await copy_rows(connection, webhook_attempts, tuple(rows[0]), [tuple(row.values()) for row in rows])

    run_in_app(local_api.client, insert)

    keys = [(row["business_id"], row["id"]) for row in rows]
    assert stored_attempts(local_api, keys) == sorted(rows, key=lambda row: row["id"])


def test_keys_find_exactly_the_listed_rows_across_businesses(local_api: Api) -> None:
    other_business = new_business(local_api.client)
    other = Api(local_api.client, new_token(local_api.client, other_business).token, other_business)
    mine, theirs = make_endpoint(local_api), make_endpoint(other)
    rows = [
        attempt_row(local_api.business_id, mine["id"]),
        attempt_row(local_api.business_id, mine["id"]),
        attempt_row(other_business, theirs["id"]),
        attempt_row(other_business, theirs["id"]),
    ]

    async def insert(connection: Any) -> None:
        await copy_rows(connection, webhook_attempts, tuple(rows[0]), [tuple(row.values()) for row in rows])

    run_in_app(local_api.client, insert)

    listed = [rows[0], rows[3]]
    found = stored_attempts(local_api, [(row["business_id"], row["id"]) for row in listed])
    assert [(row["business_id"], row["id"]) for row in found] == sorted(
        [(row["business_id"], row["id"]) for row in listed], key=lambda key: key[1]
    )
