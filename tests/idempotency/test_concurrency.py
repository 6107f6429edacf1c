"""Concurrent requests with one key: one runs, the others get its response (or 409); never two records.

Against a real `clientele serve` process, so that the requests truly overlap in the server. On SQLite
write transactions run one at a time; on PostgreSQL the test can also hold the first request inside its
transaction and show that the others wait for it.
"""

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, text

from clientele.customers.models import customers
from clientele.db.clock import utcnow
from clientele.db.engine import create_engine
from clientele.db.ids import new_id
from clientele.web.idempotency import KEY_IN_FLIGHT, REPLAYED_HEADER, idempotency_keys
from tests.cli.processes import Server, serving
from tests.conftest import Api, next_phone
from tests.idempotency.conftest import CountStored, keyed

# The server's pool holds as many connections, so that all of them can be seen waiting on locks.
CONCURRENT_REQUESTS = 20
WAITERS_DEADLINE_SECONDS = 30


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(
        database_url, tmp_path_factory.mktemp("idempotency"), settings={"DATABASE_POOL_SIZE": str(CONCURRENT_REQUESTS)}
    ) as [running]:
        yield running


@pytest.fixture
def on_postgresql(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one write transaction at a time: no request is ever seen in flight")
    return database_url


async def send_together(server: Server, api: Api, body: dict[str, Any], key: str) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=server.base_url, headers=api.headers(keyed(key)), timeout=60) as client:
        return await asyncio.gather(*(client.post("/customers", json=body) for _ in range(CONCURRENT_REQUESTS)))


def assert_one_ran_and_the_rest_replayed_or_conflicted(responses: list[httpx.Response]) -> None:
    assert len(responses) == CONCURRENT_REQUESTS
    created = [response for response in responses if response.status_code == 201]
    conflicts = [response for response in responses if response.status_code == 409]
    assert len(created) + len(conflicts) == CONCURRENT_REQUESTS, [response.status_code for response in responses]
    [ran] = [response for response in created if REPLAYED_HEADER not in response.headers]
    for replayed in created:
        assert (replayed.content, replayed.headers["location"]) == (ran.content, ran.headers["location"])
    for conflict in conflicts:
        assert conflict.json()["message"] == KEY_IN_FLIGHT


def test_concurrent_requests_with_one_key_create_one_record(
    server: Server, api: Api, count_stored: CountStored
) -> None:
    body = {"name": "Racing", "dial_code": 966, "phone": next_phone()}

    responses = asyncio.run(send_together(server, api, body, "race-1"))

    assert_one_ran_and_the_rest_replayed_or_conflicted(responses)
    assert count_stored(customers, api.business_id) == 1


def test_requests_with_a_key_in_flight_wait_for_it_and_replay_its_response(
    server: Server, api: Api, count_stored: CountStored, on_postgresql: str
) -> None:
    phone = next_phone()
    body = {"name": "Held", "dial_code": 966, "phone": phone}

    async def race() -> list[httpx.Response]:
        engine = create_engine(on_postgresql)
        try:
            async with engine.connect() as holder, engine.connect() as observer:
                observer = await observer.execution_options(isolation_level="AUTOCOMMIT")
                # An uncommitted customer with the same phone: whichever request claims the key first
                # stops at the phone's unique index, inside its transaction, until this one ends.
                held = await holder.begin()
                now = utcnow()
                await holder.execute(
                    insert(customers).values(
                        business_id=api.business_id,
                        id=new_id(),
                        name="Holder",
                        dial_code=966,
                        phone=phone,
                        created_at=now,
                        updated_at=now,
                    )
                )
                sent = asyncio.create_task(send_together(server, api, body, "race-2"))
                await every_request_waiting_on_a_lock(observer, sent)
                await held.rollback()
                return await sent
        finally:
            await engine.dispose()

    responses = asyncio.run(race())

    assert_one_ran_and_the_rest_replayed_or_conflicted(responses)
    assert count_stored(customers, api.business_id) == 1


async def every_request_waiting_on_a_lock(observer: Any, sent: asyncio.Task[Any]) -> None:
    """Return once every request is blocked in the database: one on the phone, the rest on the key."""
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = asyncio.get_running_loop().time() + WAITERS_DEADLINE_SECONDS
    while await observer.scalar(waiting) < CONCURRENT_REQUESTS:
        assert not sent.done(), "a request finished while the first one was still held"
        assert asyncio.get_running_loop().time() < deadline, "the requests never all waited"
        await asyncio.sleep(0.05)


def test_a_request_waits_a_bounded_time_for_a_key_in_flight_then_gets_409(
    api: Api, count_stored: CountStored, on_postgresql: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("clientele.web.idempotency.IN_FLIGHT_WAIT_MS", 200)
    body = {"name": "Too slow", "dial_code": 966, "phone": next_phone()}
    answers: list[httpx.Response] = []

    async def hold_the_key_while_a_request_comes() -> None:
        engine = create_engine(on_postgresql)
        try:
            async with engine.connect() as holder:
                held = await holder.begin()
                await holder.execute(
                    insert(idempotency_keys).values(
                        business_id=api.business_id, key="slow", fingerprint="0" * 64, created_at=utcnow()
                    )
                )
                request = threading.Thread(
                    target=lambda: answers.append(api.post("/customers", json=body, headers=keyed("slow")))
                )
                request.start()
                await asyncio.to_thread(request.join, 30)
                await held.rollback()
        finally:
            await engine.dispose()

    asyncio.run(hold_the_key_while_a_request_comes())
    retried = api.post("/customers", json=body, headers=keyed("slow"))

    [refused] = answers
    assert refused.status_code == 409, refused.text
    assert (refused.json(), refused.headers["retry-after"]) == ({"message": KEY_IN_FLIGHT}, "1")
    # The first request never finished, so the key is free again and the retry runs.
    assert retried.status_code == 201, retried.text
    assert REPLAYED_HEADER not in retried.headers
    assert count_stored(customers, api.business_id) == 1
