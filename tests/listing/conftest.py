"""Fixtures for list tests: store values that no API call lets a client set.

Statements go through SQLAlchemy Core on the app's own engine, so ids and timestamps are
bound in each engine's stored form (32-digit hex and text on SQLite, native types on
PostgreSQL) without the tests knowing which engine runs.
"""

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Executable, Table, event, update


def execute(client: TestClient, statement: Executable) -> None:
    """Run one statement in its own committed transaction, on the app's engine and event loop."""

    async def in_transaction() -> None:
        async with client.app.state.engine.begin() as connection:  # type: ignore[attr-defined]
            await connection.execute(statement)

    client.portal.call(in_transaction)  # type: ignore[union-attr]


@pytest.fixture
def overwrite(client: TestClient) -> Callable[..., None]:
    """`overwrite(customers, customer["id"], order_count=3)`: set stored columns of one row."""

    def write(table: Table, record_id: str, **values: Any) -> None:
        execute(client, update(table).where(table.c.id == uuid.UUID(record_id)).values(**values))

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
