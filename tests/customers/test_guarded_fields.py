"""SPEC §4: fields that only a token with their write scope may change."""

from typing import Any

import pytest

from clientele.auth import scopes as scope
from tests.conftest import next_phone
from tests.customers.conftest import all_scopes_but, assert_field_error, is_sentence

# field, a value that differs from the default, the scope needed to set it
GUARDED = [
    ("house_account_limit", 500, scope.ACCOUNTS_WRITE),
    ("is_house_account_enabled", True, scope.ACCOUNTS_WRITE),
    ("is_loyalty_enabled", True, scope.LOYALTY_WRITE),
]
DEFAULTS = {"house_account_limit": None, "is_house_account_enabled": False, "is_loyalty_enabled": False}


def assert_forbidden_field(response: Any, field: str, needed: str) -> None:
    assert response.status_code == 403, response.text
    message = response.json()["message"]
    assert is_sentence(message)
    assert field in message and needed in message, message


@pytest.mark.parametrize(("field", "value", "needed"), GUARDED)
def test_setting_a_guarded_field_on_create_needs_its_write_scope(api_with, stored_customers, field, value, needed):
    writer = api_with(*all_scopes_but(needed))

    response = writer.post("/customers", json={"name": "Simona", "dial_code": 966, "phone": next_phone(), field: value})

    assert_forbidden_field(response, field, needed)
    assert stored_customers() == []


@pytest.mark.parametrize(("field", "value", "needed"), GUARDED)
def test_setting_a_guarded_field_on_create_with_its_write_scope_works(api_with, stored_customer, field, value, needed):
    writer = api_with(scope.CUSTOMERS_WRITE, needed)

    customer = writer.make_customer(**{field: value})

    assert stored_customer(customer["id"])[field] == value


@pytest.mark.parametrize(("field", "value", "needed"), GUARDED)
def test_changing_a_guarded_field_on_update_needs_its_write_scope(api, api_with, stored_customer, field, value, needed):
    customer = api.make_customer()
    before = stored_customer(customer["id"])

    response = api_with(*all_scopes_but(needed)).put(
        f"/customers/{customer['id']}", json={"name": "Renamed", field: value}
    )

    assert_forbidden_field(response, field, needed)
    assert stored_customer(customer["id"]) == before


@pytest.mark.parametrize(("field", "value", "needed"), GUARDED)
def test_changing_a_guarded_field_on_update_with_its_write_scope_works(
    api, api_with, stored_customer, field, value, needed
):
    customer = api.make_customer()

    response = api_with(scope.CUSTOMERS_WRITE, needed).put(f"/customers/{customer['id']}", json={field: value})

    assert response.status_code == 200, response.text
    assert stored_customer(customer["id"])[field] == value


def test_clearing_a_house_account_limit_is_a_change(api, api_with, stored_customer):
    customer = api.make_customer(house_account_limit=100)

    response = api_with(scope.CUSTOMERS_WRITE).put(f"/customers/{customer['id']}", json={"house_account_limit": None})

    assert_forbidden_field(response, "house_account_limit", scope.ACCOUNTS_WRITE)
    assert stored_customer(customer["id"])["house_account_limit"] == 100


@pytest.mark.parametrize("is_loyalty_enabled", [False, 0])
def test_sending_the_defaults_on_create_needs_no_write_scope(api_with, is_loyalty_enabled):
    writer = api_with(scope.CUSTOMERS_WRITE)

    customer = writer.make_customer(
        house_account_limit=None, is_house_account_enabled=False, is_loyalty_enabled=is_loyalty_enabled
    )

    assert customer["is_loyalty_enabled"] is False


def test_echoing_the_stored_values_on_update_needs_no_write_scope(api, api_with, stored_customer):
    customer = api.make_customer(house_account_limit=250, is_house_account_enabled=True, is_loyalty_enabled=True)
    before = stored_customer(customer["id"])

    response = api_with(scope.CUSTOMERS_WRITE).put(
        f"/customers/{customer['id']}",
        json={"house_account_limit": 250, "is_house_account_enabled": 1, "is_loyalty_enabled": True},
    )

    assert response.status_code == 200, response.text
    assert stored_customer(customer["id"]) == before


def test_a_get_body_can_be_put_back_without_write_scopes(api, api_with, stored_customer):
    tag = api.make_tag()
    customer = api.make_customer(
        house_account_limit=250,
        is_house_account_enabled=True,
        is_loyalty_enabled=True,
        email="simona@example.net",
        birth_date="1986-09-17",
        tags=[{"id": tag["id"]}],
    )
    api.make_address(customer["id"])
    reader = api_with(scope.CUSTOMERS_GET, scope.CUSTOMERS_WRITE, scope.ACCOUNTS_READ, scope.LOYALTY_READ)
    shown = reader.get(f"/customers/{customer['id']}?include=tags,addresses").json()["data"]
    before = stored_customer(customer["id"])

    response = reader.put(f"/customers/{customer['id']}", json=shown)

    assert response.status_code == 200, response.text
    assert stored_customer(customer["id"]) == before


def test_a_field_error_comes_before_a_guarded_field(api_with, stored_customers):
    writer = api_with(scope.CUSTOMERS_WRITE)

    response = writer.post(
        "/customers", json={"name": "", "dial_code": 966, "phone": next_phone(), "is_loyalty_enabled": True}
    )

    assert_field_error(response, "name")
    assert stored_customers() == []


def test_an_unknown_tag_comes_before_a_guarded_field(api_with):
    writer = api_with(scope.CUSTOMERS_WRITE)

    response = writer.post(
        "/customers",
        json={
            "name": "Simona",
            "dial_code": 966,
            "phone": next_phone(),
            "tags": [{"id": "0190f1c2-0000-7000-8000-000000000000"}],
            "house_account_limit": 10,
        },
    )

    assert_field_error(response, "tags")


def test_a_taken_phone_comes_before_a_guarded_field_on_create(api, api_with, stored_customers):
    phone = next_phone()
    api.make_customer(phone=phone)

    response = api_with(scope.CUSTOMERS_WRITE).post(
        "/customers", json={"name": "Twin", "dial_code": 966, "phone": phone, "is_house_account_enabled": True}
    )

    assert_field_error(response, "phone")
    assert len(stored_customers()) == 1


def test_a_taken_phone_comes_before_a_guarded_field_on_update(api, api_with, stored_customer):
    phone = next_phone()
    api.make_customer(phone=phone)
    other = api.make_customer()
    before = stored_customer(other["id"])

    response = api_with(scope.CUSTOMERS_WRITE).put(
        f"/customers/{other['id']}", json={"phone": phone, "is_loyalty_enabled": True}
    )

    assert_field_error(response, "phone")
    assert stored_customer(other["id"]) == before


def test_the_defaults_hold_without_write_scopes(api_with):
    customer = api_with(scope.CUSTOMERS_WRITE, scope.ACCOUNTS_READ).make_customer()
    assert {field: customer[field] for field in DEFAULTS} == DEFAULTS
