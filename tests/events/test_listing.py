"""`GET /events` and `GET /events/{id}` (SPEC §10): oldest first by cursor, the filters, who sees which
event and which of its fields, `/v5`, and tenancy."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.events import service as events
from tests.conftest import Api, run_in_app
from tests.events.conftest import uncommitted_event, walk

RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
GUARDED = {"house_account_limit", "house_account_balance", "loyalty_balance"}


def changes_of_a_customer(api: Api) -> dict[str, Any]:
    """A customer created, updated (a guarded field among the changes), charged, deleted and restored."""
    customer = api.make_customer(is_house_account_enabled=True, is_loyalty_enabled=True)
    path = f"/customers/{customer['id']}"
    assert api.put(path, json={"name": "Renamed", "house_account_limit": 50}).status_code == 200
    api.create("/house_account_transactions", {"customer_id": customer["id"], "amount": -5})
    assert api.delete(path).status_code == 204
    assert api.put(f"{path}/restore").status_code == 200
    return customer


CUSTOMER_TYPES = [
    "customer.created",
    "customer.updated",
    "house_account_transaction.created",
    "customer.updated",
    "customer.deleted",
    "customer.restored",
]


def test_a_cursor_walk_lists_every_event_once_oldest_first(api: Api) -> None:
    customer = changes_of_a_customer(api)
    tag = api.make_tag()

    listed = walk(api, per_page=2)

    assert [event["type"] for event in listed] == [*CUSTOMER_TYPES, "tag.created"]
    assert len({event["id"] for event in listed}) == len(listed)
    assert [event["data"]["id"] for event in listed[:2]] == [customer["id"], customer["id"]]
    assert listed[-1]["data"] == tag
    for event in listed:
        assert RFC3339_UTC.fullmatch(event["timestamp"])
        assert set(event) == {"id", "type", "timestamp", "data"} | (
            {"changes"} if event["type"].endswith("updated") else set()
        )
    assert listed[1]["changes"] == {"name": "Test Customer", "house_account_limit": None} | (
        {"updated_at": listed[0]["data"]["updated_at"]} if "updated_at" in listed[1]["changes"] else {}
    )


def test_a_tail_polls_with_the_last_cursor_for_what_comes_next(api: Api) -> None:
    api.make_tag()
    first = api.get("/events").json()
    assert first["links"]["next"] is None
    cursor = first["meta"]["next_cursor"]

    nothing_yet = api.get("/events", params={"cursor": cursor}).json()
    tag = api.make_tag()
    then = api.get("/events", params={"cursor": cursor}).json()

    assert nothing_yet["data"] == []
    assert nothing_yet["meta"]["next_cursor"] == cursor
    assert [event["data"] for event in then["data"]] == [tag]
    assert api.get("/events", params={"cursor": then["meta"]["next_cursor"]}).json()["data"] == []


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        ("customer.deleted", ["customer.deleted"]),
        ("customer.created,tag.created", ["customer.created", "tag.created"]),
        ("customer.*", [t for t in CUSTOMER_TYPES if t.startswith("customer.")]),
        ("house_account_transaction.*, tag.*", ["house_account_transaction.created", "tag.created"]),
        ("*", [*CUSTOMER_TYPES, "tag.created"]),
    ],
)
def test_the_type_filter_takes_types_and_families(api: Api, types: str, expected: list[str]) -> None:
    changes_of_a_customer(api)
    api.make_tag()

    assert [event["type"] for event in walk(api, **{"filter[type]": types})] == expected


@pytest.mark.parametrize("types", ["customer.renamed", "customer", "custom*", "customer.created,bogus.*"])
def test_an_unknown_type_is_a_400_naming_the_filter(api: Api, types: str) -> None:
    response = api.get("/events", params={"filter[type]": types})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["filter[type]"]


def test_the_record_filter_lists_one_records_events(api: Api) -> None:
    customer = changes_of_a_customer(api)
    changes_of_a_customer(api)

    listed = walk(api, **{"filter[record_id]": customer["id"]})

    assert [event["type"] for event in listed] == [t for t in CUSTOMER_TYPES if t.startswith("customer.")]
    assert walk(api, **{"filter[record_id]": "not-an-id"}) == []


def test_created_after_takes_an_events_timestamp_and_is_strict(api: Api) -> None:
    api.make_tag()
    [first] = walk(api)
    second = api.make_tag()

    for moment in (first["timestamp"], first["timestamp"].replace("Z", "+00:00")):
        assert [event["data"] for event in walk(api, **{"filter[created_after]": moment})] == [second]
    assert len(walk(api, **{"filter[created_after]": "2000-01-01"})) == 2
    bad = api.get("/events", params={"filter[created_after]": "yesterday"})
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["filter[created_after]"]


def test_one_event_is_read_by_its_id(api: Api) -> None:
    changes_of_a_customer(api)
    listed = walk(api)

    for event in listed:
        response = api.get(f"/events/{event['id']}")
        assert response.status_code == 200
        assert response.json() == {"data": event}
    for missing in ("01939a71-0b2c-7d3e-8f40-5a6b7c8d9e0f", "nope"):
        assert api.get(f"/events/{missing}").status_code == 404


def test_every_route_is_served_under_v5(api: Api) -> None:
    changes_of_a_customer(api)

    listed = walk(api, "/v5/events")

    assert listed == walk(api)
    assert api.get(f"/v5/events/{listed[0]['id']}").json() == {"data": listed[0]}


def test_without_events_read_both_routes_are_a_403_naming_it(api: Api, api_with: Callable[..., Api]) -> None:
    changes_of_a_customer(api)
    [event, *_] = walk(api)
    reader = api_with("customers.list", "customers.get", "customers.accounts.read", "general.read")

    for path in ("/events", f"/events/{event['id']}"):
        response = reader.get(path)
        assert response.status_code == 403
        assert "events.read" in response.json()["message"]


def test_guarded_fields_are_shown_only_with_their_read_scope(api: Api, api_with: Callable[..., Api]) -> None:
    changes_of_a_customer(api)
    everything = walk(api)
    reader = api_with("events.read", "customers.get")

    listed = walk(reader)

    # The ledger entry needs its ledger's read scope, as its GET does; the rest shows without the guarded fields.
    assert [event["type"] for event in listed] == [t for t in CUSTOMER_TYPES if t.startswith("customer.")]
    shown = [event for event in everything if event["type"].startswith("customer.")]
    for seen, full in zip(listed, shown, strict=True):
        assert seen["data"] == {name: value for name, value in full["data"].items() if name not in GUARDED}
        if "changes" in full:
            assert seen["changes"] == {name: value for name, value in full["changes"].items() if name not in GUARDED}
    assert GUARDED & set(shown[1]["changes"])
    entry = next(event for event in everything if event["type"] == "house_account_transaction.created")
    assert reader.get(f"/events/{entry['id']}").status_code == 404
    assert api_with("events.read", "customers.accounts.read").get(f"/events/{entry['id']}").json() == {"data": entry}


def test_a_token_sees_only_the_event_types_its_scopes_read(api: Api, api_with: Callable[..., Api]) -> None:
    changes_of_a_customer(api)
    api.make_tag()

    assert walk(api_with("events.read")) == []
    assert [event["type"] for event in walk(api_with("events.read", "general.read"))] == ["tag.created"]


def test_another_business_never_sees_these_events(api: Api, other_api: Api) -> None:
    changes_of_a_customer(api)
    other = other_api.make_tag()
    mine = walk(api)

    assert [event["data"] for event in walk(other_api)] == [other]
    for event in mine:
        assert other_api.get(f"/events/{event['id']}").status_code == 404
        assert walk(other_api, **{"filter[record_id]": event["data"]["id"]}) == []


def test_a_later_event_is_listed_only_once_every_earlier_one_committed(client: TestClient, api: Api) -> None:
    """An event is stamped before its transaction commits: one stamped earlier, still uncommitted, keeps a
    later one out of the list, so that a reader at the end of the list cannot step past it."""
    if client.app.state.engine.dialect.name == "sqlite":  # type: ignore[attr-defined]
        pytest.skip("SQLite runs one write transaction at a time: no event commits behind another")
    with uncommitted_event(client, api, {"held": True}):
        tag = api.make_tag()
        assert walk(api) == []

    assert [event["data"] for event in walk(api)] == [{"held": True}, tag]


def test_one_event_answers_an_etag_and_honours_if_match(api: Api) -> None:
    api.make_tag()
    [event] = walk(api)
    path = f"/events/{event['id']}"
    etag = api.get(path).headers["ETag"]

    assert api.get(path, headers={"If-Match": etag}).status_code == 200
    stale = api.get(path, headers={"If-Match": '"0"'})
    assert stale.status_code == 412
    assert stale.headers["ETag"] == etag


def test_an_import_summary_is_shown_to_a_token_that_lists_customers(
    client: TestClient, api: Api, api_with: Callable[..., Api]
) -> None:
    summary = {"business": {"id": str(api.business_id)}, "source": "import", "created": 1, "rejected": 0, "skipped": 0}

    async def imported(connection: AsyncConnection) -> None:
        await events.record_event(
            connection=connection, business_id=api.business_id, type="customers.imported", record_id=None, data=summary
        )

    run_in_app(client, imported)

    assert [event["data"] for event in walk(api_with("events.read", "customers.list"))] == [summary]
    assert walk(api_with("events.read", "customers.get")) == []
