"""Fixtures for the idempotency tests: what is stored per business, and keys made older than they are."""

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Table, func, select, update

from clientele.db.clock import utcnow
from clientele.web.idempotency import KEY_HEADER, idempotency_keys
from tests.conftest import run_statement

CountStored = Callable[[Table, uuid.UUID], int]


def keyed(key: str) -> dict[str, str]:
    return {KEY_HEADER: key}


@pytest.fixture
def count_stored(client: TestClient) -> CountStored:
    """`count_stored(customers, business_id)`: how many rows of the table that business has, deleted or not."""

    def count(table: Table, business_id: uuid.UUID) -> int:
        [row] = run_statement(
            client, select(func.count().label("n")).select_from(table).where(table.c.business_id == business_id)
        )
        return row["n"]

    return count


@pytest.fixture
def stored_keys(client: TestClient) -> Callable[[uuid.UUID], set[str]]:
    """`stored_keys(business_id)`: the idempotency keys the database holds for the business."""

    def keys(business_id: uuid.UUID) -> set[str]:
        k = idempotency_keys.c
        return {row["key"] for row in run_statement(client, select(k.key).where(k.business_id == business_id))}

    return keys


@pytest.fixture
def age_key(client: TestClient) -> Callable[[uuid.UUID, str, timedelta], None]:
    """`age_key(business_id, key, timedelta(hours=25))`: the key as if first sent that long ago."""

    def age(business_id: uuid.UUID, key: str, by: timedelta) -> None:
        k = idempotency_keys.c
        run_statement(
            client,
            update(idempotency_keys).where(k.business_id == business_id, k.key == key).values(created_at=utcnow() - by),
        )

    return age
