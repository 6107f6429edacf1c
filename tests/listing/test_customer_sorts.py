"""The customer sorts of SPEC §8: each key in each direction and combined, ties broken by id, NULL
last ascending and first descending, and the same order by numbered pages and by cursor."""

import functools
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from clientele.customers.models import customers

# Each sort key and how its value reads off a customer as the API shows it.
KEYS = {
    "name": lambda customer: customer["name"].lower(),
    "email": lambda customer: None if customer["email"] is None else customer["email"].lower(),
    "last_order_at": lambda customer: customer["last_order_at"],
    "order_count": lambda customer: customer["order_count"],
    "is_blacklisted": lambda customer: customer["is_blacklisted"],
    "house_account_balance": lambda customer: Decimal(str(customer["house_account_balance"])),
    "created_at": lambda customer: customer["created_at"],
}
# Ties on every key, NULLs, and names and emails that differ only in case.
FIELDS = ("name", "email", "last_order_at", "order_count", "balance", "blacklisted")
CUSTOMERS: list[dict[str, Any]] = [
    dict(zip(FIELDS, values, strict=True))
    for values in [
        ("beta", "B@example.com", datetime(2024, 5, 1), 3, "-10.5", False),
        ("Alpha", None, None, 0, "0", True),
        ("alpha", "a@example.com", datetime(2024, 5, 1), 3, "7.25", False),
        ("Gamma", None, datetime(2023, 1, 2), 12, "-10.5", True),
        ("delta", "c@example.com", None, 0, "100", False),
    ]
]


@pytest.fixture
def shown(api, overwrite) -> list[dict[str, Any]]:
    """The customers above, as the API shows them."""
    made = []
    for fields in CUSTOMERS:
        customer = api.make_customer(name=fields["name"], email=fields["email"], is_blacklisted=fields["blacklisted"])
        overwrite(
            customers,
            customer["id"],
            last_order_at=fields["last_order_at"],
            order_count=fields["order_count"],
            house_account_balance=Decimal(fields["balance"]),
        )
        made.append(api.get(f"/customers/{customer['id']}").json()["data"])
    return made


def compare(value: Any, other: Any) -> int:
    """NULL above every value, as the list places it."""
    if value == other:
        return 0
    if value is None or other is None:
        return 1 if value is None else -1
    return 1 if value > other else -1


def expected(shown: list[dict[str, Any]], sort: str) -> list[str]:
    """The ids in the order SPEC §8 gives: each key in turn, then id in the last key's direction."""
    keys = [(key.removeprefix("-"), key.startswith("-")) for key in sort.split(",")]
    keys.append(("id", keys[-1][1]))

    def order(one: dict[str, Any], other: dict[str, Any]) -> int:
        for name, descending in keys:
            read = KEYS.get(name, lambda customer, name=name: customer[name])
            found = compare(read(one), read(other))
            if found:
                return -found if descending else found
        return 0

    return [customer["id"] for customer in sorted(shown, key=functools.cmp_to_key(order))]


def by_pages(api, params: dict[str, str]) -> list[str]:
    seen, page = [], 1
    while True:
        response = api.get("/customers", params=params | {"per_page": "2", "page": str(page)})
        assert response.status_code == 200, response.text
        if not response.json()["data"]:
            return seen
        seen += [customer["id"] for customer in response.json()["data"]]
        page += 1


def by_cursor(api, params: dict[str, str]) -> list[str]:
    seen, cursor = [], ""
    while True:
        response = api.get("/customers", params=params | {"per_page": "2", "cursor": cursor})
        assert response.status_code == 200, response.text
        assert response.json()["meta"]["total"] is None or not cursor
        seen += [customer["id"] for customer in response.json()["data"]]
        cursor = response.json()["meta"]["next_cursor"]
        if cursor is None:
            return seen


SORTS = [
    *(f"{prefix}{key}" for key in KEYS if key != "created_at" for prefix in ("", "-")),
    "is_blacklisted,-order_count",
    "-email,name",
    "last_order_at,-house_account_balance",
    "-order_count,last_order_at,-name",
]


@pytest.mark.parametrize("sort", SORTS)
def test_each_sort_orders_the_same_by_page_and_by_cursor(api, shown, sort):
    want = expected(shown, sort)

    assert by_pages(api, {"sort": sort}) == want
    assert by_cursor(api, {"sort": sort}) == want


def test_nulls_come_last_ascending_and_first_descending(api, shown):
    ascending = api.get("/customers", params={"sort": "email"}).json()["data"]
    descending = api.get("/customers", params={"sort": "-last_order_at"}).json()["data"]

    assert [customer["email"] for customer in ascending][-2:] == [None, None]
    assert [customer["last_order_at"] for customer in descending][:2] == [None, None]


def test_a_filter_and_a_nullable_sort_walk_by_cursor_to_the_end(api, shown):
    params = {"sort": "-email", "filter[is_blacklisted]": "false"}

    walked = by_cursor(api, params)

    assert walked == [customer for customer in expected(shown, "-email") if customer in set(walked)]
    assert len(walked) == sum(not fields["blacklisted"] for fields in CUSTOMERS)


@pytest.mark.parametrize("sort", ["house_account_balance", "-house_account_balance", "name,house_account_balance"])
def test_a_balance_sort_needs_the_accounts_read_scope(api_with, shown, sort):
    response = api_with("customers.list").get("/customers", params={"sort": sort})

    assert response.status_code == 403, response.text
    assert "customers.accounts.read" in response.json()["message"]


def test_a_balance_sort_with_the_accounts_read_scope_is_served(api_with, shown):
    response = api_with("customers.list", "customers.accounts.read").get(
        "/customers", params={"sort": "-house_account_balance"}
    )

    assert response.status_code == 200, response.text
    assert [customer["id"] for customer in response.json()["data"]] == expected(shown, "-house_account_balance")
