"""Random sequences of entries, limit changes, enabling and disabling, deletes and restores (SPEC §9):
after each step every answer is the one the rules give, and each balance is the sum of its entries.

The rules are written out once more here, as a model of a customer, so that the API is held to
SPEC's sentences rather than to its own code.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ledgers.conftest import HOUSE, LOYALTY, entry

AMOUNTS = st.decimals(min_value=Decimal("-60"), max_value=Decimal("60"), places=3).filter(lambda amount: amount != 0)
STEPS = st.lists(
    st.one_of(
        st.tuples(st.sampled_from([HOUSE, LOYALTY]), AMOUNTS),
        st.tuples(st.just("limit"), st.one_of(st.none(), st.integers(min_value=0, max_value=80))),
        st.tuples(st.sampled_from(["is_house_account_enabled", "is_loyalty_enabled"]), st.booleans()),
        st.tuples(st.sampled_from(["delete", "restore"]), st.none()),
    ),
    max_size=25,
)


@dataclass
class Model:
    """What SPEC §9 says a customer's ledgers hold after each step."""

    house: Decimal = Decimal(0)
    points: Decimal = Decimal(0)
    limit: int | None = None
    house_enabled: bool = True
    loyalty_enabled: bool = True
    deleted: bool = False

    def accepts(self, path: str, amount: Decimal) -> bool:
        if self.deleted:
            return False
        if path == HOUSE:
            charge = amount < 0
            within = self.limit is None or self.house + amount >= -self.limit
            return not charge or (self.house_enabled and within)
        earning = amount > 0
        return self.loyalty_enabled if earning else self.points + amount >= 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_every_answer_follows_the_rules_and_every_balance_is_its_sum(api, ledger_state, steps) -> None:
    customer = api.make_customer(is_house_account_enabled=True, is_loyalty_enabled=True)
    model = Model()
    for action, value in steps:
        if action in (HOUSE, LOYALTY):
            answered = entry(api, action, customer, str(value))
            expected = model.accepts(action, value)
            assert answered.status_code == (201 if expected else 422), (action, value, model, answered.text)
            if expected:
                if action == HOUSE:
                    model.house += value
                else:
                    model.points += value
                left = model.house if action == HOUSE else model.points
                assert Decimal(str(answered.json()["data"]["balance_after"])) == left
        elif action in ("delete", "restore"):
            answered = api.delete(f"/customers/{customer['id']}") if action == "delete" else None
            if action == "restore":
                answered = api.put(f"/customers/{customer['id']}/restore")
            assert answered is not None and answered.status_code in (200, 204), answered.text
            model.deleted = action == "delete"
        else:
            field = "house_account_limit" if action == "limit" else action
            answered = api.put(f"/customers/{customer['id']}", json={field: value})
            assert answered.status_code == (409 if model.deleted else 200), answered.text
            if not model.deleted:
                changes: dict[str, Any] = {
                    "limit": {"limit": value},
                    "is_house_account_enabled": {"house_enabled": value},
                    "is_loyalty_enabled": {"loyalty_enabled": value},
                }[action]
                for name, changed in changes.items():
                    setattr(model, name, changed)
        for path, expected_balance in ((HOUSE, model.house), (LOYALTY, model.points)):
            stored, summed, _ = ledger_state(path, customer["id"])
            assert stored == summed == expected_balance, (path, stored, summed, model)
