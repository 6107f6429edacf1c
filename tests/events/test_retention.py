"""Events are kept 30 days (SPEC §10): each serving worker purges older ones at start and every hour."""

import time
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import insert

from clientele.app import create_app
from clientele.config import Settings
from clientele.db.clock import utcnow
from clientele.db.ids import new_id
from clientele.events.models import events
from clientele.events.service import purge_expired
from tests.conftest import Api, run_statement
from tests.events.conftest import stored_events


def purged_at(client: TestClient, now: object) -> int:
    async def purge() -> int:
        return await purge_expired(engine=client.app.state.engine, now=now)  # type: ignore[attr-defined,arg-type]

    return int(client.portal.call(purge))  # type: ignore[union-attr]


def test_an_event_is_kept_30_days_to_the_microsecond(client: TestClient, api: Api, other_api: Api) -> None:
    api.make_tag()
    other_api.make_tag()
    [event] = stored_events(client, api.business_id)
    [other] = stored_events(client, other_api.business_id)
    written = event["created_at"]

    purged_at(client, written + timedelta(days=30))
    assert stored_events(client, api.business_id) == [event]

    purged_at(client, max(written, other["created_at"]) + timedelta(days=30, microseconds=1))
    assert stored_events(client, api.business_id) == []
    assert stored_events(client, other_api.business_id) == []


def test_a_serving_worker_purges_expired_events_when_it_starts(
    settings: Settings, client: TestClient, api: Api
) -> None:
    tag = api.make_tag()
    [kept] = stored_events(client, api.business_id)
    run_statement(
        client,
        insert(events).values(
            business_id=api.business_id,
            id=new_id(),
            type="tag.updated",
            record_id=kept["record_id"],
            created_at=utcnow() - timedelta(days=31),
            data=tag,
            changes={},
        ),
    )

    with TestClient(create_app(settings)):
        deadline = time.monotonic() + 10
        while len(stored_events(client, api.business_id)) > 1 and time.monotonic() < deadline:
            time.sleep(0.05)

    assert stored_events(client, api.business_id) == [kept]
