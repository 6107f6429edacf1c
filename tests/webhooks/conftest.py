"""Fixtures for webhook tests: endpoints made through the API, an app that takes local URLs, a receiver, and a
deliverer on a clock the tests move."""

import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from clientele.app import create_app
from clientele.config import Settings
from clientele.db.clock import utcnow
from clientele.events.models import events
from clientele.webhooks.deliverer import Deliverer
from clientele.webhooks.models import webhook_deliveries
from tests.conftest import Api, new_business, new_token, run_statement
from tests.webhooks.receiver import Receiver

T = TypeVar("T")

# A public address written as such, so that no test needs DNS: IANA's example.com.
PUBLIC_URL = "https://93.184.215.14/hooks"


def make_endpoint(api: Api, **fields: Any) -> dict[str, Any]:
    """A new endpoint (its answer, with the secret) of the api's business."""
    response = api.post("/webhook_endpoints", json={"url": PUBLIC_URL} | fields)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def attempts(api: Api, endpoint: dict[str, Any], **params: str) -> list[dict[str, Any]]:
    """The endpoint's attempts log (up to 100), with these query parameters."""
    response = api.get(f"/webhook_endpoints/{endpoint['id']}/deliveries", params={"per_page": "100"} | params)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


class Clock:
    """The deliverer's clock, which moves only when a test moves it (from the real time it starts at)."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def local_client(settings: Settings) -> Iterator[TestClient]:
    """An app that takes webhook URLs on 127.0.0.1 (WEBHOOK_ALLOW_PRIVATE_NETWORKS=1), where receivers listen."""
    app = create_app(dataclasses.replace(settings, webhook_allow_private_networks=True))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def quiet_outbox(local_client: TestClient) -> None:
    """Every earlier test's events handed out and deliveries settled, so that a test's deliverer sends only its own."""
    run_statement(local_client, update(events).where(events.c.dispatched_at.is_(None)).values(dispatched_at=utcnow()))
    run_statement(
        local_client,
        update(webhook_deliveries).where(webhook_deliveries.c.status == "pending").values(status="failed"),
    )


@pytest.fixture
def local_api(local_client: TestClient, quiet_outbox: None) -> Api:
    """A new business's client, with every scope, of the app that takes local webhook URLs."""
    business_id = new_business(local_client)
    return Api(local_client, new_token(local_client, business_id).token, business_id)


@pytest.fixture
def local_api_with(local_api: Api) -> Callable[..., Api]:
    """`local_api_with("webhooks.manage", …)`: the local business's client with exactly these scopes."""
    return lambda *scopes: Api(
        local_api.client, new_token(local_api.client, local_api.business_id, scopes).token, local_api.business_id
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()


class Delivering:
    """A deliverer on the local app's engine and event loop, on the test's clock, without jitter."""

    def __init__(self, client: TestClient, clock: Clock, *, allow_private: bool = True) -> None:
        self.client = client
        self.deliverer = Deliverer(
            engine=client.app.state.engine,  # type: ignore[attr-defined]
            allow_private=allow_private,
            clock=clock,
            jitter=lambda: 1.0,
        )

    def call(self, work: Callable[[], Awaitable[T]]) -> T:
        return self.client.portal.call(work)  # type: ignore[union-attr]

    def run_once(self) -> int:
        return self.call(self.deliverer.run_once)

    def until_idle(self) -> None:
        """Run until nothing is due now."""
        while self.run_once():
            pass


@pytest.fixture
def delivering(local_client: TestClient, clock: Clock) -> Iterator[Delivering]:
    running = Delivering(local_client, clock)
    yield running
    running.call(running.deliverer.aclose)
