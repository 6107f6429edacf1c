"""Fixtures for the address tests: addresses as the database holds them, and statement counts.

Statements go through SQLAlchemy Core on the app's own engine, so ids are bound in each
engine's stored form without the tests knowing which engine runs.
"""

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, update

from clientele.addresses.models import addresses


def run(client: TestClient, statement: Any) -> list[dict[str, Any]]:
    """Run one statement in its own transaction on the app's engine and event loop; rows it returns."""

    async def in_transaction() -> list[dict[str, Any]]:
        async with client.app.state.engine.begin() as connection:  # type: ignore[attr-defined]
            result = await connection.execute(statement)
            return [dict(row._mapping) for row in result] if result.returns_rows else []

    return client.portal.call(in_transaction)  # type: ignore[union-attr]


@pytest.fixture
def stored_address(client: TestClient) -> Callable[[str], dict[str, Any]]:
    """`stored_address(id)`: the address's row as stored (timestamps to the microsecond)."""

    def read(address_id: str) -> dict[str, Any]:
        [row] = run(client, select(addresses).where(addresses.c.id == uuid.UUID(address_id)))
        return row

    return read


@pytest.fixture
def addresses_named(client: TestClient) -> Callable[[str], int]:
    """`addresses_named(name)`: how many addresses are stored under this name, in any business."""

    def count(name: str) -> int:
        [row] = run(client, select(func.count().label("n")).where(addresses.c.name == name))
        return row["n"]

    return count


@pytest.fixture
def overwrite_address(client: TestClient) -> Callable[..., None]:
    """`overwrite_address(id, updated_at=…)`: set stored columns no API call lets a client set."""

    def write(address_id: str, **values: Any) -> None:
        run(client, update(addresses).where(addresses.c.id == uuid.UUID(address_id)).values(**values))

    return write


@pytest.fixture
def statement_count(client: TestClient) -> Iterator[Callable[[Callable[[], Any]], int]]:
    """`statement_count(lambda: api.get(...))`: how many SQL statements the call sent."""
    engine = client.app.state.engine.sync_engine  # type: ignore[attr-defined]
    sent: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    def count(call: Callable[[], Any]) -> int:
        sent.clear()
        call()
        return len(sent)

    event.listen(engine, "before_cursor_execute", record)
    yield count
    event.remove(engine, "before_cursor_execute", record)
