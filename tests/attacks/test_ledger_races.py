"""Racing ledger entries (SPEC §9, issue 20): on a real `clientele serve --workers 2`, entries of one
customer sent all at once never break a rule, and every answer is one a serial order gives.

Each request has its own connection, so the racers meet in two processes and on the database
itself: PostgreSQL's row lock on the customer, SQLite's one write transaction at a time.
"""

import itertools
import uuid
from collections import Counter
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from clientele.customers.models import customers
from tests.attacks.conftest import Request, Tenant, api_of, race
from tests.cli.processes import Server
from tests.conftest import Api, run_statement
from tests.ledgers.conftest import HOUSE, LEDGER_TABLES, LOYALTY

RACERS = 50


def stored_ledger(client: TestClient, path: str, customer_id: str) -> tuple[Decimal, Decimal, int]:
    """The customer's stored balance, the sum of its entries in the ledger at `path`, and their count."""
    table, balance, _entries = LEDGER_TABLES[path]
    customer = uuid.UUID(customer_id)
    [held] = run_statement(client, select(customers.c[balance].label("balance")).where(customers.c.id == customer))
    [summed] = run_statement(
        client,
        select(func.coalesce(func.sum(table.c.amount), 0).label("total"), func.count().label("entries")).where(
            table.c.customer_id == customer
        ),
    )
    return held["balance"], Decimal(summed["total"]), summed["entries"]


def assert_no_server_failure(responses: list[httpx.Response]) -> None:
    """A race may refuse (422), never fail: no 500, no 503 (a lock wait given up), no deadlock."""
    statuses = Counter(response.status_code for response in responses)
    assert set(statuses) <= {200, 201, 422}, {response.status_code: response.text for response in responses}


def account_holder(api: Api, *, limit: int | None) -> dict[str, Any]:
    return api.make_customer(is_house_account_enabled=True, is_loyalty_enabled=True, house_account_limit=limit)


@pytest.mark.parametrize("fits", [0, 17, RACERS])
def test_of_fifty_racing_charges_exactly_as_many_as_fit_the_limit_are_accepted(
    live_server: Server, client: TestClient, tenant: Tenant, fits: int
) -> None:
    api = api_of(client, tenant)
    customer = account_holder(api, limit=fits * 3)
    charge: Request = ("POST", HOUSE, {"customer_id": customer["id"], "amount": -3})

    responses = race(live_server, [(tenant, charge)] * RACERS)

    assert_no_server_failure(responses)
    accepted = [response.json()["data"] for response in responses if response.status_code == 201]
    refused = [response.json()["errors"] for response in responses if response.status_code == 422]
    assert len(accepted) == fits
    assert all(list(errors) == ["amount"] for errors in refused), refused
    # Each accepted charge saw the balance the one before it left: the balances after are -3, -6, ….
    assert sorted(entry["balance_after"] for entry in accepted) == [-3 * n for n in range(fits, 0, -1)]
    balance, total, entries = stored_ledger(client, HOUSE, customer["id"])
    assert (balance, total, entries) == (Decimal(-3 * fits), Decimal(-3 * fits), fits)
    assert api.get(f"/customers/{customer['id']}").json()["data"]["house_account_balance"] == -3 * fits


@pytest.mark.parametrize("fits", [0, 23, RACERS])
def test_of_fifty_racing_redemptions_exactly_as_many_as_the_points_allow_are_accepted(
    live_server: Server, client: TestClient, tenant: Tenant, fits: int
) -> None:
    api = api_of(client, tenant)
    customer = account_holder(api, limit=None)
    if fits:
        earned = api.post(LOYALTY, json={"customer_id": customer["id"], "amount": "%.3f" % (fits * 1.5)})
        assert earned.status_code == 201, earned.text
    redemption: Request = ("POST", LOYALTY, {"customer_id": customer["id"], "amount": -1.5})

    responses = race(live_server, [(tenant, redemption)] * RACERS)

    assert_no_server_failure(responses)
    accepted = [response.json()["data"] for response in responses if response.status_code == 201]
    refused = [response.json()["errors"] for response in responses if response.status_code == 422]
    assert len(accepted) == fits
    assert all(list(errors) == ["amount"] for errors in refused), refused
    assert sorted(Decimal(str(entry["balance_after"])) for entry in accepted) == [
        Decimal("1.5") * n for n in range(fits)
    ]
    # Every point earned is spent: the earning and the accepted redemptions are the entries.
    assert stored_ledger(client, LOYALTY, customer["id"]) == (Decimal(0), Decimal(0), fits + 1 if fits else 0)


# --- a charge racing a limit change and a disable ----------------------------------------------

CHARGE = Decimal(8)
START_LIMIT = 10
LOWER_LIMIT = 5


def serial_outcomes() -> set[tuple[Any, ...]]:
    """What the three requests answer in each serial order: the charge's status and the field it is
    refused on; the balance, limit and enabled flag each update's answer shows; the balance left.

    Written from SPEC §9's rules: a charge needs the account enabled and must not take the balance
    below -limit; the customer's own updates are always accepted, whatever it owes."""
    outcomes = set()
    for order in itertools.permutations(("charge", "limit", "disable")):
        balance, limit, enabled = Decimal(0), START_LIMIT, True
        answers: dict[str, Any] = {}
        for step in order:
            if step == "charge":
                if not enabled:
                    answers[step] = (422, "customer_id")
                elif balance - CHARGE < -limit:
                    answers[step] = (422, "amount")
                else:
                    balance -= CHARGE
                    answers[step] = (201, None)
            else:
                if step == "limit":
                    limit = LOWER_LIMIT
                else:
                    enabled = False
                answers[step] = (200, balance, limit, enabled)
        outcomes.add((answers["charge"], answers["limit"], answers["disable"], balance))
    return outcomes


def observed_outcome(responses: list[httpx.Response], balance: Decimal) -> tuple[Any, ...]:
    charge, limit, disable = responses
    charged = (charge.status_code, None if charge.status_code == 201 else next(iter(charge.json()["errors"])))

    def updated(response: httpx.Response) -> tuple[Any, ...]:
        if response.status_code != 200:
            return (response.status_code, response.text)
        shown = response.json()["data"]
        return (
            200,
            Decimal(str(shown["house_account_balance"])),
            shown["house_account_limit"],
            shown["is_house_account_enabled"],
        )

    return (charged, updated(limit), updated(disable), balance)


def test_a_charge_racing_a_limit_change_and_a_disable_answers_as_one_serial_order(
    live_server: Server, client: TestClient, tenant: Tenant
) -> None:
    api = api_of(client, tenant)
    holders = [account_holder(api, limit=START_LIMIT) for _ in range(16)]
    sends: list[tuple[Tenant, Request]] = []
    for holder in holders:
        sends += [
            (tenant, ("POST", HOUSE, {"customer_id": holder["id"], "amount": -int(CHARGE)})),
            (tenant, ("PUT", f"/customers/{holder['id']}", {"house_account_limit": LOWER_LIMIT})),
            (tenant, ("PUT", f"/customers/{holder['id']}", {"is_house_account_enabled": False})),
        ]

    responses = race(live_server, sends)

    assert_no_server_failure(responses)
    serial = serial_outcomes()
    seen: Counter[tuple[Any, ...]] = Counter()
    for n, holder in enumerate(holders):
        balance, total, entries = stored_ledger(client, HOUSE, holder["id"])
        assert balance == total and entries == (balance != 0)
        outcome = observed_outcome(responses[3 * n : 3 * n + 3], balance)
        assert outcome in serial, (outcome, sorted(serial, key=str))
        seen[outcome[0]] += 1
        stored = api.get(f"/customers/{holder['id']}").json()["data"]
        assert (stored["house_account_limit"], stored["is_house_account_enabled"]) == (LOWER_LIMIT, False)
    print(f"charge outcomes over {len(holders)} races: {dict(seen)}")
