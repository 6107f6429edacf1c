"""Replay (SPEC §10): events sent again on request, by id or since a time, after an outage or a disable."""

import uuid
from typing import Any

from tests.conftest import Api
from tests.webhooks.conftest import Clock, Delivering, make_endpoint
from tests.webhooks.receiver import Receiver


def replay(api: Api, endpoint: dict[str, Any], body: dict[str, Any]) -> Any:
    return api.post(f"/webhook_endpoints/{endpoint['id']}/replay", json=body)


def test_replayed_events_are_sent_again_with_their_own_ids(
    local_api: Api, receiver: Receiver, delivering: Delivering, clock: Clock
) -> None:
    endpoint = make_endpoint(local_api, url=receiver.url)
    local_api.make_customer()
    delivering.until_idle()
    [first] = receiver.received

    response = replay(local_api, endpoint, {"event_ids": [first.headers["webhook-id"]]})
    clock.advance(seconds=1)  # the API's clock is the real one, and the replay is due as it answers
    delivering.until_idle()

    assert response.status_code == 202, response.text
    assert response.json() == {"data": {"queued": 1}}
    [_, again] = receiver.received
    assert again.verify(endpoint["secret"]) == first.verify(endpoint["secret"])
    assert again.headers["webhook-id"] == first.headers["webhook-id"]


def test_a_replay_since_a_time_sends_the_endpoint_types_in_order(
    local_api: Api, receiver: Receiver, delivering: Delivering, clock: Clock
) -> None:
    endpoint = make_endpoint(local_api, url=receiver.url, event_types=["customer.*"])
    since = endpoint["created_at"]
    customer = local_api.make_customer()
    local_api.make_tag()
    local_api.put(f"/customers/{customer['id']}", json={"name": "Changed"})
    delivering.until_idle()
    sent = [received.headers["webhook-id"] for received in receiver.received]

    response = replay(local_api, endpoint, {"since": since})
    clock.advance(seconds=1)
    delivering.until_idle()

    assert response.json() == {"data": {"queued": 2}}
    assert [received.headers["webhook-id"] for received in receiver.received[2:]] == sent
    assert [received.payload["type"] for received in receiver.received[2:]] == ["customer.created", "customer.updated"]


def test_a_replay_names_since_or_event_ids(local_api: Api, other_api: Api) -> None:
    endpoint = make_endpoint(local_api)
    other_customer = other_api.make_customer()
    assert other_customer

    for body, field in (
        ({}, "since"),
        ({"since": "2026-01-01", "event_ids": [str(uuid.uuid4())]}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"event_ids": []}, "event_ids"),
        ({"event_ids": ["not-an-id"]}, "event_ids"),
        ({"event_ids": [str(uuid.uuid4())]}, "event_ids"),
    ):
        response = replay(local_api, endpoint, body)
        assert response.status_code == 422, (body, response.text)
        assert field in response.json()["errors"]


def test_disabling_fails_what_is_pending_and_a_replay_after_enabling_sends_it(
    local_api: Api, receiver: Receiver, delivering: Delivering, clock: Clock
) -> None:
    endpoint = make_endpoint(local_api, url=receiver.url)
    path = f"/webhook_endpoints/{endpoint['id']}"
    receiver.answer(503)
    local_api.make_customer()
    delivering.until_idle()

    local_api.request("PATCH", path, json={"enabled": False})
    clock.advance(hours=1)
    local_api.make_customer()
    delivering.until_idle()
    refused = replay(local_api, endpoint, {"since": endpoint["created_at"]})
    local_api.request("PATCH", path, json={"enabled": True})
    replayed = replay(local_api, endpoint, {"since": endpoint["created_at"]})
    delivering.until_idle()

    assert refused.status_code == 409
    assert replayed.json() == {"data": {"queued": 2}}
    assert [received.payload["type"] for received in receiver.received] == ["customer.created"] * 3
    assert [attempt["result"] for attempt in local_api.get(f"{path}/deliveries").json()["data"]][:1] == ["retrying"]
