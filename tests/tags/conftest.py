"""Fixtures for tag tests: tag rows as stored, read and written past the API."""

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Executable, insert, select, update

from clientele.database import utcnow
from clientele.tags.models import tags
from clientele.wire import new_id


def run(client: TestClient, statement: Executable) -> list[dict[str, Any]]:
    """Run one statement in its own committed transaction, on the app's engine and event loop."""

    async def in_transaction() -> list[dict[str, Any]]:
        async with client.app.state.engine.begin() as connection:  # type: ignore[attr-defined]
            result = await connection.execute(statement)
            return [dict(row._mapping) for row in result] if result.returns_rows else []

    return client.portal.call(in_transaction)  # type: ignore[union-attr]


@pytest.fixture
def stored_tag(client: TestClient) -> Callable[[str], dict[str, Any]]:
    """`stored_tag(tag["id"])`: the tag's row, timestamps at their stored precision."""

    def read(tag_id: str) -> dict[str, Any]:
        [row] = run(client, select(tags).where(tags.c.id == uuid.UUID(tag_id)))
        return row

    return read


@pytest.fixture
def insert_tag(client: TestClient) -> Callable[..., None]:
    """`insert_tag(business_id, name)`: store a tag directly, as a request racing the API's would."""

    def write(business_id: uuid.UUID, name: str, **values: Any) -> None:
        now = utcnow()
        run(client, insert(tags).values(business_id=business_id, id=new_id(), name=name, created_at=now,
                                        updated_at=now, **values))

    return write


@pytest.fixture
def overwrite_tag(client: TestClient) -> Callable[..., None]:
    """`overwrite_tag(tag["id"], updated_at=…)`: set stored columns no API call can set."""

    def write(tag_id: str, **values: Any) -> None:
        run(client, update(tags).where(tags.c.id == uuid.UUID(tag_id)).values(**values))

    return write
