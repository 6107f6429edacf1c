"""Fixtures for the address tests: addresses as the database holds them."""

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from clientele.addresses.models import addresses
from tests.conftest import run_statement


@pytest.fixture
def stored_address(stored_row: Callable[..., dict[str, Any]]) -> Callable[[str], dict[str, Any]]:
    """`stored_address(id)`: the address's row as stored (timestamps to the microsecond)."""
    return partial(stored_row, addresses)


@pytest.fixture
def addresses_named(client: TestClient) -> Callable[[str], int]:
    """`addresses_named(name)`: how many addresses are stored under this name, in any business."""

    def count(name: str) -> int:
        [row] = run_statement(client, select(func.count().label("n")).where(addresses.c.name == name))
        return row["n"]

    return count


@pytest.fixture
def overwrite_address(overwrite: Callable[..., None]) -> Callable[..., None]:
    """`overwrite_address(id, updated_at=…)`: set stored columns no API call lets a client set."""
    return partial(overwrite, addresses)
