"""An address's `city_id` and `details` (SPEC §8): in bodies and in every address object, customers'
included addresses too; invalid values are a 422 naming the field, and nothing is stored."""

import pytest

from tests.customers.conftest import is_sentence


def test_city_and_details_are_stored_and_shown(api, stored_address):
    customer = api.make_customer()

    address = api.make_address(customer["id"], city_id=" riyadh-01 ", details=[" Building 4 ", "Floor 2", "Floor 2"])

    assert address["city_id"] == "riyadh-01"
    assert address["details"] == ["Building 4", "Floor 2", "Floor 2"]
    row = stored_address(address["id"])
    assert (row["city_id"], row["details"]) == ("riyadh-01", ["Building 4", "Floor 2", "Floor 2"])
    assert api.get(f"/addresses/{address['id']}").json()["data"] == address


def test_they_default_to_null_and_an_empty_list(api, stored_address):
    address = api.make_address(api.make_customer()["id"])

    assert address["city_id"] is None
    assert address["details"] == []
    assert stored_address(address["id"])["details"] == []


def test_every_address_object_shows_them(api):
    customer = api.make_customer()
    address = api.make_address(customer["id"], city_id="c-1", details=["Gate 3"])

    listed = api.get("/addresses").json()["data"]
    included = api.get(f"/customers/{customer['id']}", params={"include": "addresses"}).json()["data"]["addresses"]
    included_in_list = api.get("/customers", params={"include": "addresses.delivery_zone"}).json()["data"][0]

    assert listed == [address]
    assert included == [address]
    assert included_in_list["addresses"][0]["details"] == ["Gate 3"]
    assert included_in_list["addresses"][0]["city_id"] == "c-1"


def test_update_replaces_details_as_a_whole_and_keeps_what_is_not_sent(api):
    address = api.make_address(api.make_customer()["id"], city_id="c-1", details=["a", "b"])

    response = api.put(f"/addresses/{address['id']}", json={"details": ["c"]})

    assert response.status_code == 200, response.text
    assert response.json()["data"]["details"] == ["c"]
    assert response.json()["data"]["city_id"] == "c-1"


@pytest.mark.parametrize(
    ("field", "cleared", "shown"),
    [("city_id", None, None), ("city_id", "  ", None), ("details", None, []), ("details", [], [])],
)
def test_null_or_empty_clears_them(api, field, cleared, shown):
    address = api.make_address(api.make_customer()["id"], city_id="c-1", details=["a"])

    response = api.put(f"/addresses/{address['id']}", json={field: cleared})

    assert response.status_code == 200, response.text
    assert response.json()["data"][field] == shown


def test_updated_at_moves_only_when_they_change(api, stored_address):
    address = api.make_address(api.make_customer()["id"], city_id="c-1", details=["a", "b"])
    before = stored_address(address["id"])

    assert api.put(f"/addresses/{address['id']}", json={"city_id": " c-1 ", "details": ["a", " b"]}).status_code == 200
    assert stored_address(address["id"]) == before

    assert api.put(f"/addresses/{address['id']}", json={"details": ["b", "a"]}).status_code == 200
    assert stored_address(address["id"])["updated_at"] > before["updated_at"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("city_id", "x" * 65),
        ("city_id", 12),
        ("city_id", ["c-1"]),
        ("city_id", "c\x001"),
        ("details", "Building 4"),
        ("details", {"line": "Building 4"}),
        ("details", ["x"] * 21),
        ("details", ["x" * 256]),
        ("details", [""]),
        ("details", ["   "]),
        ("details", [4]),
        ("details", [None]),
        ("details", [["nested"]]),
        ("details", ["a\x00"]),
    ],
)
def test_an_invalid_value_is_422_naming_the_field_and_nothing_is_stored(
    api, addresses_named, stored_address, field, value
):
    customer = api.make_customer()

    response = api.post("/addresses", json={"name": "Refused address", "customer_id": customer["id"], field: value})

    assert response.status_code == 422, response.text
    assert list(response.json()["errors"]) == [field]
    assert is_sentence(response.json()["message"])
    assert addresses_named("Refused address") == 0

    address = api.make_address(customer["id"], city_id="kept", details=["kept"])
    before = stored_address(address["id"])
    assert api.put(f"/addresses/{address['id']}", json={field: value}).status_code == 422
    assert stored_address(address["id"]) == before


def test_the_limits_are_accepted(api):
    address = api.make_address(api.make_customer()["id"], city_id="x" * 64, details=["y" * 255] * 20)

    assert address["city_id"] == "x" * 64
    assert address["details"] == ["y" * 255] * 20


def test_both_are_documented_in_bodies_and_answers(client):
    document = client.get("/openapi.json").json()
    create = document["paths"]["/addresses"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    shown = document["components"]["schemas"]["AddressOut"]

    assert {"city_id", "details"} <= set(create["properties"])
    assert create["properties"]["details"]["maxItems"] == 20
    assert {"city_id", "details"} <= set(shown["required"])
