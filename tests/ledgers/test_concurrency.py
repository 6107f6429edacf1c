"""Racing entries on one customer never break a rule (SPEC §9): each waits for the one before it and
checks its rule against the balance that one left. Requests go through the app at once, from threads.

SQLite runs one write transaction at a time; the same test passes there without any interleaving.
"""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from tests.ledgers.conftest import HOUSE, LOYALTY, entry

RACERS = 20


def race(sends: list) -> list[int]:
    """Send every request at once; their statuses, in the order of `sends`."""
    with ThreadPoolExecutor(max_workers=len(sends)) as pool:
        return [response.status_code for response in pool.map(lambda send: send(), sends)]


@pytest.mark.parametrize("fits", [0, 7, RACERS])
def test_concurrent_charges_accept_exactly_as_many_as_fit_the_limit(api, account_holder, ledger_state, fits):
    customer = account_holder(limit=fits * 3)

    statuses = race([lambda: entry(api, HOUSE, customer, -3)] * RACERS)

    assert sorted(statuses) == [201] * fits + [422] * (RACERS - fits)
    assert ledger_state(HOUSE, customer["id"]) == (Decimal(-3 * fits), Decimal(-3 * fits), fits)
    listed = api.get(HOUSE, params={"filter[customer_id]": customer["id"], "sort": "created_at"}).json()["data"]
    assert [row["balance_after"] for row in listed] == [-3 * step for step in range(1, fits + 1)]


def test_concurrent_redemptions_never_take_loyalty_below_zero(api, account_holder, ledger_state):
    customer = account_holder()
    assert entry(api, LOYALTY, customer, 10).status_code == 201

    statuses = race([lambda: entry(api, LOYALTY, customer, -1.5)] * RACERS)

    assert sorted(statuses) == [201] * 6 + [422] * (RACERS - 6)
    assert ledger_state(LOYALTY, customer["id"]) == (Decimal("1"), Decimal("1"), 7)


def test_concurrent_payments_and_charges_all_land_in_the_balance(api, account_holder, ledger_state):
    customer = account_holder(limit=None)

    statuses = race(
        [lambda: entry(api, HOUSE, customer, -1.25), lambda: entry(api, HOUSE, customer, 0.75)] * (RACERS // 2)
    )

    assert statuses == [201] * RACERS
    assert ledger_state(HOUSE, customer["id"]) == (Decimal("-5"), Decimal("-5"), RACERS)
