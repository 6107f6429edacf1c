"""Fixtures for the delivery zone tests: a valid ring, and zones as the database holds them.

Statements go through SQLAlchemy Core on the app's own engine, so ids and timestamps are
bound in each engine's stored form without the tests knowing which engine runs.
"""

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from clientele.delivery_zones.models import delivery_zones


@pytest.fixture
def ring() -> list[list[float]]:
    """A closed ring around central Riyadh: four corners and the first again."""
    return [[46.60, 24.60], [46.80, 24.60], [46.80, 24.80], [46.60, 24.80], [46.60, 24.60]]


def run(client: TestClient, statement: Any) -> list[dict[str, Any]]:
    """Run one statement in its own transaction on the app's engine and event loop; rows it returns."""

    async def in_transaction() -> list[dict[str, Any]]:
        async with client.app.state.engine.begin() as connection:  # type: ignore[attr-defined]
            result = await connection.execute(statement)
            return [dict(row._mapping) for row in result] if result.returns_rows else []

    return client.portal.call(in_transaction)  # type: ignore[union-attr]


@pytest.fixture
def stored_zone(client: TestClient) -> Callable[[str], dict[str, Any]]:
    """`stored_zone(id)`: the zone's row as stored (timestamps to the microsecond)."""

    def read(zone_id: str) -> dict[str, Any]:
        [row] = run(client, select(delivery_zones).where(delivery_zones.c.id == uuid.UUID(zone_id)))
        return row

    return read


@pytest.fixture
def zones_named(client: TestClient) -> Callable[[str], int]:
    """`zones_named(name)`: how many zones are stored under this name, in any business."""

    def count(name: str) -> int:
        [row] = run(client, select(func.count().label("n")).where(delivery_zones.c.name == name))
        return row["n"]

    return count


@pytest.fixture
def overwrite_zone(client: TestClient) -> Callable[..., None]:
    """`overwrite_zone(id, updated_at=…)`: set stored columns no API call lets a client set."""

    def write(zone_id: str, **values: Any) -> None:
        run(client, update(delivery_zones).where(delivery_zones.c.id == uuid.UUID(zone_id)).values(**values))

    return write
