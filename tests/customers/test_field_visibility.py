"""SPEC §4-5: which fields every customer object holds, by scope and by include, and how they look."""

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from clientele.auth import scopes as scope
from tests.conftest import Api, next_phone

ALWAYS_SHOWN = {
    "id",
    "name",
    "dial_code",
    "phone",
    "email",
    "gender",
    "birth_date",
    "is_loyalty_enabled",
    "is_blacklisted",
    "is_house_account_enabled",
    "last_order_at",
    "order_count",
    "notes",
    "created_at",
    "updated_at",
    "deleted_at",
}
ACCOUNT_FIELDS = {"house_account_limit", "house_account_balance"}
LOYALTY_FIELDS = {"loyalty_balance"}
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")

READ_SCOPES = {
    "no read scope": ((), ALWAYS_SHOWN),
    "accounts.read": ((scope.ACCOUNTS_READ,), ALWAYS_SHOWN | ACCOUNT_FIELDS),
    "loyalty.read": ((scope.LOYALTY_READ,), ALWAYS_SHOWN | LOYALTY_FIELDS),
    "both": ((scope.ACCOUNTS_READ, scope.LOYALTY_READ), ALWAYS_SHOWN | ACCOUNT_FIELDS | LOYALTY_FIELDS),
}


def via_get(api: Api, customer: dict[str, Any], query: str = "") -> dict[str, Any]:
    response = api.get(f"/customers/{customer['id']}{query}")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def via_list(api: Api, customer: dict[str, Any], query: str = "") -> dict[str, Any]:
    response = api.get(f"/customers{query or '?'}&filter[phone]={customer['phone']}")
    assert response.status_code == 200, response.text
    [found] = response.json()["data"]
    return found


def via_post(api: Api, customer: dict[str, Any], query: str = "") -> dict[str, Any]:
    response = api.post(f"/customers{query}", json={"name": "Another", "dial_code": 966, "phone": next_phone()})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def via_put(api: Api, customer: dict[str, Any], query: str = "") -> dict[str, Any]:
    response = api.put(f"/customers/{customer['id']}{query}", json={"name": "Renamed"})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def via_restore(api: Api, customer: dict[str, Any], query: str = "") -> dict[str, Any]:
    response = api.put(f"/customers/{customer['id']}/restore{query}")
    assert response.status_code == 200, response.text
    return response.json()["data"]


ROUTES: dict[str, tuple[Callable[..., dict[str, Any]], str]] = {
    "GET": (via_get, scope.CUSTOMERS_GET),
    "list": (via_list, scope.CUSTOMERS_LIST),
    "POST": (via_post, scope.CUSTOMERS_WRITE),
    "PUT": (via_put, scope.CUSTOMERS_WRITE),
    "restore": (via_restore, scope.ADMIN_RESTORE),
}


@pytest.fixture
def customer(api: Api) -> dict[str, Any]:
    return api.make_customer()


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("read_scopes", READ_SCOPES)
def test_guarded_fields_are_shown_only_with_their_read_scope(api_with, customer, route, read_scopes):
    show, route_scope = ROUTES[route]
    granted, expected = READ_SCOPES[read_scopes]

    body = show(api_with(route_scope, *granted), customer)

    assert set(body) == expected


@pytest.mark.parametrize("route", ROUTES)
def test_every_field_is_present_with_null_where_null(api, customer, route):
    show, _ = ROUTES[route]

    body = show(api, customer)

    assert body["email"] is None
    assert body["gender"] is None
    assert body["birth_date"] is None
    assert body["house_account_limit"] is None
    assert body["last_order_at"] is None
    assert body["deleted_at"] is None
    assert body["house_account_balance"] == 0
    assert body["loyalty_balance"] == 0
    assert body["order_count"] == 0
    assert body["is_loyalty_enabled"] is False
    assert body["is_blacklisted"] is False
    assert body["is_house_account_enabled"] is False


@pytest.mark.parametrize("route", ROUTES)
def test_relations_are_absent_unless_included(api, customer, route):
    show, _ = ROUTES[route]

    assert not {"tags", "addresses"} & set(show(api, customer))
    assert set(show(api, customer, "?include=tags")) - ALWAYS_SHOWN - ACCOUNT_FIELDS - LOYALTY_FIELDS == {"tags"}
    with_addresses = show(api, customer, "?include=addresses")
    assert set(with_addresses) - ALWAYS_SHOWN - ACCOUNT_FIELDS - LOYALTY_FIELDS == {"addresses"}


def test_values_have_their_wire_types(api):
    tag = api.make_tag()
    customer = api.make_customer(
        email="simona@example.net",
        gender=2,
        birth_date="1986-09-17",
        house_account_limit=1000,
        is_blacklisted=1,
        tags=[{"id": tag["id"]}],
    )

    body = via_get(api, customer, "?include=tags")

    assert uuid.UUID(body["id"]).version == 7
    assert str(uuid.UUID(body["id"])) == body["id"]
    assert isinstance(body["dial_code"], int) and body["dial_code"] == 966
    assert isinstance(body["phone"], str)
    assert body["gender"] == 2
    assert body["birth_date"] == "1986-09-17"
    assert body["house_account_limit"] == 1000
    assert isinstance(body["house_account_balance"], int | float)
    assert isinstance(body["loyalty_balance"], int | float)
    assert body["is_blacklisted"] is True
    assert isinstance(body["order_count"], int)
    assert [item["id"] for item in body["tags"]] == [tag["id"]]


def test_timestamps_are_utc_seconds(api, stored_customer):
    customer = api.make_customer()
    assert api.delete(f"/customers/{customer['id']}").status_code == 204

    body = via_get(api, customer)
    row = stored_customer(customer["id"])

    for field in ("created_at", "updated_at", "deleted_at"):
        assert TIMESTAMP.fullmatch(body[field]), body[field]
        assert body[field] == row[field].strftime("%Y-%m-%d %H:%M:%S")


def test_ids_are_distinct_uuids(api):
    ids = [api.make_customer()["id"] for _ in range(3)]
    assert len({uuid.UUID(customer_id) for customer_id in ids}) == 3
