"""Tenancy (SPEC §2): a business never sees, changes or refers to another business's records.

Another business's id answers exactly as a missing or malformed id does: 404 with the same
body, never 403 and never a hint that the record exists.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import Api


@dataclass(frozen=True)
class Resource:
    path: str
    make: Callable[[Api], dict[str, Any]]
    change: dict[str, Any]

    def param(self) -> Any:
        return pytest.param(self, id=self.path.strip("/"))


RESOURCES = [
    Resource("/customers", lambda api: api.make_customer(), {"name": "Taken over"}),
    Resource("/tags", lambda api: api.make_tag(), {"name": "Taken over"}),
    Resource("/delivery_zones", lambda api: api.make_zone(), {"name": "Taken over"}),
    Resource("/addresses", lambda api: api.make_address(api.make_customer()["id"]), {"name": "Taken over"}),
]
RESOURCE_PARAMS = [resource.param() for resource in RESOURCES]


def missing_ids() -> list[str]:
    return [str(uuid.uuid4()), "not-a-uuid", "123"]


def assert_indistinguishable(theirs: httpx.Response, missing: list[httpx.Response]) -> None:
    assert theirs.status_code == 404, theirs.text
    for response in missing:
        assert (response.status_code, response.json()) == (theirs.status_code, theirs.json())


@pytest.mark.parametrize("resource", RESOURCE_PARAMS)
def test_another_business_cannot_read_a_record(resource: Resource, api: Api, other_api: Api) -> None:
    record = resource.make(api)

    assert_indistinguishable(
        other_api.get(f"{resource.path}/{record['id']}"),
        [other_api.get(f"{resource.path}/{missing}") for missing in missing_ids()],
    )


@pytest.mark.parametrize("resource", RESOURCE_PARAMS)
def test_another_business_cannot_update_a_record(resource: Resource, api: Api, other_api: Api) -> None:
    record = resource.make(api)

    assert_indistinguishable(
        other_api.put(f"{resource.path}/{record['id']}", json=resource.change),
        [other_api.put(f"{resource.path}/{missing}", json=resource.change) for missing in missing_ids()],
    )
    assert api.get(f"{resource.path}/{record['id']}").json()["data"] == record


@pytest.mark.parametrize("resource", RESOURCE_PARAMS)
def test_another_business_cannot_delete_a_record(resource: Resource, api: Api, other_api: Api) -> None:
    record = resource.make(api)

    assert_indistinguishable(
        other_api.delete(f"{resource.path}/{record['id']}"),
        [other_api.delete(f"{resource.path}/{missing}") for missing in missing_ids()],
    )
    assert api.get(f"{resource.path}/{record['id']}").json()["data"]["deleted_at"] is None


def test_another_business_cannot_restore_a_customer(api: Api, other_api: Api) -> None:
    customer = api.make_customer()
    assert api.delete(f"/customers/{customer['id']}").status_code == 204
    deleted = api.get(f"/customers/{customer['id']}").json()["data"]

    assert_indistinguishable(
        other_api.put(f"/customers/{customer['id']}/restore"),
        [other_api.put(f"/customers/{missing}/restore") for missing in missing_ids()],
    )
    assert api.get(f"/customers/{customer['id']}").json()["data"] == deleted


@pytest.mark.parametrize("resource", RESOURCE_PARAMS)
@pytest.mark.parametrize("is_deleted", ["false", "true"])
def test_lists_never_include_another_business_rows(
    resource: Resource, is_deleted: str, api: Api, other_api: Api
) -> None:
    _active, deleted = resource.make(api), resource.make(api)
    assert api.delete(f"{resource.path}/{deleted['id']}").status_code == 204
    own = resource.make(other_api)
    if is_deleted == "true":
        assert other_api.delete(f"{resource.path}/{own['id']}").status_code == 204

    body = other_api.get(resource.path, params={"filter[is_deleted]": is_deleted, "per_page": 1000}).json()

    assert [row["id"] for row in body["data"]] == [own["id"]]
    assert body["meta"]["total"] == 1


def test_filtering_by_another_business_tag_matches_nothing(api: Api, other_api: Api) -> None:
    tag = api.make_tag()
    api.make_customer(tags=[{"id": tag["id"]}])
    other_api.make_customer()

    body = other_api.get("/customers", params={"filter[tags.id]": tag["id"]}).json()

    assert body["data"] == []
    assert body["meta"]["total"] == 0


def test_filtering_addresses_by_another_business_customer_matches_nothing(api: Api, other_api: Api) -> None:
    customer = api.make_customer()
    api.make_address(customer["id"])
    other_api.make_address(other_api.make_customer()["id"])

    body = other_api.get("/addresses", params={"filter[customer_id]": customer["id"]}).json()

    assert body["data"] == []
    assert body["meta"]["total"] == 0


def test_a_customer_cannot_be_tagged_with_another_business_tag(api: Api, other_api: Api) -> None:
    theirs = api.make_tag()["id"]
    customer = other_api.make_customer()

    refused = other_api.put(f"/customers/{customer['id']}", json={"tags": [{"id": theirs}]})
    missing = other_api.put(f"/customers/{customer['id']}", json={"tags": [{"id": str(uuid.uuid4())}]})

    assert refused.status_code == 422
    assert "tags" in refused.json()["errors"]
    assert (refused.status_code, refused.json()) == (missing.status_code, missing.json())
    included = other_api.get(f"/customers/{customer['id']}", params={"include": "tags"}).json()["data"]
    assert included["tags"] == []


@pytest.mark.parametrize("reference", ["customer_id", "delivery_zone_id"])
def test_an_address_cannot_refer_to_another_business_records(reference: str, api: Api, other_api: Api) -> None:
    theirs = {"customer_id": api.make_customer()["id"], "delivery_zone_id": api.make_zone()["id"]}
    body = {"name": "Home", "customer_id": other_api.make_customer()["id"]}

    refused = other_api.post("/addresses", json=body | {reference: theirs[reference]})
    missing = other_api.post("/addresses", json=body | {reference: str(uuid.uuid4())})

    assert refused.status_code == 422
    assert reference in refused.json()["errors"]
    assert (refused.status_code, refused.json()) == (missing.status_code, missing.json())
    assert other_api.get("/addresses").json()["data"] == []


LEDGERS = ["/house_account_transactions", "/loyalty_transactions"]


def account_entry(api: Api, ledger: str) -> dict[str, Any]:
    """An entry in `ledger` for a new customer of `api`'s business whose accounts are enabled."""
    customer = api.make_customer(is_house_account_enabled=True, is_loyalty_enabled=True)
    return api.create(ledger, {"customer_id": customer["id"], "amount": 5})


@pytest.mark.parametrize("ledger", LEDGERS)
def test_another_business_cannot_read_a_ledger_entry(ledger: str, api: Api, other_api: Api) -> None:
    theirs = account_entry(api, ledger)

    for include in ({}, {"include": "customer"}):
        assert_indistinguishable(
            other_api.get(f"{ledger}/{theirs['id']}", params=include),
            [other_api.get(f"{ledger}/{missing}", params=include) for missing in missing_ids()],
        )


@pytest.mark.parametrize("ledger", LEDGERS)
@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_another_business_entry_answers_a_change_as_a_missing_one_does(
    ledger: str, method: str, api: Api, other_api: Api
) -> None:
    theirs = account_entry(api, ledger)

    refused = other_api.request(method, f"{ledger}/{theirs['id']}", json={"amount": 1})
    missing = other_api.request(method, f"{ledger}/{uuid.uuid4()}", json={"amount": 1})

    assert refused.status_code == 405
    assert (refused.json(), refused.headers["Allow"]) == (missing.json(), missing.headers["Allow"])
    assert api.get(f"{ledger}/{theirs['id']}").json()["data"] == theirs


@pytest.mark.parametrize("ledger", LEDGERS)
def test_ledger_lists_never_include_another_business_entries(ledger: str, api: Api, other_api: Api) -> None:
    theirs = account_entry(api, ledger)
    own = account_entry(other_api, ledger)

    everything = other_api.get(ledger, params={"per_page": 1000}).json()
    by_their_customer = other_api.get(ledger, params={"filter[customer_id]": theirs["customer"]["id"]}).json()
    by_their_id = other_api.get(ledger, params={"filter[id]": theirs["id"]}).json()

    assert [row["id"] for row in everything["data"]] == [own["id"]]
    assert everything["meta"]["total"] == 1
    assert by_their_customer["data"] == by_their_id["data"] == []


@pytest.mark.parametrize("ledger", LEDGERS)
def test_an_entry_cannot_be_written_for_another_business_customer(ledger: str, api: Api, other_api: Api) -> None:
    theirs = api.make_customer(is_house_account_enabled=True, is_loyalty_enabled=True)

    refused = other_api.post(ledger, json={"customer_id": theirs["id"], "amount": 5})
    missing = other_api.post(ledger, json={"customer_id": str(uuid.uuid4()), "amount": 5})

    assert refused.status_code == 422
    assert (refused.status_code, refused.json()) == (missing.status_code, missing.json())
    assert api.get(f"/customers/{theirs['id']}").json()["data"] == theirs
    assert api.get(ledger).json()["data"] == other_api.get(ledger).json()["data"] == []
