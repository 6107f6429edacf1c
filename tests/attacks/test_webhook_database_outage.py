"""Database outage during delivery (issue 21): PostgreSQL goes away while `clientele serve --workers 2`
delivers, and comes back. Delivery must resume by itself in the same processes, lose no event, and keep
each record's events in order at the receiver (verified with standardwebhooks).

The server reaches PostgreSQL through the outage suite's TCP proxy, which the test cuts (every
connection closed, new ones refused) and restores; the test's own app writes the events and reads the
results straight from the database. A send that was on its way at the cut cannot record its result, so
its delivery stays leased for a minute (`deliverer.LEASE`) with the later events of its record behind
it: once the test has seen delivery resume, it ends those leases itself, as a minute of the clock would,
instead of waiting the minute out.
"""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from clientele.db.clock import utcnow
from tests.attacks.delivery import (
    LOCAL,
    arrived_ids,
    end_leases,
    listed_events,
    make_backlog,
    out_of_order,
    unverified,
    wait_until,
)
from tests.attacks.test_database_outage import WORKERS, serving_workers, worker_pids
from tests.cli.processes import serving
from tests.conftest import Api
from tests.tcp_proxy import TcpProxy
from tests.webhooks.conftest import make_endpoint
from tests.webhooks.receiver import Receiver

RECORDS = 100
RENAMES = 3
EVENTS = RECORDS * (1 + RENAMES)
RECEIVER_DELAY_SECONDS = 0.005
CUT_AFTER_ARRIVALS = 200
OUTAGE_SECONDS = 3
RESUME_TIMEOUT_SECONDS = 30
DELIVERY_TIMEOUT_SECONDS = 90


@pytest.fixture
def proxy(database_url: str) -> Iterator[TcpProxy]:
    if not database_url.startswith("postgresql"):
        pytest.skip("The outage is cut between the server and PostgreSQL; SQLite is a file in the server's process")
    database = make_url(database_url)
    with TcpProxy((database.host or "127.0.0.1", database.port or 5432)) as running:
        yield running


def test_delivery_resumes_by_itself_after_a_database_outage_and_loses_no_event(
    database_url: str,
    proxy: TcpProxy,
    tmp_path: Path,
    local_client: TestClient,
    local_api: Api,
    receiver: Receiver,
) -> None:
    endpoint = make_endpoint(local_api, url=receiver.url)
    receiver.answer(200, times=2 * EVENTS, delay=RECEIVER_DELAY_SECONDS)
    through_proxy = make_url(database_url).set(host="127.0.0.1", port=proxy.port)

    with serving(
        through_proxy.render_as_string(hide_password=False), tmp_path, "--workers", str(WORKERS), settings=LOCAL
    ) as [server]:
        workers = serving_workers(server)
        make_backlog(local_client, local_api, records=RECORDS, renames=RENAMES)
        listed = listed_events(local_api, EVENTS)
        wait_until(
            lambda: len(receiver.received) >= CUT_AFTER_ARRIVALS,
            DELIVERY_TIMEOUT_SECONDS,
            lambda: f"{len(receiver.received)} arrived before the cut:\n{server.stdout()}",
        )
        proxy.cut()
        arrived_at_cut = len(arrived_ids(receiver))
        time.sleep(OUTAGE_SECONDS)
        arrived_at_restore = len(arrived_ids(receiver))
        restored_at = utcnow()
        proxy.restore()
        wait_until(
            lambda: len(arrived_ids(receiver)) > arrived_at_restore,
            RESUME_TIMEOUT_SECONDS,
            lambda: f"delivery did not resume after the outage:\n{server.stdout()}",
        )
        resumed_in = (utcnow() - restored_at).total_seconds()
        stranded = end_leases(local_client, local_api.business_id, taken_before=restored_at)
        wait_until(
            lambda: arrived_ids(receiver) >= {event["id"] for event in listed},
            DELIVERY_TIMEOUT_SECONDS,
            lambda: f"{len(arrived_ids(receiver))} of {len(listed)} events arrived:\n{server.stdout()}",
        )
        # The same processes delivered throughout: none died and was replaced by uvicorn's supervisor.
        assert server.process.poll() is None
        assert worker_pids(server) == workers
        log = server.stdout()

    print(
        f"webhook database outage: {arrived_at_cut} of {len(listed)} events had arrived at the cut, "
        f"{arrived_at_restore} after {OUTAGE_SECONDS} s without the database; delivery resumed {resumed_in:.1f} s "
        f"after the restore, {stranded} leases left by the cut; {len(receiver.received) - len(listed)} arrived twice"
    )
    assert 0 < arrived_at_cut < EVENTS
    assert "Webhook delivery paused: the database is not available" in log
    assert unverified(receiver, endpoint["secret"], listed) == []
    assert out_of_order(receiver, listed) == []
