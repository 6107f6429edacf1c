"""Shared fixtures: one migrated database per run, one business per test, API clients by scope.

The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set
(its `public` schema is dropped and rebuilt at the start of the run).
"""

import asyncio
import itertools
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Executable, Table, event, func, make_url, select, text, update

from clientele.app import create_app
from clientele.auth import service as auth
from clientele.auth.scopes import ALL_SCOPES
from clientele.config import Settings
from clientele.customers.models import customer_counts
from clientele.db.engine import create_engine, migrate

_phone_numbers = itertools.count(10_000_000)


def next_phone() -> str:
    """A Saudi mobile number (9 digits, starting with 5) not used before in this run."""
    return f"5{next(_phone_numbers):08d}"


async def _prepare_database(url: str) -> None:
    engine = create_engine(url)
    if engine.dialect.name == "postgresql":
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    await migrate(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'clientele.db'}"
    asyncio.run(_prepare_database(url))
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # The limiter still runs and sends its headers, but no suite hammering one token meets a 429;
    # tests/edge sets its own limits.
    return Settings(database_url=database_url, redis_url=None, rate_limit=1_000_000)


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def run_in_app(client: TestClient, work: Callable[..., Any]) -> Any:
    """Run `work(connection)` in one transaction on the app's own engine and event loop."""

    async def in_transaction() -> Any:
        async with client.app.state.engine.begin() as connection:  # type: ignore[attr-defined]
            return await work(connection)

    return client.portal.call(in_transaction)  # type: ignore[union-attr]


class Api:
    """A client that sends one token with every request, so tests read like the contract."""

    def __init__(self, client: TestClient, token: str | None, business_id: uuid.UUID):
        self.client = client
        self.token = token
        self.business_id = business_id

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return headers | (extra or {})

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        kwargs["headers"] = self.headers(kwargs.get("headers"))
        return self.client.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    # -- making records through the public API ------------------------------------------

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.post(path, json=body)
        assert response.status_code == 201, response.text
        return response.json()["data"]

    def make_customer(self, **fields: Any) -> dict[str, Any]:
        return self.create("/customers", {"name": "Test Customer", "dial_code": 966, "phone": next_phone()} | fields)

    def make_tag(self, **fields: Any) -> dict[str, Any]:
        return self.create("/tags", {"name": f"tag-{uuid.uuid4().hex[:8]}"} | fields)

    def make_zone(self, **fields: Any) -> dict[str, Any]:
        return self.create("/delivery_zones", {"name": f"zone-{uuid.uuid4().hex[:8]}"} | fields)

    def make_address(self, customer_id: str, **fields: Any) -> dict[str, Any]:
        return self.create("/addresses", {"name": "Home", "customer_id": customer_id} | fields)


@pytest.fixture
def own_database(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database that only this test uses."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'own.db'}"
        return
    name = f"test_own_{uuid.uuid4().hex[:12]}"
    server = url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def administer(statement: str) -> None:
        connection = await asyncpg.connect(server)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    try:
        asyncio.run(administer(f"CREATE DATABASE {name}"))
    except asyncpg.InsufficientPrivilegeError:
        pytest.skip("TEST_DATABASE_URL's user may not create databases")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(administer(f"DROP DATABASE {name} WITH (FORCE)"))


def on_database(url: str, work: Callable[[Connection], Any]) -> Any:
    """`work(connection)` in one transaction on the database at `url`."""

    async def run() -> Any:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def new_business(client: TestClient, name: str = "Test business") -> uuid.UUID:
    async def work(connection: Any) -> uuid.UUID:
        return await auth.create_business(connection=connection, name=name)

    return run_in_app(client, work)


def new_token(
    client: TestClient, business_id: uuid.UUID, scopes: Iterable[str] = ALL_SCOPES, expires_days: int | None = None
) -> auth.IssuedToken:
    async def work(connection: Any) -> auth.IssuedToken:
        return await auth.create_token(
            connection=connection, business_id=business_id, scopes=list(scopes), expires_days=expires_days
        )

    return run_in_app(client, work)


@pytest.fixture
def business(client: TestClient) -> uuid.UUID:
    """A fresh business, so that every test starts with no data of its own."""
    return new_business(client)


@pytest.fixture
def api(client: TestClient, business: uuid.UUID) -> Api:
    """The test business's client with every scope."""
    return Api(client, new_token(client, business).token, business)


@pytest.fixture
def api_with(client: TestClient, business: uuid.UUID) -> Callable[..., Api]:
    """`api_with("customers.list", …)`: the test business's client with exactly these scopes."""

    def make(*scopes: str) -> Api:
        return Api(client, new_token(client, business, scopes).token, business)

    return make


@pytest.fixture
def other_api(client: TestClient) -> Api:
    """A second business's client with every scope, for tenancy tests."""
    other = new_business(client, "Other business")
    return Api(client, new_token(client, other).token, other)


@pytest.fixture
def anonymous(client: TestClient, business: uuid.UUID) -> Api:
    """A client that sends no token."""
    return Api(client, None, business)


def run_statement(
    client: TestClient,
    statement: Executable,
    params: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Run one statement in its own committed transaction on the app's engine; the rows it returns."""

    async def work(connection: Any) -> list[dict[str, Any]]:
        result = await connection.execute(statement, params or {})
        return [dict(row._mapping) for row in result] if result.returns_rows else []

    return run_in_app(client, work)


def summed_counters(client: TestClient, business_id: uuid.UUID) -> list[dict[str, Any]]:
    """A business's customer counters as a reader sees them: each summed over its slots (PostgreSQL)."""
    counters = [column for column in customer_counts.c if column.name not in ("business_id", "slot")]
    statement = select(*(func.sum(column).label(column.name) for column in counters)).where(
        customer_counts.c.business_id == business_id
    )
    return run_statement(client, statement)


@pytest.fixture
def stored(client: TestClient) -> Callable[..., list[dict[str, Any]]]:
    """`stored("SELECT … WHERE name = :name", name=…)`: rows as the database holds them (writes return [])."""
    return lambda sql, **params: run_statement(client, text(sql), params)


# Core statements bind ids and timestamps in each engine's stored form (hex text on SQLite,
# native types on PostgreSQL), so the fixtures below work unchanged on both.


@pytest.fixture
def stored_row(client: TestClient) -> Callable[[Table, str], dict[str, Any]]:
    """`stored_row(customers, customer["id"])`: one row as stored, timestamps to the microsecond."""

    def read(table: Table, record_id: str) -> dict[str, Any]:
        [row] = run_statement(client, select(table).where(table.c.id == uuid.UUID(record_id)))
        return row

    return read


@pytest.fixture
def overwrite(client: TestClient) -> Callable[..., None]:
    """`overwrite(customers, customer["id"], order_count=3)`: set stored columns no API call can set."""

    def write(table: Table, record_id: str, **values: Any) -> None:
        run_statement(client, update(table).where(table.c.id == uuid.UUID(record_id)).values(**values))

    return write


@pytest.fixture
def sent_statements(client: TestClient) -> Iterator[Callable[[Callable[[], Any]], list[str]]]:
    """`sent_statements(lambda: api.get(...))`: the SQL statements the call sent through the engine."""
    engine = client.app.state.engine.sync_engine  # type: ignore[attr-defined]
    sent: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    def capture(call: Callable[[], Any]) -> list[str]:
        sent.clear()
        call()
        return list(sent)

    event.listen(engine, "before_cursor_execute", record)
    yield capture
    event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def statement_count(sent_statements: Callable[[Callable[[], Any]], list[str]]) -> Callable[[Callable[[], Any]], int]:
    """`statement_count(lambda: api.get(...))`: how many SQL statements the call sent."""
    return lambda call: len(sent_statements(call))
