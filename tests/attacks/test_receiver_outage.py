"""A receiver that goes away (issue 21): its address refuses connections for ten minutes while changes go
on, then it is back. The backlog must drain by itself on the retry schedule, each record's events in the
order they committed, each event once; a record with nothing held back goes at once.

The receiver is real and sits behind a TCP proxy that the test cuts (connections refused) and restores.
Ten minutes and the retries after them pass on the deliverer's clock, which the test moves (as
tests/webhooks does), so the deliverer runs in the test's process; a receiver answering 410 is
tests/webhooks/test_retries.py's.
"""

from collections.abc import Iterator
from datetime import timedelta

import pytest

from clientele.webhooks.deliverer import RETRY_DELAYS
from tests.attacks.delivery import listed_events, out_of_order, unverified
from tests.conftest import Api
from tests.tcp_proxy import TcpProxy
from tests.webhooks.conftest import Clock, Delivering, attempts, make_endpoint
from tests.webhooks.receiver import Receiver

RECORDS = 20
DOWN_FOR = timedelta(minutes=10)
STEP = timedelta(seconds=30)
RENAMED_EACH_STEP = 5
# A delivery first tried as the receiver went down is tried again 5 s, then 5 min, then 30 min later.
DRAINED_WITHIN = DOWN_FOR + sum(RETRY_DELAYS[:3], timedelta()) + timedelta(minutes=1)


@pytest.fixture
def proxy(receiver: Receiver) -> Iterator[TcpProxy]:
    assert receiver.server is not None
    with TcpProxy(("127.0.0.1", receiver.server.server_address[1])) as running:
        yield running


def test_a_backlog_made_while_the_receiver_was_down_drains_in_record_order_once_it_is_back(
    local_api: Api, receiver: Receiver, proxy: TcpProxy, delivering: Delivering, clock: Clock
) -> None:
    endpoint = make_endpoint(local_api, url=f"http://127.0.0.1:{proxy.port}/hooks")
    customers = [local_api.make_customer(name="Version 0") for _ in range(RECORDS)]
    delivering.until_idle()
    assert len(receiver.received) == RECORDS

    proxy.cut()
    went_down = clock.now
    renames = 0
    while clock.now - went_down < DOWN_FOR:
        for _ in range(RENAMED_EACH_STEP):
            customer = customers[renames % RECORDS]
            renames += 1
            response = local_api.put(f"/customers/{customer['id']}", json={"name": f"Version {renames}"})
            assert response.status_code == 200, response.text
        customers.append(local_api.make_customer(name="Made while the receiver was down"))
        delivering.until_idle()
        clock.advance(seconds=STEP.total_seconds())
    made_while_down = listed_events(local_api, len(customers) + renames)[RECORDS:]

    assert len(receiver.received) == RECORDS
    first_missed = attempts(local_api, endpoint, **{"filter[event_id]": made_while_down[0]["id"]})
    assert [attempt["result"] for attempt in first_missed] == ["retrying"] * 3
    assert all("Could not connect" in attempt["error"] for attempt in first_missed)

    proxy.restore()
    newcomer = local_api.make_customer(name="Made once the receiver was back")
    delivering.until_idle()
    # A new record is held back by nothing: it goes at once, while the backlog waits for its retries.
    arrived = [received.payload["data"]["id"] for received in receiver.received]
    assert newcomer["id"] in arrived
    assert made_while_down[0]["id"] not in {received.headers["webhook-id"] for received in receiver.received}

    listed = listed_events(local_api, len(customers) + renames + 1)
    while len(receiver.received) < len(listed) and clock.now - went_down < DRAINED_WITHIN:
        clock.advance(minutes=1)
        delivering.until_idle()

    print(
        f"receiver outage: {len(made_while_down)} events made in {DOWN_FOR} down, drained "
        f"{clock.now - went_down} after it went down"
    )
    assert sorted(received.headers["webhook-id"] for received in receiver.received) == sorted(
        event["id"] for event in listed
    )
    assert unverified(receiver, endpoint["secret"], listed) == []
    assert out_of_order(receiver, listed) == []
    assert [
        attempt["result"] for attempt in attempts(local_api, endpoint, **{"filter[event_id]": made_while_down[0]["id"]})
    ] == [
        "retrying",
        "retrying",
        "retrying",
        "succeeded",
    ]
    assert local_api.get(f"/webhook_endpoints/{endpoint['id']}").json()["data"]["enabled"] is True
