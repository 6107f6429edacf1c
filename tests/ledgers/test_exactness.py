"""Money is exact end to end: amounts are read from their text, kept to the thousandth, summed without
drift, and shown as the JSON numbers they are (SPEC §9)."""

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from clientele.customers.models import customers
from clientele.ledgers.models import house_account_transactions
from tests.conftest import run_statement
from tests.ledgers.conftest import HOUSE, LEDGER_PATHS, LOYALTY, made, refused


def raw_entry(api, path: str, customer_id: str, amount_text: str):
    """POST an entry whose amount is this JSON text, exactly as written."""
    body = f'{{"customer_id": "{customer_id}", "amount": {amount_text}}}'
    return api.post(path, content=body.encode(), headers={"Content-Type": "application/json"})


def test_charges_of_0_1_and_0_2_leave_a_balance_of_exactly_minus_0_3(
    api, client, account_holder, balance_is_sum, ledger_state
):
    customer = account_holder(limit=None)

    made(raw_entry(api, HOUSE, customer["id"], "-0.1"))
    second = made(raw_entry(api, HOUSE, customer["id"], "-0.2"))

    assert second["balance_after"] == -0.3
    assert b'"balance_after":-0.3,' in api.get(f"{HOUSE}/{second['id']}").content
    assert api.get(f"/customers/{customer['id']}").json()["data"]["house_account_balance"] == -0.3
    [stored] = run_statement(
        client, select(customers.c.house_account_balance).where(customers.c.id == uuid.UUID(customer["id"]))
    )
    assert str(stored["house_account_balance"]) == "-0.300"
    [stored_entry] = run_statement(
        client,
        select(house_account_transactions.c.balance_after).where(
            house_account_transactions.c.id == uuid.UUID(second["id"])
        ),
    )
    assert str(stored_entry["balance_after"]) == "-0.300"
    assert balance_is_sum(HOUSE, customer["id"]) == Decimal("-0.3")


def test_a_limit_reached_by_tenths_is_reached_exactly(api, account_holder, balance_is_sum):
    customer = account_holder(limit=1)

    for amount in ("-0.1", "-0.2", "-0.7"):
        made(raw_entry(api, HOUSE, customer["id"], amount))

    assert balance_is_sum(HOUSE, customer["id"]) == Decimal("-1")
    refused(raw_entry(api, HOUSE, customer["id"], "-0.001"), "amount")


@pytest.mark.parametrize("path", LEDGER_PATHS)
@pytest.mark.parametrize(
    "amount_text",
    [
        # Each of these is, as a binary float, a number of at most 3 decimal places.
        "0.1000000000000000000001",
        "1.00000000000000001",
        "0.0001",
        "12.3456",
    ],
)
def test_more_than_3_decimal_places_are_refused_however_close_a_float_would_come(
    api, account_holder, entry_count, path, amount_text
):
    customer = account_holder(limit=None)

    assert refused(raw_entry(api, path, customer["id"], amount_text), "amount") == (
        "The amount field must have at most 3 decimal places."
    )
    assert entry_count(path, customer["id"]) == 0


@pytest.mark.parametrize("amount_text", ["1e9", "1000000000", "-999999999.9995", "123456789012345678901234567890"])
def test_an_amount_of_a_billion_or_more_is_refused(api, account_holder, entry_count, amount_text):
    customer = account_holder(limit=None)

    refused(raw_entry(api, HOUSE, customer["id"], amount_text), "amount")
    assert entry_count(HOUSE, customer["id"]) == 0


@pytest.mark.parametrize(
    ("amount_text", "shown"),
    [("999999999.999", 999_999_999.999), ("0.001", 0.001), ("1.10", 1.1), ("2.5E1", 25), ("5e-3", 0.005)],
)
def test_a_json_number_is_read_exactly_from_its_text(api, account_holder, amount_text, shown):
    customer = account_holder(limit=None)

    assert made(raw_entry(api, LOYALTY, customer["id"], amount_text))["amount"] == shown


def test_many_small_entries_never_drift_from_their_sum(api, account_holder, balance_is_sum):
    customer = account_holder(limit=None)

    for amount in ("0.1", "0.2", "0.3", "-0.6", "0.7", "-0.001", "1000000.009"):
        made(raw_entry(api, LOYALTY, customer["id"], amount))

    assert balance_is_sum(LOYALTY, customer["id"]) == Decimal("1000000.708")
    assert api.get(f"/customers/{customer['id']}").json()["data"]["loyalty_balance"] == 1_000_000.708


def test_a_balance_may_not_grow_beyond_what_its_column_holds(api, account_holder, overwrite):
    customer = account_holder(limit=None)
    made(raw_entry(api, LOYALTY, customer["id"], "999999999.999"))
    # What 100 such earnings would reach, without making them.
    overwrite(customers, customer["id"], loyalty_balance=Decimal("99999999999.999") - Decimal("999999999.999"))

    made(raw_entry(api, LOYALTY, customer["id"], "999999999.999"))
    response = raw_entry(api, LOYALTY, customer["id"], "0.001")

    assert "beyond" in refused(response, "amount")
