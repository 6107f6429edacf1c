"""Fixtures for the ledger tests: customers with accounts open, entries made through the API, and
the balances as the database holds them beside the sums of the entries."""

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from clientele.customers.models import customers
from clientele.ledgers.models import house_account_transactions, loyalty_transactions
from tests.conftest import Api, run_statement

HOUSE = "/house_account_transactions"
LOYALTY = "/loyalty_transactions"
LEDGER_PATHS = (HOUSE, LOYALTY)
# Each ledger's table, the customer's balance that is its sum, and the customer's count of its entries.
LEDGER_TABLES = {
    HOUSE: (house_account_transactions, "house_account_balance", "house_account_entries"),
    LOYALTY: (loyalty_transactions, "loyalty_balance", "loyalty_entries"),
}


def entry(api: Api, path: str, customer: dict[str, Any], amount: Any, **fields: Any) -> httpx.Response:
    """POST one entry for `customer`; the response as it came."""
    return api.post(path, json={"customer_id": customer["id"], "amount": amount} | fields)


def made(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()["data"]


def refused(response: httpx.Response, field: str) -> str:
    """Assert a 422 naming `field`; its sentence."""
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert list(errors) == [field], errors
    return errors[field][0]


@pytest.fixture
def account_holder(api: Api) -> Callable[..., dict[str, Any]]:
    """`account_holder(limit=100)`: a customer whose house account and loyalty are enabled."""

    def make(limit: int | None = None, **fields: Any) -> dict[str, Any]:
        return api.make_customer(
            is_house_account_enabled=True, is_loyalty_enabled=True, house_account_limit=limit, **fields
        )

    return make


@pytest.fixture
def ledger_state(client: TestClient) -> Callable[[str, str], tuple[Decimal, Decimal, int]]:
    """`ledger_state(path, customer_id)`: the customer's stored balance, the sum of its entries in that
    ledger and how many there are, as the database holds them; the count kept on the customer (its
    list's total) is asserted to be that many."""

    def read(path: str, customer_id: str) -> tuple[Decimal, Decimal, int]:
        table, balance, entries = LEDGER_TABLES[path]
        [held] = run_statement(
            client,
            select(customers.c[balance].label("balance"), customers.c[entries].label("entries")).where(
                customers.c.id == uuid.UUID(customer_id)
            ),
        )
        [summed] = run_statement(
            client,
            select(func.coalesce(func.sum(table.c.amount), 0).label("total"), func.count().label("entries")).where(
                table.c.customer_id == uuid.UUID(customer_id)
            ),
        )
        assert held["entries"] == summed["entries"], (path, held["entries"], summed["entries"])
        return held["balance"], Decimal(summed["total"]), summed["entries"]

    return read


@pytest.fixture
def balance_is_sum(ledger_state: Callable[[str, str], tuple[Decimal, Decimal, int]]) -> Callable[[str, str], Decimal]:
    """`balance_is_sum(path, customer_id)`: assert the stored balance equals the sum of the entries; the balance."""

    def check(path: str, customer_id: str) -> Decimal:
        balance, total, _entries = ledger_state(path, customer_id)
        assert balance == total, (balance, total)
        return balance

    return check


@pytest.fixture
def entry_count(ledger_state: Callable[[str, str], tuple[Decimal, Decimal, int]]) -> Callable[[str, str], int]:
    return lambda path, customer_id: ledger_state(path, customer_id)[2]
