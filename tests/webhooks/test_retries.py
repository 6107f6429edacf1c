"""Retries (SPEC §10): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h, then failed; Retry-After,
410, redirects, five days of failures, one record's events in order, and the attempts log. Time is the
deliverer's clock, which the tests move."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from clientele.events.models import events
from clientele.webhooks.deliverer import LEASE, RETRY_DELAYS, random_jitter, retry_after
from clientele.webhooks.http_client import Answer
from clientele.webhooks.models import webhook_attempts, webhook_deliveries, webhook_endpoints
from tests.conftest import Api, run_statement
from tests.webhooks.conftest import Clock, Delivering, attempts, make_endpoint
from tests.webhooks.receiver import Receiver


def test_a_failing_delivery_is_retried_on_the_schedule_then_failed(
    local_api: Api, receiver: Receiver, delivering: Delivering, clock: Clock
) -> None:
    endpoint = make_endpoint(local_api, url=receiver.url)
    receiver.answer(500, times=len(RETRY_DELAYS) + 1)
    local_api.make_customer()

    delivering.until_idle()
    for delay in RETRY_DELAYS:
        clock.advance(seconds=delay.total_seconds() - 1)
        delivering.until_idle()
        assert len(receiver.received) == RETRY_DELAYS.index(delay) + 1, "sent before it was due"
        clock.advance(seconds=1)
        delivering.until_idle()

    assert len(receiver.received) == len(RETRY_DELAYS) + 1
    assert len({received.headers["webhook-id"] for received in receiver.received}) == 1
    log = attempts(local_api, endpoint)
    assert [attempt["status_code"] for attempt in log] == [500] * 10
    assert [attempt["result"] for attempt in log] == ["retrying"] * 9 + ["failed"]
    assert log[0]["next_retry_at"] == log[1]["created_at"]
    assert log[-1]["next_retry_at"] is None
    clock.advance(days=2)
    assert delivering.run_once() == 0


def test_retries_are_jittered_within_a_tenth(local_api: Api, receiver: Receiver, local_client: Any) -> None:
    make_endpoint(local_api, url=receiver.url)
    receiver.answer(500, times=8)
    for _ in range(8):
        local_api.make_customer()
    jittered = Delivering(local_client, Clock())
    jittered.deliverer.jitter = random_jitter

    jittered.until_idle()

    stored = run_statement(
        local_client,
        select(webhook_attempts.c.created_at, webhook_attempts.c.next_attempt_at).where(
            webhook_attempts.c.business_id == local_api.business_id
        ),
    )
    delays = {(row["next_attempt_at"] - row["created_at"]).total_seconds() for row in stored}
    assert len(stored) == 8
    assert all(4.5 <= delay <= 5.5 for delay in delays)
    assert len(delays) > 1
    jittered.call(jittered.deliverer.aclose)


def test_retry_after_is_honoured_on_429_and_5xx(
    local_api: Api, receiver: Receiver, delivering: Delivering, clock: Clock
) -> None:
    endpoint = make_endpoint(local_api, url=receiver.url)
    receiver.answer(429, retry_after="120")
    receiver.answer(503, retry_after="3600")
    local_api.make_customer()

    delivering.until_idle()
    clock.advance(seconds=119)
    delivering.until_idle()
    assert len(receiver.received) == 1
    clock.advance(seconds=1)
    delivering.until_idle()
    assert len(receiver.received) == 2
    clock.advance(seconds=3599)
    delivering.until_idle()
    assert len(receiver.received) == 2
    clock.advance(seconds=1)
    delivering.until_idle()

    assert len(receiver.received) == 3
    assert [attempt["result"] for attempt in attempts(local_api, endpoint)] == ["retrying", "retrying", "succeeded"]


def test_a_410_disables_the_endpoint_at_once(local_api: Api, receiver: Receiver, delivering: Delivering) -> None:
    endpoint = make_endpoint(local_api, url=receiver.url)
    receiver.answer(410)
    local_api.make_customer()

    delivering.until_idle()
    local_api.make_customer()
    delivering.until_idle()

    assert len(receiver.received) == 1
    shown_endpoint = local_api.get(f"/webhook_endpoints/{endpoint['id']}").json()["data"]
    assert shown_endpoint["enabled"] is False
    assert "410" in shown_endpoint["disabled_reason"]
    assert [attempt["result"] for attempt in attempts(local_api, endpoint)] == ["failed"]


def test_redirects_are_not_followed(local_api: Api, receiver: Receiver, delivering: Delivering) -> None:
    endpoint = make_endpoint(local_api, url=receiver.url)
    receiver.answer(302, location=receiver.url + "/elsewhere")
    local_api.make_customer()

    delivering.until_idle()

    assert [received.path for received in receiver.received] == ["/hooks"]
    [attempt] = attempts(local_api, endpoint)
    assert (attempt["status_code"], attempt["result"]) == (302, "retrying")


def test_five_days_of_failures_disable_the_endpoint(
    local_api: Api, receiver: Receiver, delivering: Delivering, clock: Clock
) -> None:
    endpoint = make_endpoint(local_api, url=receiver.url)
    receiver.answer(500, times=100)
    local_api.make_customer()
    delivering.until_idle()
    for _ in range(4):
        clock.advance(days=1)
        local_api.make_customer()
        delivering.until_idle()
        assert local_api.get(f"/webhook_endpoints/{endpoint['id']}").json()["data"]["enabled"] is True

    clock.advance(days=1)
    delivering.until_idle()

    shown_endpoint = local_api.get(f"/webhook_endpoints/{endpoint['id']}").json()["data"]
    assert shown_endpoint["enabled"] is False
    assert "5 days" in shown_endpoint["disabled_reason"]
    assert delivering.run_once() == 0


def test_a_success_ends_the_failure_streak(
    local_api: Api, receiver: Receiver, delivering: Delivering, clock: Clock
) -> None:
    endpoint = make_endpoint(local_api, url=receiver.url)
    receiver.answer(500)
    local_api.make_customer()
    delivering.until_idle()
    clock.advance(days=3)
    delivering.until_idle()
    receiver.answer(500)
    clock.advance(days=3)
    local_api.make_customer()
    delivering.until_idle()

    assert local_api.get(f"/webhook_endpoints/{endpoint['id']}").json()["data"]["enabled"] is True


def test_a_success_and_a_failure_recorded_together_start_the_streak_again(
    local_api: Api, local_client: Any, receiver: Receiver, delivering: Delivering, clock: Clock
) -> None:
    endpoint = make_endpoint(local_api, url=receiver.url)
    receiver.answer(500)
    local_api.make_customer()
    delivering.until_idle()
    clock.advance(days=4)
    # The retry of the first and the second's first attempt go in one round: one fails, one succeeds.
    receiver.answer(500)
    local_api.make_customer()

    assert delivering.run_once() == 3

    [stored] = run_statement(
        local_client,
        select(webhook_endpoints.c.failing_since).where(
            webhook_endpoints.c.business_id == local_api.business_id,
            webhook_endpoints.c.id == uuid.UUID(endpoint["id"]),
        ),
    )
    assert stored["failing_since"] == clock.now
    assert sorted(attempt["result"] for attempt in attempts(local_api, endpoint)) == [
        "retrying",
        "retrying",
        "succeeded",
    ]


def test_one_record_events_arrive_in_order_while_others_go_ahead(
    local_api: Api, receiver: Receiver, delivering: Delivering, clock: Clock
) -> None:
    make_endpoint(local_api, url=receiver.url)
    first = local_api.make_customer()
    receiver.answer(500)
    delivering.until_idle()
    local_api.put(f"/customers/{first['id']}", json={"name": "Second version"})
    second = local_api.make_customer()

    delivering.until_idle()

    assert [(r.payload["type"], r.payload["data"]["id"]) for r in receiver.received] == [
        ("customer.created", first["id"]),
        ("customer.created", second["id"]),
    ]
    clock.advance(seconds=5)
    delivering.until_idle()
    assert [(r.payload["type"], r.payload["data"]["id"]) for r in receiver.received[2:]] == [
        ("customer.created", first["id"]),
        ("customer.updated", first["id"]),
    ]


def test_a_delivery_whose_deliverer_died_is_sent_once_its_lease_ends(
    local_api: Api, receiver: Receiver, delivering: Delivering, clock: Clock
) -> None:
    make_endpoint(local_api, url=receiver.url)
    local_api.make_customer()
    delivering.call(delivering.deliverer.hand_out)
    [claimed] = delivering.call(delivering.deliverer.claim)

    assert delivering.run_once() == 0
    clock.advance(seconds=LEASE.total_seconds() + 1)
    delivering.until_idle()

    [received] = receiver.received
    assert received.headers["webhook-id"] == str(claimed.delivery.event_id)


def test_deliverers_side_by_side_never_claim_the_same_delivery(
    local_api: Api, receiver: Receiver, delivering: Delivering, local_client: Any, clock: Clock
) -> None:
    make_endpoint(local_api, url=receiver.url)
    for _ in range(12):
        local_api.make_customer()
    delivering.call(delivering.deliverer.hand_out)
    others = [Delivering(local_client, clock) for _ in range(3)]

    async def claim_together() -> list[list[Any]]:
        import asyncio

        return list(await asyncio.gather(*(other.deliverer.claim() for other in others)))

    claims = delivering.call(claim_together)

    ids = [claim.delivery.id for claimed in claims for claim in claimed]
    assert len(ids) == len(set(ids)) == 12
    stored = run_statement(
        local_client,
        select(webhook_deliveries.c.claimed_until).where(webhook_deliveries.c.business_id == local_api.business_id),
    )
    assert all(row["claimed_until"] == clock.now + LEASE for row in stored)
    for other in others:
        other.call(other.deliverer.aclose)


def test_the_attempts_log_pages_by_cursor(local_api: Api, receiver: Receiver, delivering: Delivering) -> None:
    endpoint = make_endpoint(local_api, url=receiver.url)
    receiver.answer(500, retry_after="1")
    for _ in range(3):
        local_api.make_customer()
    delivering.until_idle()

    first = local_api.get(f"/webhook_endpoints/{endpoint['id']}/deliveries", params={"per_page": "2", "cursor": ""})
    page = first.json()
    rest = local_api.get(
        f"/webhook_endpoints/{endpoint['id']}/deliveries",
        params={"per_page": "2", "cursor": page["meta"]["next_cursor"]},
    ).json()

    log = page["data"] + rest["data"]
    assert len(log) == 3
    assert rest["meta"]["next_cursor"] is None
    assert set(log[0]) == {
        "id",
        "event_id",
        "created_at",
        "status_code",
        "error",
        "duration_ms",
        "result",
        "next_retry_at",
    }
    # The three were sent side by side at one moment of the clock: the log orders them by id.
    assert sorted(attempt["status_code"] for attempt in log) == [200, 200, 500]
    assert all(isinstance(attempt["duration_ms"], int) for attempt in log)
    assert uuid.UUID(log[0]["event_id"])
    newest_first = attempts(local_api, endpoint, sort="-created_at")
    assert [attempt["id"] for attempt in newest_first] == [attempt["id"] for attempt in reversed(log)]


def test_no_answer_within_the_timeout_is_a_failure(
    local_api: Api, receiver: Receiver, local_client: Any, clock: Clock
) -> None:
    endpoint = make_endpoint(local_api, url=receiver.url)
    receiver.answer(200, delay=1.5)
    local_api.make_customer()
    impatient = Delivering(local_client, clock)
    impatient.deliverer.timeout_seconds = 0.5

    impatient.until_idle()

    [attempt] = attempts(local_api, endpoint)
    assert (attempt["status_code"], attempt["result"]) == (None, "retrying")
    assert attempt["error"] == "No answer within 0.5 s."
    assert 400 <= attempt["duration_ms"] < 1500
    impatient.call(impatient.deliverer.aclose)


@pytest.mark.parametrize(
    ("status", "header", "wait"),
    [
        (429, "30", timedelta(seconds=30)),
        (503, "Mon, 07 Dec 2026 12:10:00 GMT", timedelta(minutes=10)),
        (500, "999999", timedelta(hours=24)),
        (503, "soon", None),
        (400, "30", None),
        (302, "30", None),
    ],
)
def test_retry_after_is_read_from_429_and_5xx_as_seconds_or_a_date(
    status: int, header: str, wait: timedelta | None
) -> None:
    answer = Answer(status, {"retry-after": header})

    assert retry_after(answer, datetime(2026, 12, 7, 12, 0, 0)) == wait


def test_a_delivery_whose_event_is_no_longer_kept_fails_at_once(
    local_api: Api, receiver: Receiver, delivering: Delivering, local_client: Any
) -> None:
    endpoint = make_endpoint(local_api, url=receiver.url)
    local_api.make_customer()
    delivering.call(delivering.deliverer.hand_out)
    run_statement(local_client, delete(events).where(events.c.business_id == local_api.business_id))

    delivering.until_idle()

    assert receiver.received == []
    [attempt] = attempts(local_api, endpoint)
    assert (attempt["result"], attempt["error"]) == ("failed", "The event is no longer kept (30 days).")
