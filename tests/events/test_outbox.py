"""The outbox (SPEC §10): every committed change writes exactly one event, in its own transaction, whichever
path made it (a route, the create fast path on PostgreSQL, import, seed), showing the record as its GET
shows it; a write that fails, changes nothing or is a replay writes none."""

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clientele.bulk.files import import_customers
from clientele.bulk.seeding import seed_customers
from tests.conftest import Api, next_phone

Written = Callable[[], list[dict[str, Any]]]


def shown(api: Api, path: str) -> dict[str, Any]:
    response = api.get(path)
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def differences(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """`{field: value before}` for each field shown differently."""
    return {name: before[name] for name in after if before[name] != after[name]}


def only_event(written: Written) -> dict[str, Any]:
    rows = written()
    assert len(rows) == 1, [row["type"] for row in rows]
    return rows[0]


def assert_event(event: dict[str, Any], type_: str, record: dict[str, Any], changes: Any = None) -> None:
    assert event["type"] == type_
    assert event["record_id"] == uuid.UUID(record["id"])
    assert event["data"] == record
    assert event["changes"] == changes
    assert event["dispatched_at"] is None


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({}, id="plain (the fast path on PostgreSQL)"),
        pytest.param({"email": "n@example.com", "is_loyalty_enabled": True, "house_account_limit": 40}, id="fields"),
        pytest.param(None, id="with a tag (the route)"),
    ],
)
def test_a_created_customer_writes_one_event_holding_it_as_get_shows_it(api: Api, written: Written, extra) -> None:
    body = {"name": "Nour", "dial_code": 966, "phone": next_phone()}
    if extra is None:
        extra = {"tags": [{"id": api.make_tag()["id"]}]}
        written()
    created = api.create("/customers", body | extra)

    assert_event(only_event(written), "customer.created", shown(api, f"/customers/{created['id']}"))


def test_customer_updates_deletes_and_restores_each_write_one_event(api: Api, written: Written) -> None:
    customer = api.make_customer(name="Before", email="before@example.com")
    path = f"/customers/{customer['id']}"
    written()

    before = shown(api, path)
    assert api.put(path, json={"name": "After", "email": None, "is_blacklisted": True}).status_code == 200
    after = shown(api, path)
    assert_event(only_event(written), "customer.updated", after, differences(before, after))
    assert set(differences(before, after)) >= {"name", "email", "is_blacklisted"}

    assert api.delete(path).status_code == 204
    assert_event(only_event(written), "customer.deleted", shown(api, path))
    assert shown(api, path)["deleted_at"] is not None

    assert api.put(f"{path}/restore").status_code == 200
    assert_event(only_event(written), "customer.restored", shown(api, path))


def test_a_change_of_tags_alone_is_an_update_event(api: Api, written: Written) -> None:
    customer = api.make_customer()
    path = f"/customers/{customer['id']}"
    tag = api.make_tag()
    written()
    before = shown(api, path)

    assert api.put(path, json={"tags": [{"id": tag["id"]}]}).status_code == 200

    after = shown(api, path)
    assert_event(only_event(written), "customer.updated", after, differences(before, after))


def test_writes_that_change_nothing_write_no_event(api: Api, written: Written) -> None:
    customer = api.make_customer(name="Same")
    path = f"/customers/{customer['id']}"
    tag = api.make_tag()
    assert api.put(path, json={"tags": [{"id": tag["id"]}]}).status_code == 200
    written()

    assert api.put(path, json={"name": "Same", "tags": [{"id": tag["id"]}]}).status_code == 200
    assert api.put(f"{path}/restore").status_code == 200
    assert api.delete(path).status_code == 204
    written()
    assert api.delete(path).status_code == 204

    assert written() == []


def test_writes_that_fail_write_no_event(api: Api, api_with, written: Written) -> None:
    taken = api.make_customer()
    deleted = api.make_customer()
    assert api.delete(f"/customers/{deleted['id']}").status_code == 204
    written()

    answers = [
        api.post("/customers", json={"name": "Bad", "dial_code": 966, "phone": next_phone(), "email": "x"}),
        api.post("/customers", json={"name": "Taken", "dial_code": 966, "phone": taken["phone"]}),
        api.post("/customers", json={"name": "Tagged", "dial_code": 966, "phone": next_phone(), "tags": [{"id": "x"}]}),
        api.put(f"/customers/{deleted['id']}", json={"name": "Deleted"}),
        api.put(f"/customers/{taken['id']}", json={"name": "Stale"}, headers={"If-Match": '"0"'}),
        api_with("customers.write").put(f"/customers/{taken['id']}", json={"house_account_limit": 5}),
        api.put(f"/customers/{taken['id']}", json={"phone": "1"}),
        api.post("/tags", json={"name": ""}),
        api.post("/house_account_transactions", json={"customer_id": taken["id"], "amount": -5}),
    ]

    assert [answer.status_code for answer in answers] == [422, 422, 422, 409, 412, 403, 422, 422, 422]
    assert written() == []


def test_an_idempotent_replay_writes_no_second_event(api: Api, written: Written) -> None:
    body = {"name": "Once", "dial_code": 966, "phone": next_phone()}
    first = api.post("/customers", json=body, headers={"Idempotency-Key": "events-once"})
    replay = api.post("/customers", json=body, headers={"Idempotency-Key": "events-once"})

    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert [row["type"] for row in written()] == ["customer.created"]


RECORDS = [
    pytest.param("/tags", "tag", {"name_localized": "وسم"}, True, id="tag"),
    pytest.param("/delivery_zones", "delivery_zone", {"reference": "Z-1"}, True, id="delivery zone"),
    pytest.param("/addresses", "address", {"description": "Second floor"}, False, id="address"),
]


@pytest.mark.parametrize(("collection", "kind", "change", "restorable"), RECORDS)
def test_other_records_write_one_event_per_change(
    api: Api, written: Written, collection: str, kind: str, change: dict[str, Any], restorable: bool
) -> None:
    body: dict[str, Any] = {"name": f"{kind}-{uuid.uuid4().hex[:8]}"}
    if kind == "address":
        body["customer_id"] = api.make_customer()["id"]
    written()

    record = api.create(collection, body)
    path = f"{collection}/{record['id']}"
    assert_event(only_event(written), f"{kind}.created", shown(api, path))

    before = shown(api, path)
    assert api.put(path, json=change).status_code == 200
    after = shown(api, path)
    assert_event(only_event(written), f"{kind}.updated", after, differences(before, after))
    assert api.put(path, json=change).status_code == 200
    assert written() == []

    assert api.delete(path).status_code == 204
    assert_event(only_event(written), f"{kind}.deleted", shown(api, path))
    if restorable:
        assert api.put(f"{path}/restore").status_code == 200
        assert_event(only_event(written), f"{kind}.restored", shown(api, path))


def test_a_zones_branches_changed_alone_are_an_update_event(api: Api, written: Written) -> None:
    zone = api.make_zone()
    path = f"/delivery_zones/{zone['id']}"
    written()
    before = shown(api, path)

    assert api.put(path, json={"branches": [{"id": "branch-1"}]}).status_code == 200

    after = shown(api, path)
    assert_event(only_event(written), "delivery_zone.updated", after, differences(before, after))


@pytest.mark.parametrize(
    ("collection", "kind", "balance", "amount"),
    [
        ("/house_account_transactions", "house_account_transaction", "house_account_balance", -12.5),
        ("/loyalty_transactions", "loyalty_transaction", "loyalty_balance", 7),
    ],
)
def test_a_ledger_entry_writes_its_event_and_the_customers_balance_update(
    api: Api, written: Written, collection: str, kind: str, balance: str, amount: float
) -> None:
    customer = api.make_customer(is_house_account_enabled=True, is_loyalty_enabled=True)
    path = f"/customers/{customer['id']}"
    before = shown(api, path)
    written()

    entry = api.create(collection, {"customer_id": customer["id"], "amount": amount})

    created, updated = written()
    assert_event(created, f"{kind}.created", shown(api, f"{collection}/{entry['id']}"))
    after = shown(api, path)
    assert after[balance] == amount
    assert_event(updated, "customer.updated", after, differences(before, after))
    assert updated["changes"][balance] == 0


def test_an_import_writes_one_summary_event(client: TestClient, api: Api, written: Written, tmp_path: Path) -> None:
    taken = api.make_customer()
    written()
    source = tmp_path / "customers.csv"
    source.write_text(
        "name,dial_code,phone,house_account_balance\n"
        f"One,966,{next_phone()},-20\n"
        f"Two,966,{next_phone()},\n"
        f"Taken,966,{taken['phone']},\n"
        "Bad,966,12,\n"
    )

    async def run() -> Any:
        return await import_customers(
            engine=client.app.state.engine,  # type: ignore[attr-defined]
            business_id=api.business_id,
            path=source,
            file_format="csv",
            rejects_path=tmp_path / "rejects.csv",
        )

    client.portal.call(run)  # type: ignore[union-attr]

    [event] = written()
    assert event["type"] == "customers.imported"
    assert event["record_id"] is None
    assert event["data"] == {
        "business": {"id": str(api.business_id)},
        "source": "import",
        "created": 2,
        "rejected": 1,
        "skipped": 1,
    }


def test_a_seed_writes_one_summary_event_for_its_customers(client: TestClient, api: Api, written: Written) -> None:
    async def run() -> Any:
        return await seed_customers(
            engine=client.app.state.engine,  # type: ignore[attr-defined]
            business_id=api.business_id,
            count=30,
            random_seed=7,
            batch_size=10,
            jobs=1,
        )

    client.portal.call(run)  # type: ignore[union-attr]

    rows = written()
    summaries = [row for row in rows if row["type"] == "customers.imported"]
    assert [summary["data"]["created"] for summary in summaries] == [30]
    # The seed's tags and zones are made through their services, each one a change of its own.
    assert {row["type"] for row in rows} == {"customers.imported", "tag.created", "delivery_zone.created"}
