"""Listing addresses: filters, sorting, pages and tenancy."""

import uuid
from datetime import datetime

import pytest

from tests.listing.test_cursor_paging import walk


def names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [address["name"] for address in response.json()["data"]]


def test_list_returns_a_page_of_the_business_addresses_only(api, other_api):
    api.make_address(api.make_customer()["id"], name="mine")
    other_api.make_address(other_api.make_customer()["id"], name="theirs")

    response = api.get("/addresses")

    assert names(response) == ["mine"]
    assert response.json()["meta"]["total"] == 1


def test_customer_id_filter_takes_one_or_more_ids(api):
    first, second, third = (api.make_customer() for _ in range(3))
    for customer, name in ((first, "first"), (second, "second"), (third, "third")):
        api.make_address(customer["id"], name=name)

    assert names(api.get("/addresses", params={"filter[customer_id]": first["id"]})) == ["first"]
    assert names(api.get("/addresses", params={"filter[customer_id]": f"{first['id']},{third['id']}"})) == [
        "first",
        "third",
    ]


@pytest.mark.parametrize("value", ["not-a-uuid", "42", str(uuid.uuid4())])
def test_customer_id_filter_with_an_unknown_or_malformed_id_matches_nothing(api, value):
    api.make_address(api.make_customer()["id"])

    response = api.get("/addresses", params={"filter[customer_id]": value})

    assert names(response) == []


def test_customer_id_filter_ignores_malformed_ids_among_good_ones(api):
    customer = api.make_customer()
    api.make_address(customer["id"], name="found")

    assert names(api.get("/addresses", params={"filter[customer_id]": f"junk,{customer['id']}"})) == ["found"]


def test_customer_id_filter_does_not_reach_another_business(api, other_api):
    theirs = other_api.make_customer()
    other_api.make_address(theirs["id"])

    assert names(api.get("/addresses", params={"filter[customer_id]": theirs["id"]})) == []


def test_updated_after_filter_is_strictly_after(api, overwrite_address):
    customer = api.make_customer()
    for name, when in (
        ("old", datetime(2024, 1, 1, 12, 0, 0)),
        ("edge", datetime(2024, 3, 1, 0, 0, 0)),
        ("new", datetime(2024, 3, 1, 0, 0, 0, 1)),
    ):
        overwrite_address(api.make_address(customer["id"], name=name)["id"], updated_at=when)

    assert names(api.get("/addresses", params={"filter[updated_after]": "2024-03-01 00:00:00"})) == ["new"]
    assert names(api.get("/addresses", params={"filter[updated_after]": "2024-01-01"})) == ["old", "edge", "new"]


def test_deleted_addresses_are_listed_only_with_is_deleted_true(api):
    customer = api.make_customer()
    api.make_address(customer["id"], name="kept")
    gone = api.make_address(customer["id"], name="gone")
    api.delete(f"/addresses/{gone['id']}")

    assert names(api.get("/addresses")) == ["kept"]
    assert names(api.get("/addresses", params={"filter[is_deleted]": "0"})) == ["kept"]
    assert names(api.get("/addresses", params={"filter[is_deleted]": "true"})) == ["gone"]


def test_addresses_of_a_deleted_customer_are_still_listed(api):
    customer = api.make_customer()
    api.make_address(customer["id"], name="orphaned")
    api.delete(f"/customers/{customer['id']}")

    assert names(api.get("/addresses", params={"filter[customer_id]": customer["id"]})) == ["orphaned"]


def test_sort_by_created_and_updated_at_in_both_directions(api, overwrite_address):
    customer = api.make_customer()
    first, _second, third = (api.make_address(customer["id"], name=name) for name in ("first", "second", "third"))
    overwrite_address(first["id"], updated_at=datetime(2030, 1, 1))
    overwrite_address(third["id"], updated_at=datetime(2020, 1, 1))

    assert names(api.get("/addresses")) == ["first", "second", "third"]
    assert names(api.get("/addresses", params={"sort": "-created_at"})) == ["third", "second", "first"]
    assert names(api.get("/addresses", params={"sort": "updated_at"})) == ["third", "second", "first"]
    assert names(api.get("/addresses", params={"sort": "-updated_at"})) == ["first", "second", "third"]


def test_pages_keep_the_other_query_parameters_in_their_links(api):
    customer = api.make_customer()
    for number in range(3):
        api.make_address(customer["id"], name=f"address {number}")

    body = api.get("/addresses", params={"per_page": 2, "filter[customer_id]": customer["id"]}).json()

    assert [address["name"] for address in body["data"]] == ["address 0", "address 1"]
    assert body["meta"]["total"] == 3
    assert "filter%5Bcustomer_id%5D=" in body["links"]["next"] and "page=2" in body["links"]["next"]


@pytest.mark.parametrize(
    "params",
    [
        {"filter[city_id]": "riyadh"},
        {"filter[is_deleted]": "yes"},
        {"filter[updated_after]": "2024-13-01"},
        {"filter[updated_on]": "2024-02-30"},
        {"sort": "city_id"},
        {"per_page": "0"},
    ],
)
def test_a_malformed_query_is_400(api, params):
    response = api.get("/addresses", params=params)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [next(iter(params))]


def listed(api, params):
    return names(api.get("/addresses", params=params))


def test_id_filter_lists_any_of_the_ids(api, other_api):
    customer = api.make_customer()
    first, _, third = (api.make_address(customer["id"], name=name) for name in ("First", "Second", "Third"))
    theirs = other_api.make_address(other_api.make_customer()["id"], name="Theirs")

    assert listed(api, {"filter[id]": f"{third['id']},{first['id']}"}) == ["First", "Third"]
    assert listed(api, {"filter[id]": f"{theirs['id']},not-a-uuid"}) == []


def test_name_filter_is_a_case_insensitive_literal_substring(api):
    customer = api.make_customer()
    for name in ("Home", "Summer HOME", "Work", "100% office"):
        api.make_address(customer["id"], name=name)

    assert listed(api, {"filter[name]": "home"}) == ["Home", "Summer HOME"]
    assert listed(api, {"filter[name]": "%"}) == ["100% office"]
    assert listed(api, {"filter[name]": "gym"}) == []


@pytest.mark.parametrize("column", ["created_at", "updated_at"])
def test_created_on_and_updated_on_are_that_utc_day(api, overwrite_address, column):
    customer = api.make_customer()
    for name, moment in [
        ("Day before", datetime(2024, 5, 1, 23, 59, 59, 999_999)),
        ("Midnight", datetime(2024, 5, 2)),
        ("Day after", datetime(2024, 5, 3)),
    ]:
        overwrite_address(api.make_address(customer["id"], name=name)["id"], **{column: moment})

    assert listed(api, {f"filter[{column.replace('_at', '_on')}]": "2024-05-02"}) == ["Midnight"]


def test_deleted_on_finds_addresses_deleted_that_day_whatever_is_deleted_says(api, overwrite_address):
    customer = api.make_customer()
    for name, moment in [("That day", datetime(2024, 5, 2)), ("Day before", datetime(2024, 5, 1, 23))]:
        address = api.make_address(customer["id"], name=name)
        assert api.delete(f"/addresses/{address['id']}").status_code == 204
        overwrite_address(address["id"], deleted_at=moment)
    api.make_address(customer["id"], name="Active")

    for params in ({}, {"filter[is_deleted]": "false"}, {"filter[is_deleted]": "true"}):
        assert listed(api, params | {"filter[deleted_on]": "2024-05-02"}) == ["That day"]


@pytest.mark.parametrize("sort", ["name", "-name", "customer_id", "-customer_id", "customer_id,-name"])
def test_each_sort_walks_to_the_end_by_cursor(api, sort):
    customers = [api.make_customer()["id"] for _ in range(2)]
    made = [
        api.make_address(customers[number % 2], name=name)
        for number, name in enumerate(["Home", "Work", "Gym", "Home", "Beach"])
    ]
    keys = [(key.removeprefix("-"), key.startswith("-")) for key in sort.split(",")]
    expected = sorted(made, key=lambda address: address["id"], reverse=keys[-1][1])
    shown = {"name": lambda address: address["name"], "customer_id": lambda address: address["customer"]["id"]}
    for field, descending in reversed(keys):
        expected.sort(key=shown[field], reverse=descending)

    walked = walk(api, "/addresses", {"sort": sort, "per_page": "2"})

    assert [address["id"] for address in walked] == [address["id"] for address in expected]
