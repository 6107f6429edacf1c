"""Crash during delivery (issue 21): SIGKILL `clientele serve --workers 2` while it sends 1,000 events to a
real receiver, then start it again.

Every event must reach the receiver at least once, signed (verified with standardwebhooks, as a receiver
would), and the receiver must never get an event of a record before an earlier event of that record.

A delivery the kill caught between its claim and its recorded result stays leased for a minute
(`deliverer.LEASE`), and the later events of its record wait behind it. The test ends those leases
itself once the server is dead, as a minute of the clock would, instead of waiting the minute out; the
webhook suites move the deliverer's clock past a lease the same way (`test_retries.py`).
"""

import os
import signal
import time
from pathlib import Path

from fastapi.testclient import TestClient

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
from tests.cli.processes import serving, start, stop
from tests.conftest import Api
from tests.webhooks.conftest import make_endpoint
from tests.webhooks.receiver import Receiver

RECORDS = 100
# A create and then renames: 1,000 events, ten of each record.
RENAMES = 9
EVENTS = RECORDS * (1 + RENAMES)
# Slow enough that the kill finds sends on their way, not only claims between rounds.
RECEIVER_DELAY_SECONDS = 0.005
KILL_AFTER_ARRIVALS = 200
DELIVERY_TIMEOUT_SECONDS = 120


def test_every_event_arrives_in_record_order_after_a_sigkill_during_delivery(
    database_url: str, tmp_path: Path, local_client: TestClient, local_api: Api, receiver: Receiver
) -> None:
    endpoint = make_endpoint(local_api, url=receiver.url)
    receiver.answer(200, times=2 * EVENTS, delay=RECEIVER_DELAY_SECONDS)
    make_backlog(local_client, local_api, records=RECORDS, renames=RENAMES)
    listed = listed_events(local_api, EVENTS)

    server = start(database_url, tmp_path, "--workers", "2", settings=LOCAL)
    try:
        wait_until(
            lambda: len(receiver.received) >= KILL_AFTER_ARRIVALS,
            DELIVERY_TIMEOUT_SECONDS,
            lambda: f"{len(receiver.received)} arrived before the kill:\n{server.stdout()}",
        )
        # The whole process group: the supervisor and its workers die at the same instant.
        os.killpg(server.process.pid, signal.SIGKILL)
        assert server.process.wait() == -signal.SIGKILL
    finally:
        stop(server.process)
    arrived_at_kill = len(arrived_ids(receiver))
    leased_at_kill = end_leases(local_client, local_api.business_id)

    restarted_at = time.monotonic()
    with serving(database_url, tmp_path, "--workers", "2", settings=LOCAL) as [restarted]:
        wait_until(
            lambda: arrived_ids(receiver) >= {event["id"] for event in listed},
            DELIVERY_TIMEOUT_SECONDS,
            lambda: f"{len(arrived_ids(receiver))} of {len(listed)} events arrived:\n{restarted.stdout()}",
        )
        drained_in = time.monotonic() - restarted_at

    print(
        f"webhook crash: {arrived_at_kill} of {len(listed)} events had arrived at the kill, {leased_at_kill} "
        f"deliveries were leased; after the restart every event arrived within {drained_in:.1f} s, "
        f"{len(receiver.received) - len(listed)} more than once"
    )
    assert 0 < arrived_at_kill < len(listed)
    assert unverified(receiver, endpoint["secret"], listed) == []
    assert out_of_order(receiver, listed) == []
