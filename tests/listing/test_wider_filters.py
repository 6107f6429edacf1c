"""The customer list options SPEC §8 adds: `filter[id]`, the day filters, `has_email`,
`has_negative_balance` (scope-guarded), and repeated query parameters."""

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from clientele.customers.models import customers

DAY = datetime(2024, 3, 1)


def listed(api, params: Any) -> list[str]:
    response = api.get("/customers", params=params)
    assert response.status_code == 200, response.text
    return [customer["name"] for customer in response.json()["data"]]


def refused(api, params: Any, parameter: str) -> dict[str, Any]:
    response = api.get("/customers", params=params)
    assert response.status_code == 400, response.text
    assert parameter in response.json()["errors"], response.json()
    return response.json()


# --- filter[id] ----------------------------------------------------------------------------


def test_id_filter_lists_any_of_the_ids_and_ignores_values_that_are_not_ids(api):
    first, _, third = (api.make_customer(name=name) for name in ("First", "Second", "Third"))

    assert listed(api, {"filter[id]": f"{third['id']}, not-an-id,{first['id']}"}) == ["First", "Third"]
    assert listed(api, {"filter[id]": "not-an-id"}) == []


def test_id_filter_finds_no_other_business_s_customer(api, other_api):
    theirs = other_api.make_customer()

    assert listed(api, {"filter[id]": theirs["id"]}) == []


# --- the day filters -----------------------------------------------------------------------


@pytest.fixture
def on_days(api, overwrite):
    """Customers created, updated and deleted at the edges of DAY and beside it."""
    edges = {
        "Day before": datetime(2024, 2, 29, 23, 59, 59, 999_999),
        "Day start": DAY,
        "Day end": datetime(2024, 3, 1, 23, 59, 59, 999_999),
        "Day after": datetime(2024, 3, 2),
    }
    for name, moment in edges.items():
        customer = api.make_customer(name=name)
        overwrite(customers, customer["id"], created_at=moment, updated_at=moment)
        deleted = api.make_customer(name=f"{name} (deleted)")
        overwrite(customers, deleted["id"], created_at=moment, updated_at=moment, deleted_at=moment)


@pytest.mark.parametrize("name", ["created_on", "updated_on"])
def test_created_on_and_updated_on_match_that_utc_day_among_active_customers(api, on_days, name):
    assert listed(api, {f"filter[{name}]": "2024-03-01"}) == ["Day start", "Day end"]
    assert listed(api, {f"filter[{name}]": "2024-03-01", "filter[is_deleted]": "true"}) == [
        "Day start (deleted)",
        "Day end (deleted)",
    ]


@pytest.mark.parametrize("is_deleted", [None, "false", "true"])
def test_deleted_on_matches_deleted_customers_whatever_is_deleted_says(api, on_days, is_deleted):
    params = {"filter[deleted_on]": "2024-03-01"} | ({"filter[is_deleted]": is_deleted} if is_deleted else {})

    assert listed(api, params) == ["Day start (deleted)", "Day end (deleted)"]


@pytest.mark.parametrize("name", ["created_on", "updated_on", "deleted_on"])
@pytest.mark.parametrize("value", ["2024-3-1", "2024-02-30", "yesterday", "2024-03-01 10:00:00", "20240301"])
def test_a_day_filter_that_is_not_a_date_is_refused(api, name, value):
    refused(api, {f"filter[{name}]": value}, f"filter[{name}]")


def test_day_filters_combine_with_the_others_and_give_numbered_totals(api, on_days):
    response = api.get("/customers", params={"filter[created_on]": "2024-03-01", "filter[name]": "end"})

    assert [customer["name"] for customer in response.json()["data"]] == ["Day end"]
    assert response.json()["meta"]["total"] == 1


# --- has_email and has_negative_balance ----------------------------------------------------


def test_has_email_lists_customers_with_or_without_an_email(api):
    api.make_customer(name="With", email="with@example.com")
    api.make_customer(name="Without")

    assert listed(api, {"filter[has_email]": "true"}) == ["With"]
    assert listed(api, {"filter[has_email]": "0"}) == ["Without"]
    refused(api, {"filter[has_email]": "maybe"}, "filter[has_email]")


@pytest.fixture
def balances(api, overwrite):
    for name, balance in (("Owes", "-0.001"), ("Even", "0"), ("In credit", "25.5")):
        customer = api.make_customer(name=name)
        overwrite(customers, customer["id"], house_account_balance=Decimal(balance))


def test_has_negative_balance_lists_customers_who_owe(api, balances):
    assert listed(api, {"filter[has_negative_balance]": "true"}) == ["Owes"]
    assert listed(api, {"filter[has_negative_balance]": "false"}) == ["Even", "In credit"]


@pytest.mark.parametrize("value", ["true", "false"])
def test_has_negative_balance_needs_the_accounts_read_scope(api_with, balances, value):
    response = api_with("customers.list").get("/customers", params={"filter[has_negative_balance]": value})

    assert response.status_code == 403, response.text
    assert "customers.accounts.read" in response.json()["message"]


def test_a_malformed_query_is_a_400_before_the_scope_of_a_guarded_filter(api_with):
    response = api_with("customers.list").get(
        "/customers", params={"filter[has_negative_balance]": "true", "filter[nonsense]": "1"}
    )

    assert response.status_code == 400, response.text


# --- repeated parameters -------------------------------------------------------------------


def test_a_repeated_include_includes_each(api):
    customer = api.make_customer(tags=[{"id": api.make_tag()["id"]}])
    api.make_address(customer["id"])

    listed_body = api.get("/customers", params=[("include", "tags"), ("include", "addresses")]).json()
    single = api.get(f"/customers/{customer['id']}", params=[("include", "tags"), ("include", "addresses")])

    for shown in (listed_body["data"][0], single.json()["data"]):
        assert (len(shown["tags"]), len(shown["addresses"])) == (1, 1)


def test_a_repeated_sort_is_one_list_of_keys(api, overwrite):
    for name, count in (("B", 1), ("A", 1), ("C", 0)):
        customer = api.make_customer(name=name)
        overwrite(customers, customer["id"], order_count=count)

    assert listed(api, [("sort", "-order_count"), ("sort", "name")]) == ["A", "B", "C"]


def test_a_repeated_id_filter_lists_any_of_the_ids(api):
    first, second, _ = (api.make_customer(name=name) for name in ("First", "Second", "Third"))

    assert listed(api, [("filter[id]", first["id"]), ("filter[id]", second["id"])]) == ["First", "Second"]


def test_a_repeated_tags_filter_lists_customers_with_any_of_the_tags(api):
    red, blue = api.make_tag()["id"], api.make_tag()["id"]
    api.make_customer(name="Red", tags=[{"id": red}])
    api.make_customer(name="Blue", tags=[{"id": blue}])
    api.make_customer(name="None")

    assert listed(api, [("filter[tags.id]", red), ("filter[tags.id]", blue)]) == ["Red", "Blue"]


@pytest.mark.parametrize(
    "parameter", ["page", "per_page", "cursor", "filter[name]", "filter[is_blacklisted]", "filter[updated_after]"]
)
def test_a_single_valued_parameter_sent_twice_is_a_400_naming_it(api, parameter):
    values = {"page": "1", "per_page": "5", "cursor": "x", "filter[is_blacklisted]": "true"}
    value = values.get(parameter, "2024-01-01")

    body = refused(api, [(parameter, value), (parameter, value)], parameter)

    assert parameter in body["message"]


def test_a_parameter_no_list_reads_may_come_twice(api):
    api.make_customer(name="Only")

    assert listed(api, [("utm_source", "a"), ("utm_source", "b")]) == ["Only"]
