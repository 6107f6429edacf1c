"""Fixtures for webhook tests: endpoints made through the API, and events written as the outbox writes them."""

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from clientele.db.clock import utcnow
from clientele.db.ids import new_id
from clientele.events.models import events
from tests.conftest import Api, run_statement

# A public address written as such, so that no test needs DNS: IANA's example.com.
PUBLIC_URL = "https://93.184.215.14/hooks"


def make_endpoint(api: Api, **fields: Any) -> dict[str, Any]:
    """A new endpoint (its answer, with the secret) of the api's business."""
    response = api.post("/webhook_endpoints", json={"url": PUBLIC_URL} | fields)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


@pytest.fixture
def add_event(client: TestClient) -> Callable[..., uuid.UUID]:
    """`add_event(business_id, "customer.updated", record_id=…)`: an outbox row, as a committed change writes it."""

    def write(
        business_id: uuid.UUID,
        event_type: str = "customer.created",
        *,
        record_id: uuid.UUID | None = None,
        data: dict[str, Any] | None = None,
        created_at: datetime | None = None,
    ) -> uuid.UUID:
        event_id = new_id()
        run_statement(
            client,
            insert(events).values(
                business_id=business_id,
                id=event_id,
                type=event_type,
                record_id=record_id,
                created_at=created_at or utcnow(),
                data=data or {"id": str(record_id) if record_id else None},
                changes=None,
            ),
        )
        return event_id

    return write
