"""Attempts, and deliveries no longer pending, are kept 30 days, as events are; the serving workers'
hourly purge deletes them after that."""

import time
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from clientele.app import create_app
from clientele.config import Settings
from clientele.db.clock import utcnow
from clientele.webhooks.models import webhook_attempts, webhook_deliveries
from clientele.webhooks.service import purge_expired_log
from tests.conftest import Api, run_statement
from tests.webhooks.conftest import Clock, Delivering, attempts, make_endpoint
from tests.webhooks.receiver import Receiver


def purged_at(client: TestClient, now: datetime) -> None:
    """Run the purge as at `now` (it purges every business: other tests' rows too)."""

    async def purge() -> int:
        return await purge_expired_log(engine=client.app.state.engine, now=now)  # type: ignore[attr-defined]

    client.portal.call(purge)  # type: ignore[union-attr]


def stored(client: TestClient, api: Api) -> tuple[list[str], int]:
    """The business's deliveries' statuses (sorted) and its number of attempts."""
    deliveries = run_statement(
        client, select(webhook_deliveries.c.status).where(webhook_deliveries.c.business_id == api.business_id)
    )
    attempts = run_statement(
        client, select(webhook_attempts.c.id).where(webhook_attempts.c.business_id == api.business_id)
    )
    return sorted(row["status"] for row in deliveries), len(attempts)


def test_attempts_and_finished_deliveries_are_kept_30_days_to_the_microsecond(
    local_api: Api, local_client: TestClient, receiver: Receiver, delivering: Delivering, clock: Clock
) -> None:
    endpoint = make_endpoint(local_api, url=receiver.url)
    local_api.make_customer()
    delivering.until_idle()
    receiver.answer(500)
    local_api.make_customer()
    delivering.until_idle()
    assert stored(local_client, local_api) == (["pending", "succeeded"], 2)
    written = clock.now

    purged_at(local_client, written + timedelta(days=30))
    assert stored(local_client, local_api) == (["pending", "succeeded"], 2)

    purged_at(local_client, written + timedelta(days=30, microseconds=1))
    # The delivery still retrying stays, whatever its age; the log of attempts is empty.
    assert stored(local_client, local_api) == (["pending"], 0)
    assert attempts(local_api, endpoint) == []

    disabled = local_api.request("PATCH", f"/webhook_endpoints/{endpoint['id']}", json={"enabled": False})
    assert disabled.status_code == 200, disabled.text
    assert stored(local_client, local_api) == (["failed"], 0)
    purged_at(local_client, written + timedelta(days=30, microseconds=1))
    assert stored(local_client, local_api) == ([], 0)


def test_a_serving_worker_purges_the_expired_log_when_it_starts(
    settings: Settings, local_api: Api, local_client: TestClient, receiver: Receiver, delivering: Delivering
) -> None:
    make_endpoint(local_api, url=receiver.url)
    local_api.make_customer()
    local_api.make_customer()
    delivering.until_idle()
    # One delivery and its attempt made 31 days ago; the other made now.
    [old] = run_statement(
        local_client,
        select(webhook_deliveries.c.id).where(webhook_deliveries.c.business_id == local_api.business_id).limit(1),
    )
    month_ago = utcnow() - timedelta(days=31)
    for table, key in (
        (webhook_deliveries, webhook_deliveries.c.id),
        (webhook_attempts, webhook_attempts.c.delivery_id),
    ):
        run_statement(
            local_client,
            update(table)
            .where(table.c.business_id == local_api.business_id, key == old["id"])
            .values(created_at=month_ago),
        )

    with TestClient(create_app(settings)):
        deadline = time.monotonic() + 10
        while stored(local_client, local_api) != (["succeeded"], 1) and time.monotonic() < deadline:
            time.sleep(0.05)

    assert stored(local_client, local_api) == (["succeeded"], 1)
