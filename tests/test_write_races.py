"""A write that races a delete of the same record sees the delete (PostgreSQL row locks), and of
two racing restores that would share a unique value one wins (the partial unique index).

SQLite runs one write transaction at a time, so only PostgreSQL can interleave these.
"""

import asyncio
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Table, update

from clientele.customers.models import customers
from clientele.db.clock import utcnow
from clientele.db.engine import create_engine
from clientele.delivery_zones.models import delivery_zones
from clientele.tags.models import tags
from tests.conftest import Api


def delete_while_request_waits(database_url: str, table: Table, record_id: str, send: Callable[[], Any]) -> Any:
    """Lock the row and soft-delete it in another transaction while `send()` runs, then commit."""
    answers: list[Any] = []

    async def race() -> None:
        engine = create_engine(database_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    update(table).where(table.c.id == uuid.UUID(record_id)).values(deleted_at=utcnow())
                )
                request = threading.Thread(target=lambda: answers.append(send()))
                request.start()
                # Long enough for the request to reach the row it must wait for.
                await asyncio.sleep(0.5)
            await asyncio.to_thread(request.join, 30)
        finally:
            await engine.dispose()

    asyncio.run(race())
    return answers[0]


@pytest.fixture
def on_postgresql(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises write transactions; there is no race to lose")
    return database_url


def test_an_update_racing_a_delete_is_refused_as_deleted(api: Api, on_postgresql: str) -> None:
    customer = api.make_customer(name="Before")

    response = delete_while_request_waits(
        on_postgresql,
        customers,
        customer["id"],
        lambda: api.put(f"/customers/{customer['id']}", json={"name": "After"}),
    )

    assert response.status_code == 409, response.text
    assert api.get(f"/customers/{customer['id']}").json()["data"]["name"] == "Before"


@pytest.mark.parametrize(
    "path, table, make", [("/tags", tags, Api.make_tag), ("/delivery_zones", delivery_zones, Api.make_zone)]
)
def test_a_general_update_racing_a_delete_is_refused_as_deleted(
    api: Api, on_postgresql: str, path: str, table: Table, make: Callable[..., Any]
) -> None:
    record = make(api)

    response = delete_while_request_waits(
        on_postgresql, table, record["id"], lambda: api.put(f"{path}/{record['id']}", json={"name": "After"})
    )

    assert response.status_code == 409, response.text


def test_a_branches_update_racing_a_delete_is_refused_and_keeps_the_branches(api: Api, on_postgresql: str) -> None:
    zone = api.make_zone(branches=[{"id": "kept"}])

    response = delete_while_request_waits(
        on_postgresql,
        delivery_zones,
        zone["id"],
        lambda: api.put(f"/delivery_zones/{zone['id']}", json={"branches": [{"id": "replaced"}]}),
    )

    assert response.status_code == 409, response.text
    shown = api.get(f"/delivery_zones/{zone['id']}", params={"include": "branches"}).json()["data"]
    assert shown["branches"] == [{"id": "kept"}]


def test_of_two_racing_restores_of_tags_named_alike_exactly_one_wins(api: Api, on_postgresql: str) -> None:
    deleted = []
    for _ in range(2):
        tag = api.make_tag(name="Racing")
        assert api.delete(f"/tags/{tag['id']}").status_code == 204
        deleted.append(tag["id"])
    answers: list[int] = []

    threads = [
        threading.Thread(target=lambda tag_id=tag_id: answers.append(api.put(f"/tags/{tag_id}/restore").status_code))
        for tag_id in deleted
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(answers) == [200, 409]
    assert [tag["name"] for tag in api.get("/tags").json()["data"]] == ["Racing"]
