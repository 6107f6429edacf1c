"""Database outage (issue 4 §4, SPEC §3): the database goes away under load and comes back.

A real `clientele serve --workers 2` reaches PostgreSQL through a TCP proxy this test owns.
Cutting the proxy closes every database connection the server holds and refuses new ones;
the machine's PostgreSQL itself is never touched. While a few clients keep sending GETs and
POSTs, every request made during the outage must be answered with a JSON 503 and
`Retry-After` (no 500, no reset, no hang), `/readyz` included, while `/healthz` answers 200
and the processes stay up; after the proxy is restored requests must succeed again without
a restart.
"""

import asyncio
import http.client
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from clientele.customers.models import customers
from clientele.db.engine import create_engine
from tests.attacks.conftest import REQUEST_TIMEOUT_SECONDS, Tenant
from tests.cli.processes import Server, serving
from tests.conftest import Api, next_phone
from tests.tcp_proxy import TcpProxy

CLIENTS = 4
WORKERS = 2
CYCLES = 2
# Requests each client completes in a phase before the test moves on.
REQUESTS_PER_PHASE = 6
SCENARIO_TIMEOUT_SECONDS = 120
WORKERS_READY_TIMEOUT_SECONDS = 60
LOCK_WAIT_TIMEOUT_SECONDS = 30
UNAVAILABLE = {"message": "Service Unavailable."}
# The phase while the proxy is being cut or restored.
CHANGING = -1


@pytest.fixture
def postgresql_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("The outage is cut between the server and PostgreSQL; SQLite is a file in the server's process")
    return database_url


@pytest.fixture
def proxy(postgresql_url: str) -> Iterator[TcpProxy]:
    database = make_url(postgresql_url)
    with TcpProxy((database.host or "127.0.0.1", database.port or 5432)) as running:
        yield running


@contextmanager
def serving_through(proxy: TcpProxy, postgresql_url: str, tmp_path: Path, workers: int) -> Iterator[Server]:
    through_proxy = make_url(postgresql_url).set(host="127.0.0.1", port=proxy.port)
    with serving(through_proxy.render_as_string(hide_password=False), tmp_path, "--workers", str(workers)) as [server]:
        yield server


def worker_pids(server: Server) -> set[int]:
    """The server's worker processes (its children other than multiprocessing's resource tracker)."""
    children: set[int] = set()
    for task in Path(f"/proc/{server.process.pid}/task").iterdir():
        children |= {int(pid) for pid in (task / "children").read_text().split()}
    return {pid for pid in children if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()}


def serving_workers(server: Server) -> set[int]:
    """The worker pids once every worker has finished starting up.

    uvicorn replaces a worker that is slow to answer its health check while starting, so the
    set is read only when each live worker has logged its start and every start completed.
    """
    deadline = time.monotonic() + WORKERS_READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        output, workers = server.stdout(), worker_pids(server)
        started = {int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", output)}
        if (
            len(workers) == WORKERS
            and workers <= started
            and output.count("Application startup complete.") >= len(started)
        ):
            return workers
        time.sleep(0.1)
    raise AssertionError(f"the workers did not all start:\n{server.stdout()}")


@dataclass
class Outcome:
    """One request as the client saw it, and the phases it started and ended in."""

    client: int
    method: str
    path: str
    started_in: int
    ended_in: int
    status: int | None = None
    body: Any = None
    retry_after: str | None = None
    content_type: str | None = None
    error: str | None = None
    phone: str | None = None


@dataclass
class Load:
    """Clients sending requests in a loop; the phase moves on at each cut and each restore.

    Phases: 0 healthy, then for each cycle an odd outage phase and an even recovered one.
    """

    tenant: Tenant
    server: Server
    customer_id: str
    phase: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    progress: asyncio.Condition = field(default_factory=asyncio.Condition)
    stopping: bool = False

    def operations(self) -> list[tuple[str, str, Callable[[], dict[str, Any] | None]]]:
        return [
            ("POST", "/customers", lambda: {"name": "Under load", "dial_code": 966, "phone": next_phone()}),
            ("GET", "/customers?per_page=5", lambda: None),
            ("GET", f"/customers/{self.customer_id}", lambda: None),
            ("GET", "/readyz", lambda: None),
            ("GET", "/healthz", lambda: None),
        ]

    async def client(self, number: int) -> None:
        operations = self.operations()
        async with self.tenant.client(self.server) as http:
            turn = number
            while not self.stopping:
                method, path, make_body = operations[turn % len(operations)]
                turn += 1
                body = make_body()
                outcome = Outcome(number, method, path, self.phase, self.phase, phone=body and body["phone"])
                try:
                    response = await http.request(method, path, json=body)
                except httpx.TransportError as error:
                    outcome.error = repr(error)
                else:
                    outcome.status = response.status_code
                    outcome.body = response.json() if response.content else None
                    outcome.retry_after = response.headers.get("retry-after")
                    outcome.content_type = response.headers.get("content-type")
                async with self.progress:
                    outcome.ended_in = self.phase
                    self.outcomes.append(outcome)
                    self.progress.notify_all()

    def within(self, phase: int) -> list[Outcome]:
        """The requests made wholly inside one phase."""
        return [outcome for outcome in self.outcomes if outcome.started_in == outcome.ended_in == phase]

    def each_client_has(self, enough: Callable[[list[Outcome]], bool]) -> bool:
        inside = self.within(self.phase)
        return all(enough([outcome for outcome in inside if outcome.client == number]) for number in range(CLIENTS))

    async def until(self, enough: Callable[[list[Outcome]], bool]) -> None:
        async with self.progress:
            await self.progress.wait_for(lambda: self.each_client_has(enough))

    async def next_phase(self, fault: Callable[[], Any]) -> None:
        """Apply the fault; a request that starts or ends while it is being applied belongs to no phase."""
        following = self.phase + 1
        self.phase = CHANGING
        await asyncio.to_thread(fault)
        async with self.progress:
            self.phase = following


def served(outcomes: list[Outcome]) -> bool:
    """The last few requests of one client all succeeded."""
    recent = outcomes[-REQUESTS_PER_PHASE:]
    return len(recent) == REQUESTS_PER_PHASE and all(outcome.status in (200, 201) for outcome in recent)


def answered(outcomes: list[Outcome]) -> bool:
    return len(outcomes) >= REQUESTS_PER_PHASE


async def run_outage(load: Load, proxy: TcpProxy) -> None:
    clients = [asyncio.create_task(load.client(number)) for number in range(CLIENTS)]
    async with asyncio.timeout(SCENARIO_TIMEOUT_SECONDS):
        await load.until(served)
        for _ in range(CYCLES):
            await load.next_phase(proxy.cut)
            await load.until(answered)
            await load.next_phase(proxy.restore)
            await load.until(served)
        load.stopping = True
        await asyncio.gather(*clients)


def test_a_database_outage_is_a_json_503_and_the_server_recovers_by_itself(
    postgresql_url: str, proxy: TcpProxy, tmp_path: Path, client: TestClient, tenant: Tenant
) -> None:
    api = Api(client, tenant.token, tenant.business_id)
    with serving_through(proxy, postgresql_url, tmp_path, WORKERS) as server:
        load = Load(tenant, server, customer_id=api.make_customer()["id"])
        workers = serving_workers(server)

        asyncio.run(run_outage(load, proxy))

        # The same processes answered throughout: none died and was replaced by uvicorn's supervisor.
        assert server.process.poll() is None
        assert worker_pids(server) == workers

    outages, recovered = range(1, 2 * CYCLES, 2), range(2, 2 * CYCLES + 1, 2)
    statuses = Counter(outcome.status or outcome.error for outcome in load.outcomes)
    created = [outcome for outcome in load.outcomes if outcome.status == 201]
    print(
        f"outage: {len(load.outcomes)} requests {dict(statuses)}; {proxy.cuts} cuts severing "
        f"{proxy.connections_severed} database connections; {len(created)} creates acknowledged; "
        f"{sum(outcome.status == 503 for phase in recovered for outcome in load.within(phase))} 503s after restores"
    )
    assert [(outcome.path, outcome.error) for outcome in load.outcomes if outcome.error is not None] == []
    assert set(statuses) <= {200, 201, 503}, statuses
    for phase in outages:
        during = load.within(phase)
        assert {outcome.path for outcome in during if outcome.path != "/healthz"} == {
            "/customers",
            "/customers?per_page=5",
            f"/customers/{load.customer_id}",
            "/readyz",
        }
        for outcome in during:
            if outcome.path == "/healthz":
                assert (outcome.status, outcome.body) == (200, {"status": "ok"})
            else:
                assert (outcome.status, outcome.body, outcome.content_type) == (503, UNAVAILABLE, "application/json")
                assert outcome.retry_after is not None and int(outcome.retry_after) > 0
    assert load.within(0) and all(outcome.status in (200, 201) for outcome in load.within(0))
    for outcome in created:
        assert api.get(f"/customers/{outcome.body['data']['id']}").json() == outcome.body
    refused_creates = [outcome for phase in outages for outcome in load.within(phase) if outcome.method == "POST"]
    assert refused_creates
    for outcome in refused_creates:
        assert api.get("/customers", params={"filter[phone]": outcome.phone}).json()["meta"]["total"] == 0


def exchange(
    connection: http.client.HTTPConnection, method: str, path: str, tenant: Tenant, body: bytes | None = None
) -> tuple[int, bytes]:
    connection.request(method, path, body=body, headers=tenant.headers | {"Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, response.read()


async def waiting_for_a_row_lock(postgresql_url: str) -> None:
    """Return once some session waits for a row lock (the server's request, blocked on ours)."""
    engine = create_engine(postgresql_url)
    try:
        async with asyncio.timeout(LOCK_WAIT_TIMEOUT_SECONDS):
            while True:
                async with engine.connect() as connection:
                    if await connection.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")):
                        return
                await asyncio.sleep(0.05)
    finally:
        await engine.dispose()


@pytest.fixture
def one_worker_through_proxy(postgresql_url: str, proxy: TcpProxy, tmp_path: Path) -> Iterator[Server]:
    with serving_through(proxy, postgresql_url, tmp_path, workers=1) as server:
        yield server


def test_a_query_cut_off_mid_flight_is_a_503_and_the_client_connection_stays_open(
    postgresql_url: str, one_worker_through_proxy: Server, proxy: TcpProxy, client: TestClient, tenant: Tenant
) -> None:
    customer = Api(client, tenant.token, tenant.business_id).make_customer(name="Locked")
    port = int(one_worker_through_proxy.base_url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_SECONDS)

    async def cut_while_the_update_waits() -> tuple[int, bytes]:
        engine = create_engine(postgresql_url)
        try:
            async with engine.connect() as locker, locker.begin():
                await locker.execute(
                    select(customers.c.id).where(customers.c.id == uuid.UUID(customer["id"])).with_for_update()
                )
                update = asyncio.create_task(
                    asyncio.to_thread(
                        exchange, connection, "PUT", f"/customers/{customer['id']}", tenant, b'{"name": "Cut"}'
                    )
                )
                await waiting_for_a_row_lock(postgresql_url)
                await asyncio.to_thread(proxy.cut)
                return await update
        finally:
            await engine.dispose()

    status, body = asyncio.run(cut_while_the_update_waits())

    assert (status, body) == (503, b'{"message":"Service Unavailable."}')
    # The same keep-alive connection answers the next request: the 503 was an answer, not a crash.
    assert exchange(connection, "GET", "/healthz", tenant) == (200, b'{"status":"ok"}')
    proxy.restore()
    assert (
        Api(client, tenant.token, tenant.business_id).get(f"/customers/{customer['id']}").json()["data"]["name"]
        == "Locked"
    )


def test_connections_the_database_drops_while_they_open_are_each_a_503(
    postgresql_url: str, one_worker_through_proxy: Server, proxy: TcpProxy, tenant: Tenant
) -> None:
    port = int(one_worker_through_proxy.base_url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_SECONDS)
    assert exchange(connection, "GET", "/customers", tenant)[0] == 200

    proxy.drop()
    # The first meets a pooled connection the drop closed; the next ones each open a new connection
    # that the database side closes in the middle of its handshake.
    answers = [exchange(connection, "GET", "/customers", tenant) for _ in range(4)]

    assert answers == [(503, b'{"message":"Service Unavailable."}')] * 4
    proxy.restore()
    assert exchange(connection, "GET", "/customers", tenant)[0] == 200
