"""A POST retried with its `Idempotency-Key` gets the first response again and creates nothing twice."""

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Table

from clientele.addresses.models import addresses
from clientele.auth.scopes import ACCOUNTS_READ, ALL_SCOPES, CUSTOMERS_WRITE
from clientele.customers.models import customers
from clientele.delivery_zones.models import delivery_zones
from clientele.tags.models import tags
from clientele.web.idempotency import KEY_HEADER, KEY_LENGTH, KEY_REUSED, REPLAYED_HEADER
from tests.conftest import Api, next_phone
from tests.idempotency.conftest import CountStored, keyed


def new_customer() -> dict[str, Any]:
    return {"name": "Retried", "dial_code": 966, "phone": next_phone()}


def assert_same_response(replayed: httpx.Response, first: httpx.Response) -> None:
    assert (replayed.status_code, replayed.content, replayed.headers.get("location")) == (
        first.status_code,
        first.content,
        first.headers.get("location"),
    )
    assert replayed.headers[REPLAYED_HEADER] == "true"


def assert_key_refused(response: httpx.Response, status: int, sentence: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"message": sentence, "errors": {KEY_HEADER: [sentence]}}
    assert REPLAYED_HEADER not in response.headers


def test_a_retry_gets_the_first_response_byte_for_byte_and_creates_nothing(api: Api, count_stored: CountStored) -> None:
    body = new_customer()

    first = api.post("/customers", json=body, headers=keyed("order-1"))
    retried = api.post("/customers", json=body, headers=keyed("order-1"))

    assert first.status_code == 201, first.text
    assert REPLAYED_HEADER not in first.headers
    # Running the create again would be a 422 (the phone is taken now): the replay is not a re-run.
    assert_same_response(retried, first)
    assert count_stored(customers, api.business_id) == 1


def test_the_same_json_written_differently_is_the_same_request(api: Api, count_stored: CountStored) -> None:
    body = new_customer()

    first = api.post("/customers", content=orjson.dumps(body), headers=keyed("spaced"))
    reformatted = api.post(
        "/customers",
        content=orjson.dumps(dict(reversed(body.items())), option=orjson.OPT_INDENT_2),
        headers=keyed("spaced"),
    )

    assert_same_response(reformatted, first)
    assert count_stored(customers, api.business_id) == 1


def test_requests_without_a_key_are_each_run(api: Api, count_stored: CountStored) -> None:
    body = {"name": "Twice"}

    statuses = [api.post("/tags", json=body).status_code, api.post("/tags", json=body | {"name": "Again"}).status_code]

    assert statuses == [201, 201]
    assert count_stored(tags, api.business_id) == 2


def test_the_same_key_with_another_body_is_refused_and_creates_nothing(api: Api, count_stored: CountStored) -> None:
    api.post("/customers", json=new_customer(), headers=keyed("order-2"))

    response = api.post("/customers", json=new_customer(), headers=keyed("order-2"))

    assert_key_refused(response, 422, KEY_REUSED)
    assert count_stored(customers, api.business_id) == 1


@pytest.mark.parametrize(
    "path, query", [("/tags", {}), ("/customers", {"include": "tags"})], ids=["another route", "another query"]
)
def test_the_same_key_on_another_request_line_is_refused(
    api: Api, count_stored: CountStored, path: str, query: dict[str, str]
) -> None:
    body = {"name": "Shared body"} | new_customer()
    api.post("/customers", json=body, headers=keyed("order-3"))

    response = api.post(path, json=body, params=query, headers=keyed("order-3"))

    assert_key_refused(response, 422, KEY_REUSED)
    assert (count_stored(customers, api.business_id), count_stored(tags, api.business_id)) == (1, 0)


def test_a_token_with_other_scopes_cannot_replay_what_it_could_not_see(
    api: Api, api_with: Callable[..., Api], count_stored: CountStored
) -> None:
    body = new_customer()
    first = api.post("/customers", json=body, headers=keyed("order-4"))
    assert "house_account_balance" in first.json()["data"]
    narrower = api_with(*(scope for scope in ALL_SCOPES if scope != ACCOUNTS_READ))

    response = narrower.post("/customers", json=body, headers=keyed("order-4"))

    assert_key_refused(response, 422, KEY_REUSED)
    assert count_stored(customers, api.business_id) == 1


def test_another_token_of_the_business_with_the_same_scopes_gets_the_replay(
    api: Api, api_with: Callable[..., Api]
) -> None:
    body = new_customer()
    first = api.post("/customers", json=body, headers=keyed("order-5"))

    replayed = api_with(*ALL_SCOPES).post("/customers", json=body, headers=keyed("order-5"))

    assert_same_response(replayed, first)


def test_another_business_using_the_same_key_is_unaffected(api: Api, other_api: Api, count_stored: CountStored) -> None:
    body = new_customer()
    ours = api.post("/customers", json=body, headers=keyed("shared-key"))

    theirs = other_api.post("/customers", json=body, headers=keyed("shared-key"))

    assert (ours.status_code, theirs.status_code) == (201, 201), theirs.text
    assert REPLAYED_HEADER not in theirs.headers
    assert theirs.json()["data"]["id"] != ours.json()["data"]["id"]
    assert (count_stored(customers, api.business_id), count_stored(customers, other_api.business_id)) == (1, 1)


@pytest.mark.parametrize("key", ["", "k" * 256], ids=["empty", "256 characters"])
def test_a_key_outside_1_to_255_characters_is_a_bad_request(api: Api, count_stored: CountStored, key: str) -> None:
    response = api.post("/tags", json={"name": "Never stored"}, headers=keyed(key))

    assert_key_refused(response, 400, KEY_LENGTH)
    assert count_stored(tags, api.business_id) == 0


@pytest.mark.parametrize("key", ["k", "k" * 255], ids=["1 character", "255 characters"])
def test_keys_of_1_to_255_characters_are_honoured(api: Api, count_stored: CountStored, key: str) -> None:
    first = api.post("/tags", json={"name": "Kept"}, headers=keyed(key))

    assert_same_response(api.post("/tags", json={"name": "Kept"}, headers=keyed(key)), first)
    assert count_stored(tags, api.business_id) == 1


def test_the_key_is_checked_after_authentication_and_scope(anonymous: Api, api_with: Callable[..., Api]) -> None:
    bad_key = keyed("k" * 256)

    assert anonymous.post("/tags", json={"name": "x"}, headers=bad_key).status_code == 401
    assert api_with(CUSTOMERS_WRITE).post("/tags", json={"name": "x"}, headers=bad_key).status_code == 403


def test_a_bad_key_wins_over_an_oversized_body(api: Api) -> None:
    oversized = b'{"name": "' + b"x" * 1024 * 1024 + b'"}'

    assert_key_refused(api.post("/tags", content=oversized, headers=keyed("")), 400, KEY_LENGTH)


def test_a_failed_request_is_not_remembered(api: Api, count_stored: CountStored) -> None:
    incomplete = {"name": "No phone yet", "dial_code": 966}

    failures = [api.post("/customers", json=incomplete, headers=keyed("order-6")) for _ in range(2)]
    fixed = api.post("/customers", json=incomplete | {"phone": next_phone()}, headers=keyed("order-6"))

    assert [failure.status_code for failure in failures] == [422, 422]
    assert all(REPLAYED_HEADER not in failure.headers for failure in failures)
    assert fixed.status_code == 201, fixed.text
    assert REPLAYED_HEADER not in fixed.headers
    assert count_stored(customers, api.business_id) == 1


def test_a_body_that_is_not_json_is_refused_before_the_key_is_claimed(api: Api) -> None:
    refused = api.post("/tags", content=b"{not json", headers=keyed("order-7"))
    accepted = api.post("/tags", json={"name": "After the typo"}, headers=keyed("order-7"))

    assert refused.status_code == 400, refused.text
    assert accepted.status_code == 201, accepted.text
    assert REPLAYED_HEADER not in accepted.headers


def address_body(api: Api) -> dict[str, Any]:
    return {"name": "Home", "customer_id": api.make_customer()["id"]}


@pytest.mark.parametrize(
    "path, table, make_body",
    [
        ("/customers", customers, lambda _api: new_customer()),
        ("/tags", tags, lambda _api: {"name": "Retried tag"}),
        ("/delivery_zones", delivery_zones, lambda _api: {"name": "Retried zone", "reference": "Z-1"}),
        ("/addresses", addresses, address_body),
        ("/v5/tags", tags, lambda _api: {"name": "Retried under /v5"}),
    ],
    ids=["customers", "tags", "delivery zones", "addresses", "v5 prefix"],
)
def test_every_post_route_replays_instead_of_creating_again(
    api: Api, count_stored: CountStored, path: str, table: Table, make_body: Callable[[Api], dict[str, Any]]
) -> None:
    body = make_body(api)
    key = str(uuid.uuid4())

    first = api.post(path, json=body, headers=keyed(key))
    retried = api.post(path, json=body, headers=keyed(key))

    assert first.status_code == 201, first.text
    assert first.headers["location"].endswith(f"{path}/{first.json()['data']['id']}")
    assert_same_response(retried, first)
    assert count_stored(table, api.business_id) == 1
