"""Loyalty (SPEC §9): earning needs loyalty enabled, a redemption never takes the balance below 0,
and the balance is the sum of the entries after every write."""

from decimal import Decimal

from tests.ledgers.conftest import LOYALTY, entry, made, refused


def test_earning_and_redeeming_move_the_balance(api, account_holder, balance_is_sum):
    customer = account_holder()

    earned = made(entry(api, LOYALTY, customer, 120))
    assert balance_is_sum(LOYALTY, customer["id"]) == 120
    redeemed = made(entry(api, LOYALTY, customer, -20.5))

    assert (earned["balance_after"], redeemed["balance_after"]) == (120, 99.5)
    assert balance_is_sum(LOYALTY, customer["id"]) == Decimal("99.5")
    assert api.get(f"/customers/{customer['id']}").json()["data"]["loyalty_balance"] == 99.5


def test_earning_with_loyalty_off_is_a_422_on_customer_id_and_writes_nothing(api, entry_count, balance_is_sum):
    customer = api.make_customer()

    sentence = refused(entry(api, LOYALTY, customer, 10), "customer_id")

    assert "not enabled" in sentence
    assert entry_count(LOYALTY, customer["id"]) == 0
    assert balance_is_sum(LOYALTY, customer["id"]) == 0


def test_a_redemption_may_take_the_balance_to_exactly_zero(api, account_holder, balance_is_sum):
    customer = account_holder()
    made(entry(api, LOYALTY, customer, 10.25))

    redeemed = made(entry(api, LOYALTY, customer, -10.25))

    assert redeemed["balance_after"] == 0
    assert balance_is_sum(LOYALTY, customer["id"]) == 0


def test_a_redemption_below_zero_is_a_422_on_amount_and_writes_nothing(
    api, account_holder, balance_is_sum, entry_count
):
    customer = account_holder()
    made(entry(api, LOYALTY, customer, 10))

    sentence = refused(entry(api, LOYALTY, customer, -10.001), "amount")

    assert "below 0" in sentence
    assert entry_count(LOYALTY, customer["id"]) == 1
    assert balance_is_sum(LOYALTY, customer["id"]) == 10


def test_a_redemption_with_nothing_earned_is_refused(api, account_holder, entry_count):
    customer = account_holder()

    refused(entry(api, LOYALTY, customer, -1), "amount")

    assert entry_count(LOYALTY, customer["id"]) == 0


def test_what_was_earned_may_be_redeemed_after_loyalty_is_disabled(api, account_holder, balance_is_sum):
    customer = account_holder()
    made(entry(api, LOYALTY, customer, 30))
    assert api.put(f"/customers/{customer['id']}", json={"is_loyalty_enabled": False}).status_code == 200

    redeemed = made(entry(api, LOYALTY, customer, -30))

    assert redeemed["balance_after"] == 0
    refused(entry(api, LOYALTY, customer, 1), "customer_id")
    assert balance_is_sum(LOYALTY, customer["id"]) == 0


def test_the_two_ledgers_keep_their_own_balances(api, account_holder, balance_is_sum):
    customer = account_holder(limit=None)

    made(entry(api, LOYALTY, customer, 7))
    made(entry(api, "/house_account_transactions", customer, -3))

    shown = api.get(f"/customers/{customer['id']}").json()["data"]
    assert (shown["loyalty_balance"], shown["house_account_balance"]) == (7, -3)
    assert balance_is_sum(LOYALTY, customer["id"]) == 7
    assert balance_is_sum("/house_account_transactions", customer["id"]) == -3


def test_loyalty_entries_carry_no_house_account_references(api, account_holder):
    customer = account_holder()

    earned = made(entry(api, LOYALTY, customer, 5, order_id="order-1", user_id="u-1", payment_method_id="cash"))

    assert set(earned) == {"id", "amount", "balance_after", "customer", "order_id", "meta", "created_at", "updated_at"}
    assert earned["order_id"] == "order-1"
