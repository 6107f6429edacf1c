"""Listing a ledger: each filter, each sort both ways with cursor walks, pages, `include=customer` and
what a deleted customer leaves behind (SPEC §8, §9)."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from clientele.auth.scopes import ALL_SCOPES
from clientele.customers.models import customers
from tests.conftest import run_statement
from tests.ledgers.conftest import HOUSE, LEDGER_PATHS, LEDGER_TABLES, LOYALTY, entry, made
from tests.listing.test_cursor_paging import in_sort_order, walk

SORTS = ["created_at", "-created_at", "updated_at", "-updated_at", "amount", "-amount", "amount,-created_at"]


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["data"]]


@pytest.fixture
def entries(api, account_holder) -> dict[str, list[dict[str, Any]]]:
    """Per ledger, six entries of two customers, with repeated amounts and references."""
    first, second = account_holder(limit=None), account_holder(limit=None)
    made_entries: dict[str, list[dict[str, Any]]] = {}
    for path in LEDGER_PATHS:
        plan = [(first, 5, "o-1"), (second, 5, "o-2"), (first, 2.5, "o-1"), (second, 9, None), (first, 5, None)]
        references = {"user_id": "u-7"} if path == HOUSE else {}
        made_entries[path] = [
            made(entry(api, path, customer, amount, order_id=order, **references)) for customer, amount, order in plan
        ]
        made_entries[path].append(made(entry(api, path, second, -1)))
    return made_entries


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_a_list_holds_the_business_entries_oldest_first(api, other_api, entries, path):
    theirs = other_api.make_customer(is_house_account_enabled=True, is_loyalty_enabled=True)
    made(entry(other_api, path, theirs, 1))

    body = api.get(path).json()

    assert [row["id"] for row in body["data"]] == [row["id"] for row in entries[path]]
    assert body["meta"]["total"] == 6
    assert body["data"][0]["customer"] == {"id": entries[path][0]["customer"]["id"]}


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_filters_by_id_customer_and_order(api, entries, path):
    rows = entries[path]
    first_customer = rows[0]["customer"]["id"]

    assert ids(api.get(path, params={"filter[id]": f"{rows[1]['id']},{rows[3]['id']},junk"})) == [
        rows[1]["id"],
        rows[3]["id"],
    ]
    assert ids(api.get(path, params={"filter[customer_id]": first_customer})) == [
        row["id"] for row in rows if row["customer"]["id"] == first_customer
    ]
    assert ids(api.get(path, params={"filter[order_id]": "o-1"})) == [rows[0]["id"], rows[2]["id"]]
    assert ids(api.get(path, params={"filter[order_id]": "o"})) == []
    assert ids(api.get(path, params={"filter[order_id]": "x" * 65})) == []


def test_house_account_entries_filter_by_user_and_payment_method(api, account_holder):
    customer = account_holder(limit=None)
    by_cash = made(entry(api, HOUSE, customer, 3, user_id="u-1", payment_method_id="cash"))
    made(entry(api, HOUSE, customer, -3, user_id="u-2"))

    assert ids(api.get(HOUSE, params={"filter[user_id]": "u-1"})) == [by_cash["id"]]
    assert ids(api.get(HOUSE, params={"filter[payment_method_id]": "cash"})) == [by_cash["id"]]


@pytest.mark.parametrize("name", ["user_id", "payment_method_id", "is_deleted", "deleted_on", "name"])
def test_loyalty_lists_know_no_house_account_or_deletion_filter(api, name):
    response = api.get(LOYALTY, params={f"filter[{name}]": "x"})

    assert response.status_code == 400
    assert f"filter[{name}]" in response.json()["errors"]


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_filters_by_day_and_updated_after(api, entries, overwrite, path):
    table, _balance, _entries = LEDGER_TABLES[path]
    rows = entries[path]
    last_moment = datetime(2024, 5, 1, 23, 59, 59, 999_999)
    overwrite(table, rows[0]["id"], created_at=last_moment, updated_at=last_moment)
    overwrite(table, rows[1]["id"], created_at=datetime(2024, 5, 2), updated_at=datetime(2024, 5, 2, 0, 0, 0, 1))

    assert ids(api.get(path, params={"filter[created_on]": "2024-05-01"})) == [rows[0]["id"]]
    assert ids(api.get(path, params={"filter[updated_on]": "2024-05-02"})) == [rows[1]["id"]]
    after = ids(api.get(path, params={"filter[updated_after]": "2024-05-02 00:00:00", "sort": "updated_at"}))
    assert after[0] == rows[1]["id"]
    assert rows[0]["id"] not in after


@pytest.mark.parametrize("path", LEDGER_PATHS)
@pytest.mark.parametrize("sort", SORTS)
def test_each_sort_walks_every_entry_once_in_order_by_cursor(api, client, entries, overwrite, path, sort):
    table, _balance, _entries = LEDGER_TABLES[path]
    # Ties on every time, so that the sort's later keys and the id decide.
    noon = datetime(2024, 3, 1, 12)
    for index, row in enumerate(entries[path]):
        moment = noon + timedelta(seconds=index % 2)
        overwrite(table, row["id"], created_at=moment, updated_at=moment)
    stored = run_statement(client, select(table).where(table.c.business_id == api.business_id))

    walked = walk(api, path, {"sort": sort, "per_page": "2"})

    assert [row["id"] for row in walked] == in_sort_order([{**row, "id": str(row["id"])} for row in stored], sort)


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_an_unknown_sort_or_include_is_a_400(api, path):
    assert api.get(path, params={"sort": "balance_after"}).status_code == 400
    assert api.get(path, params={"include": "tags"}).status_code == 400


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_numbered_pages_carry_the_total(api, entries, path):
    body = api.get(path, params={"per_page": "4", "page": "2"}).json()

    assert [row["id"] for row in body["data"]] == [row["id"] for row in entries[path][4:]]
    assert (body["meta"]["total"], body["meta"]["last_page"]) == (6, 2)


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_one_customers_list_totals_its_entries(api, other_api, entries, path):
    rows = entries[path]
    first, second = rows[0]["customer"]["id"], rows[1]["customer"]["id"]
    theirs = other_api.make_customer(is_house_account_enabled=True, is_loyalty_enabled=True)
    made(entry(other_api, path, theirs, 1))
    assert api.delete(f"/customers/{second}").status_code == 204

    def total(value: str, **more: str) -> int:
        answered = api.get(path, params={"filter[customer_id]": value} | more)
        assert answered.status_code == 200, answered.text
        return int(answered.json()["meta"]["total"])

    assert [total(first), total(second), total(f"{first},{first}"), total(f"{first},{second}")] == [3, 3, 3, 6]
    assert [total(theirs["id"]), total("01939a6e-1f2b-7c3d-8e4f-5a6b7c8d9e0f"), total("junk")] == [0, 0, 0]
    assert total(first, **{"filter[order_id]": "o-1"}) == 2


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_one_customers_total_is_the_count_kept_on_the_customer(api, client, entries, path):
    customer = entries[path][0]["customer"]["id"]
    _table, _balance, kept = LEDGER_TABLES[path]
    run_statement(client, update(customers).where(customers.c.id == uuid.UUID(customer)).values({kept: 999}))

    assert api.get(path, params={"filter[customer_id]": customer}).json()["meta"]["total"] == 999
    assert (
        api.get(path, params={"filter[customer_id]": customer, "filter[order_id]": "o-1"}).json()["meta"]["total"] == 2
    )


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_include_customer_shows_the_whole_customer(api, entries, path):
    rows = api.get(path, params={"include": "customer"}).json()["data"]

    first = rows[0]["customer"]
    assert first == api.get(f"/customers/{entries[path][0]['customer']['id']}").json()["data"]
    assert {row["customer"]["id"] for row in rows} == {row["customer"]["id"] for row in entries[path]}
    one = api.get(f"{path}/{entries[path][0]['id']}", params={"include": "customer"}).json()["data"]
    assert one["customer"] == first


READ_SCOPES = [(HOUSE, "customers.accounts.read"), (LOYALTY, "customers.loyalty.read")]


@pytest.mark.parametrize(("path", "read_scope"), READ_SCOPES)
def test_an_included_customer_shows_only_the_balances_the_token_may_read(api_with, entries, path, read_scope):
    reader = api_with(read_scope, "customers.get")

    rows = reader.get(path, params={"include": "customer"}).json()["data"]

    for customer in (row["customer"] for row in rows):
        assert ("house_account_balance" in customer, "loyalty_balance" in customer) == (path == HOUSE, path == LOYALTY)
        assert ("house_account_limit" in customer) == (path == HOUSE)
        assert customer["name"] == "Test Customer"


@pytest.mark.parametrize(("path", "read_scope"), READ_SCOPES)
def test_including_the_customer_needs_customers_get_as_reading_it_would(api_with, entries, path, read_scope):
    reader = api_with(read_scope)
    one = f"{path}/{entries[path][0]['id']}"

    for response in (reader.get(path, params={"include": "customer"}), reader.get(one, params={"include": "customer"})):
        assert response.status_code == 403
        assert "customers.get" in response.json()["message"]
    assert reader.get(path).status_code == 200
    assert reader.get(one).json()["data"]["customer"] == entries[path][0]["customer"]


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_include_customer_costs_the_same_queries_for_one_entry_or_many(api, account_holder, statement_count, path):
    customers = [account_holder(limit=None) for _ in range(4)]
    for customer in customers:
        made(entry(api, path, customer, 1))

    def page_of(size: int):
        return lambda: ids(api.get(path, params={"include": "customer", "per_page": str(size)}))

    assert statement_count(page_of(1)) == statement_count(page_of(4))


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_a_deleted_customer_entries_stay_listed_and_included_with_deleted_at(api, account_holder, path):
    customer = account_holder(limit=None)
    kept = made(entry(api, path, customer, 4))
    assert api.delete(f"/customers/{customer['id']}").status_code == 204

    [row] = api.get(path, params={"include": "customer"}).json()["data"]

    assert row["id"] == kept["id"]
    assert row["customer"]["deleted_at"] is not None


def test_a_list_read_needs_no_other_scope(api_with, entries):
    without_other = [scope for scope in ALL_SCOPES if scope != "customers.accounts.read"]
    assert api_with(*without_other).get(HOUSE).status_code == 403
    assert len(ids(api_with("customers.accounts.read").get(HOUSE))) == 6
