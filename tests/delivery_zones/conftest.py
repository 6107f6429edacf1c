"""Fixtures for the delivery zone tests: a valid ring, and zones as the database holds them."""

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from clientele.delivery_zones.models import delivery_zones
from tests.conftest import run_statement


@pytest.fixture
def ring() -> list[list[float]]:
    """A closed ring around central Riyadh: four corners and the first again."""
    return [[46.60, 24.60], [46.80, 24.60], [46.80, 24.80], [46.60, 24.80], [46.60, 24.60]]


@pytest.fixture
def stored_zone(stored_row: Callable[..., dict[str, Any]]) -> Callable[[str], dict[str, Any]]:
    """`stored_zone(id)`: the zone's row as stored (timestamps to the microsecond)."""
    return partial(stored_row, delivery_zones)


@pytest.fixture
def zones_named(client: TestClient) -> Callable[[str], int]:
    """`zones_named(name)`: how many zones are stored under this name, in any business."""

    def count(name: str) -> int:
        [row] = run_statement(client, select(func.count().label("n")).where(delivery_zones.c.name == name))
        return row["n"]

    return count


@pytest.fixture
def overwrite_zone(overwrite: Callable[..., None]) -> Callable[..., None]:
    """`overwrite_zone(id, updated_at=…)`: set stored columns no API call lets a client set."""
    return partial(overwrite, delivery_zones)
