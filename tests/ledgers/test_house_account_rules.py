"""House accounts (SPEC §9): charges within the limit of an enabled account, payments always, and the
balance the sum of the entries after every write."""

import uuid
from decimal import Decimal

import pytest

from clientele.customers.models import customers
from clientele.ledgers.models import house_account_transactions
from tests.ledgers.conftest import HOUSE, entry, made, refused


def balance(api, customer) -> float:
    return api.get(f"/customers/{customer['id']}").json()["data"]["house_account_balance"]


def test_charges_within_the_limit_are_accepted_down_to_exactly_the_limit(api, account_holder, balance_is_sum):
    customer = account_holder(limit=100)

    first = made(entry(api, HOUSE, customer, -60))
    assert balance_is_sum(HOUSE, customer["id"]) == Decimal("-60")
    second = made(entry(api, HOUSE, customer, -40))

    assert (first["balance_after"], second["balance_after"]) == (-60, -100)
    assert balance_is_sum(HOUSE, customer["id"]) == Decimal("-100")
    assert balance(api, customer) == -100


def test_a_charge_beyond_the_limit_is_a_422_on_amount_and_writes_nothing(
    api, account_holder, balance_is_sum, entry_count, stored_row
):
    customer = account_holder(limit=100)
    made(entry(api, HOUSE, customer, -99.5))
    before = api.get(f"/customers/{customer['id']}").json()["data"]

    sentence = refused(entry(api, HOUSE, customer, -0.501), "amount")

    assert "limit" in sentence
    assert entry_count(HOUSE, customer["id"]) == 1
    assert balance_is_sum(HOUSE, customer["id"]) == Decimal("-99.5")
    assert api.get(f"/customers/{customer['id']}").json()["data"] == before


def test_a_null_limit_means_no_limit(api, account_holder, balance_is_sum):
    customer = account_holder(limit=None)

    charged = made(entry(api, HOUSE, customer, -999_999_999.999))
    again = made(entry(api, HOUSE, customer, -999_999_999.999))

    assert again["balance_after"] == -1_999_999_999.998
    assert balance_is_sum(HOUSE, customer["id"]) == Decimal("-1999999999.998")
    assert charged["balance_after"] == -999_999_999.999


def test_a_zero_limit_refuses_every_charge(api, account_holder, entry_count):
    customer = account_holder(limit=0)

    refused(entry(api, HOUSE, customer, -0.001), "amount")

    assert entry_count(HOUSE, customer["id"]) == 0


def test_a_charge_to_a_disabled_account_is_a_422_on_customer_id(api, balance_is_sum, entry_count):
    customer = api.make_customer(house_account_limit=100)

    sentence = refused(entry(api, HOUSE, customer, -1), "customer_id")

    assert "not enabled" in sentence
    assert entry_count(HOUSE, customer["id"]) == 0
    assert balance_is_sum(HOUSE, customer["id"]) == 0


def test_a_payment_is_accepted_even_on_a_disabled_account(api, account_holder, balance_is_sum):
    customer = account_holder(limit=50)
    made(entry(api, HOUSE, customer, -50))
    assert api.put(f"/customers/{customer['id']}", json={"is_house_account_enabled": False}).status_code == 200

    paid = made(entry(api, HOUSE, customer, 30))

    assert paid["balance_after"] == -20
    assert balance_is_sum(HOUSE, customer["id"]) == Decimal("-20")
    refused(entry(api, HOUSE, customer, -1), "customer_id")


def test_a_payment_may_take_the_balance_above_zero(api, account_holder, balance_is_sum):
    customer = account_holder(limit=10)

    credit = made(entry(api, HOUSE, customer, 25))
    charged = made(entry(api, HOUSE, customer, -35))

    assert (credit["balance_after"], charged["balance_after"]) == (25, -10)
    assert balance_is_sum(HOUSE, customer["id"]) == Decimal("-10")


def test_a_limit_lowered_below_the_debt_refuses_only_further_charges(api, account_holder, balance_is_sum):
    customer = account_holder(limit=100)
    made(entry(api, HOUSE, customer, -80))
    assert api.put(f"/customers/{customer['id']}", json={"house_account_limit": 50}).status_code == 200

    refused(entry(api, HOUSE, customer, -1), "amount")
    paid = made(entry(api, HOUSE, customer, 10))

    assert paid["balance_after"] == -70
    assert balance_is_sum(HOUSE, customer["id"]) == Decimal("-70")


def test_every_entry_carries_the_balance_it_left(api, account_holder, balance_is_sum):
    customer = account_holder(limit=1000)
    amounts = [-100, 40, -0.5, -250.25, 310.75]

    shown = [made(entry(api, HOUSE, customer, amount))["balance_after"] for amount in amounts]

    assert shown == [-100, -60, -60.5, -310.75, 0]
    assert balance_is_sum(HOUSE, customer["id"]) == 0
    listed = api.get(HOUSE, params={"filter[customer_id]": customer["id"]}).json()["data"]
    assert [row["balance_after"] for row in listed] == shown


def test_an_entry_moves_the_customer_updated_at_and_stamps_itself_alike(api, account_holder, stored_row):
    customer = account_holder(limit=None)
    before = stored_row(customers, customer["id"])["updated_at"]

    charged = made(entry(api, HOUSE, customer, -5))

    after = stored_row(customers, customer["id"])["updated_at"]
    stored_entry = stored_row(house_account_transactions, charged["id"])
    assert after > before
    assert stored_entry["created_at"] == stored_entry["updated_at"] == after
    assert charged["created_at"] == charged["updated_at"]
    synced = api.get("/customers", params={"filter[updated_after]": customer["updated_at"]}).json()["data"]
    assert customer["id"] in [row["id"] for row in synced]


def test_a_charge_to_a_deleted_customer_is_refused_and_its_entries_stay_listed(api, account_holder, entry_count):
    customer = account_holder(limit=None)
    charged = made(entry(api, HOUSE, customer, -5))
    assert api.delete(f"/customers/{customer['id']}").status_code == 204

    assert refused(entry(api, HOUSE, customer, 5), "customer_id") == "The selected customer_id is invalid."
    assert entry_count(HOUSE, customer["id"]) == 1
    listed = api.get(HOUSE, params={"filter[customer_id]": customer["id"]}).json()["data"]
    assert [row["id"] for row in listed] == [charged["id"]]
    assert api.get(f"{HOUSE}/{charged['id']}").status_code == 200


@pytest.mark.parametrize("customer_id", [str(uuid.uuid4()), "not-a-uuid", "12"])
def test_an_unknown_customer_is_a_422_on_customer_id(api, customer_id):
    response = api.post(HOUSE, json={"customer_id": customer_id, "amount": 10})

    assert refused(response, "customer_id") == "The selected customer_id is invalid."
    assert api.get(HOUSE).json()["data"] == []


def test_a_customer_update_never_writes_a_balance(api, account_holder, balance_is_sum):
    customer = account_holder(limit=None)
    made(entry(api, HOUSE, customer, -12.5))

    response = api.put(
        f"/customers/{customer['id']}", json={"house_account_balance": 1000, "loyalty_balance": 7, "name": "Renamed"}
    )

    assert response.status_code == 200
    assert response.json()["data"]["house_account_balance"] == -12.5
    assert response.json()["data"]["loyalty_balance"] == 0
    assert balance_is_sum(HOUSE, customer["id"]) == Decimal("-12.5")


def test_a_new_customer_never_starts_with_a_balance_sent_in_its_body(api):
    customer = api.make_customer(house_account_balance=500, loyalty_balance=9)

    assert (customer["house_account_balance"], customer["loyalty_balance"]) == (0, 0)
