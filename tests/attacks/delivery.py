"""What the attacks on webhook delivery share: a receiver's arrivals checked against the events the API
lists, and the leases that deliverers cut off in the middle of a send leave behind."""

import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from standardwebhooks import WebhookVerificationError

from clientele.db.clock import utcnow
from clientele.events.service import CUSTOMER, UPDATED, record_event
from clientele.webhooks import service
from clientele.webhooks.deliverer import LEASE
from clientele.webhooks.models import webhook_deliveries
from tests.conftest import Api, run_in_app, run_statement
from tests.events.conftest import walk
from tests.webhooks.receiver import Receiver

# What `clientele serve` needs to deliver to a receiver on 127.0.0.1.
LOCAL = {"WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1"}
LISTED_TIMEOUT_SECONDS = 10


def make_backlog(client: TestClient, api: Api, *, records: int, renames: int) -> None:
    """`records` customers made through the API, then `renames` renames of each, in turns over them, written
    by the outbox's own writer as a PUT of the name writes them: `records * (1 + renames)` events.

    Only the creates go through the API: there 1,000 changes took 45 s on the test machine, and what these
    suites attack is the delivery of the events, not their writing (tests/events checks that)."""
    customers = [api.make_customer(name="Version 0") for _ in range(records)]

    async def rename(connection: Any) -> None:
        for version in range(1, renames + 1):
            for customer in customers:
                await record_event(
                    connection=connection,
                    business_id=api.business_id,
                    type=CUSTOMER.type(UPDATED),
                    record_id=uuid.UUID(customer["id"]),
                    data=customer | {"name": f"Version {version}"},
                    changes={"name": f"Version {version - 1}"},
                )

    run_in_app(client, rename)


def listed_events(api: Api, count: int) -> list[dict[str, Any]]:
    """The business's events as `GET /events` lists them (one record's in the order they committed), once it
    lists `count`: it lists only settled events, which a deliverer's write transactions in flight hold
    back for a moment."""
    listed: list[dict[str, Any]] = []

    def all_listed() -> bool:
        listed[:] = walk(api, per_page=1000)
        return len(listed) >= count

    wait_until(all_listed, LISTED_TIMEOUT_SECONDS, lambda: f"{len(listed)} of {count} events listed")
    return listed


def arrived_ids(receiver: Receiver) -> set[str]:
    return {received.headers["webhook-id"] for received in receiver.received}


def wait_until(condition: Callable[[], bool], seconds: float, failure: Callable[[], str]) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, failure()
        time.sleep(0.05)


def unverified(receiver: Receiver, secret: str, listed: list[dict[str, Any]]) -> list[str]:
    """The arrivals that standardwebhooks does not verify with the secret, or whose body is not the event
    as the API lists it; [] when each arrival is one of the listed events, signed."""
    by_id = {event["id"]: event for event in listed}
    wrong = []
    for received in receiver.received:
        try:
            payload = received.verify(secret)
        except WebhookVerificationError as error:
            wrong.append(f"{received.headers.get('webhook-id')}: {error!r}")
            continue
        if payload != by_id.get(received.headers["webhook-id"]):
            wrong.append(f"{received.headers['webhook-id']}: {payload}")
    return wrong


def out_of_order(receiver: Receiver, listed: list[dict[str, Any]]) -> list[str]:
    """The records an event of which arrived before an earlier event of the same record had arrived at all.

    Delivery is at least once, so an event may arrive again after later ones (a send the receiver got
    but whose answer a crash lost); what must never happen is a later event first. Each event's first
    arrival is the earliest of its arrivals, so that holds when one record's first arrivals come in the
    order its events are listed (`GET /events` lists one record's events in the order they committed).
    """
    first_arrival: dict[str, int] = {}
    for index, received in enumerate(receiver.received):
        first_arrival.setdefault(received.headers["webhook-id"], index)
    records: dict[str, list[str]] = {}
    for event in listed:
        records.setdefault(event["data"]["id"], []).append(event["id"])
    problems = []
    for record_id, event_ids in records.items():
        arrivals = [first_arrival[event_id] for event_id in event_ids if event_id in first_arrival]
        if arrivals != sorted(arrivals):
            problems.append(f"record {record_id}: events {event_ids} first arrived at {arrivals}")
    return problems


def end_leases(client: TestClient, business_id: uuid.UUID, *, taken_before: datetime | None = None) -> int:
    """End now the leases held on the business's pending deliveries (those of claims made before
    `taken_before`, when given, as their leases end before `taken_before + LEASE`): what the clock does a
    minute after a deliverer died in the middle of its sends. How many there were."""
    d = webhook_deliveries
    conditions = [d.c.business_id == business_id, d.c.status == service.PENDING, d.c.claimed_until.is_not(None)]
    if taken_before is not None:
        conditions.append(d.c.claimed_until < taken_before + LEASE)
    ended = run_statement(client, update(d).where(*conditions).values(claimed_until=utcnow()).returning(d.c.id))
    return len(ended)
