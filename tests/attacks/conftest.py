"""What the suites that attack Clientele share: tenants to send requests to a server process as,
every row a business holds, and the webhook suites' fixtures."""

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from clientele.addresses.models import addresses
from clientele.customers.models import customers
from clientele.delivery_zones.models import delivery_zone_branches, delivery_zones
from clientele.events.models import events
from clientele.ledgers.models import house_account_transactions, loyalty_transactions
from clientele.tags.models import customer_tags, tags
from tests.cli.processes import Server, serving
from tests.conftest import Api, new_business, new_token, run_statement

# The webhook suites' fixtures (an app that takes local URLs, a receiver, a deliverer on a clock the test
# moves), for the attacks on delivery.
from tests.webhooks.conftest import clock, delivering, local_api, local_client, quiet_outbox, receiver  # noqa: F401

BUSINESS_TABLES = (
    customers,
    tags,
    customer_tags,
    delivery_zones,
    delivery_zone_branches,
    addresses,
    house_account_transactions,
    loyalty_transactions,
    events,
)
# A bound no healthy request comes near, so that a hang shows as a failure instead of a stuck suite.
REQUEST_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Tenant:
    """A business and an all-scope token for it, to talk to a server process with."""

    business_id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, server: Server, **options: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=server.base_url, headers=self.headers, timeout=REQUEST_TIMEOUT_SECONDS, **options
        )


def new_tenant(client: TestClient, name: str = "Attacked business") -> Tenant:
    business_id = new_business(client, name)
    return Tenant(business_id, new_token(client, business_id).token)


def api_of(client: TestClient, tenant: Tenant) -> Api:
    """The in-process client, as this tenant: to set up and read back what a race left."""
    return Api(client, tenant.token, tenant.business_id)


@pytest.fixture
def tenant(client: TestClient) -> Tenant:
    return new_tenant(client)


def stored_snapshot(client: TestClient, business_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    """Every row the business holds, in every table a request can write, as the database holds them."""
    return {
        table.name: run_statement(
            client, select(table).where(table.c.business_id == business_id).order_by(*table.primary_key.columns)
        )
        for table in BUSINESS_TABLES
    }


def db_path(database_url: str) -> Path | None:
    """The SQLite file behind a `sqlite:///` URL; None for PostgreSQL."""
    return Path(database_url.removeprefix("sqlite:///")) if database_url.startswith("sqlite") else None


Request = tuple[str, str, dict[str, Any] | None]
"""(method, path, JSON body)."""


@pytest.fixture(scope="module")
def live_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`clientele serve --workers 2` on the suite's database, shared by the module's races."""
    with serving(database_url, tmp_path_factory.mktemp("serve"), "--workers", "2") as [server]:
        yield server


async def send_together(server: Server, sends: list[tuple[Tenant, Request]]) -> list[httpx.Response]:
    """Every request on its own connection, all in flight at once."""
    async with httpx.AsyncClient(
        base_url=server.base_url, timeout=60, limits=httpx.Limits(max_connections=len(sends))
    ) as http:
        return await asyncio.gather(
            *(http.request(method, path, json=body, headers=tenant.headers) for tenant, (method, path, body) in sends)
        )


def race(server: Server, sends: list[tuple[Tenant, Request]]) -> list[httpx.Response]:
    """Send every request at once to a real server process; the responses, in the order of `sends`."""
    responses = asyncio.run(send_together(server, sends))
    print(f"race: {len(responses)} requests, statuses {dict(Counter(r.status_code for r in responses))}")
    return responses
