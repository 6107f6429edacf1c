"""Fixtures for the event tests: the events a business has stored, and every page of `GET /events`."""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.events.models import events
from clientele.events.service import record_event
from tests.conftest import Api, run_statement


def stored_events(client: TestClient, business_id: uuid.UUID) -> list[dict[str, Any]]:
    """The business's event rows, in the order they were written."""
    return run_statement(
        client,
        select(events).where(events.c.business_id == business_id).order_by(events.c.created_at, events.c.id),
    )


@pytest.fixture
def written(client: TestClient, api: Api) -> Callable[[], list[dict[str, Any]]]:
    """`written()`: the test business's events written since the last call (its first call: all of them)."""
    seen: set[uuid.UUID] = set()

    def new_ones() -> list[dict[str, Any]]:
        rows = [row for row in stored_events(client, api.business_id) if row["id"] not in seen]
        seen.update(row["id"] for row in rows)
        return rows

    return new_ones


def walk(api: Api, path: str = "/events", **params: Any) -> list[dict[str, Any]]:
    """Every event `GET /events` lists with these parameters, by `next_cursor` until no next page."""
    listed: list[dict[str, Any]] = []
    while True:
        response = api.get(path, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        listed.extend(body["data"])
        if body["links"]["next"] is None:
            return listed
        params = params | {"cursor": body["meta"]["next_cursor"]}


@contextmanager
def uncommitted_event(client: TestClient, api: Api, data: dict[str, Any]) -> Iterator[None]:
    """A `customers.imported` event of the api's business, written in a transaction left open for the block
    and committed after it: an event stamped before the ones written meanwhile, and committed after them."""
    held: dict[str, AsyncConnection] = {}

    async def begin_writing() -> None:
        connection = await client.app.state.engine.connect()  # type: ignore[attr-defined]
        await connection.begin()
        await record_event(
            connection=connection, business_id=api.business_id, type="customers.imported", record_id=None, data=data
        )
        held["connection"] = connection

    async def commit() -> None:
        await held["connection"].commit()
        await held["connection"].close()

    client.portal.call(begin_writing)  # type: ignore[union-attr]
    try:
        yield
    finally:
        client.portal.call(commit)  # type: ignore[union-attr]
