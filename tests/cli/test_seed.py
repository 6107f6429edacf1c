"""`clientele seed` (issue 3 §1): realistic customers, in the stated proportions, all valid by the API's rules."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from clientele.cli import app
from clientele.customers.schemas import REQUIRED_ON_CREATE, CustomerInput
from clientele.web.validation import validate_body
from clientele.web.wire import TIMESTAMP_FORMAT
from tests.cli.conftest import Clientele, every_customer, run_clientele_on, statistics_once_inserted, table_statistics
from tests.cli.processes import run_clientele
from tests.conftest import Api, new_business, new_token

SEEDED = 2000
ARABIC_LETTER = re.compile(r"[\u0600-\u06FF]")
LATIN_LETTER = re.compile(r"[A-Za-z]")


def share(items: list[Any], predicate: Any) -> float:
    return sum(1 for item in items if predicate(item)) / len(items)


@pytest.fixture(scope="module")
def seeded(client: TestClient, database_url: str) -> tuple[Api, list[dict[str, Any]], str]:
    """One business seeded once for the module (in several batches, by worker processes): its client,
    its customers with tags and addresses as the API lists them, and the command's summary."""
    business = new_business(client)
    api = Api(client, new_token(client, business).token, business)
    result = CliRunner().invoke(
        app,
        [
            "seed",
            "--business",
            str(business),
            "--customers",
            str(SEEDED),
            "--random-seed",
            "3",
            "--batch-size",
            "700",
            "--jobs",
            "2",
        ],
        env={"DATABASE_URL": database_url},
    )
    assert result.exit_code == 0, result.output + result.stderr
    return api, every_customer(api, include="tags,addresses"), result.stdout


def test_seed_creates_the_number_of_customers_asked_for(seeded: tuple[Api, list[dict[str, Any]], str]) -> None:
    api, found, summary = seeded

    assert len(found) == SEEDED
    assert f"Created {SEEDED} customers" in summary
    assert api.get("/customers").json()["meta"]["total"] == SEEDED


def test_seeded_customers_come_in_the_stated_proportions(seeded: tuple[Api, list[dict[str, Any]], str]) -> None:
    _, found, _ = seeded

    assert 0.03 <= share(found, lambda customer: customer["is_blacklisted"]) <= 0.07
    assert 0.25 <= share(found, lambda customer: customer["tags"]) <= 0.35
    assert 0.35 <= share(found, lambda customer: customer["addresses"]) <= 0.45
    assert 0.55 <= share(found, lambda customer: customer["order_count"] > 0) <= 0.65
    assert all(1 <= len(customer["tags"]) <= 3 for customer in found if customer["tags"])
    assert all(1 <= len(customer["addresses"]) <= 3 for customer in found if customer["addresses"])
    assert all((customer["order_count"] > 0) == (customer["last_order_at"] is not None) for customer in found)


def test_seeded_customers_look_like_a_saudi_business(seeded: tuple[Api, list[dict[str, Any]], str]) -> None:
    _, found, _ = seeded

    assert 0.65 <= share(found, lambda customer: customer["dial_code"] == 966) <= 0.85
    assert len({customer["dial_code"] for customer in found}) >= 6
    assert share(found, lambda customer: ARABIC_LETTER.search(customer["name"])) >= 0.2
    assert share(found, lambda customer: LATIN_LETTER.search(customer["name"])) >= 0.2
    addresses = [address for customer in found for address in customer["addresses"]]
    assert 0.5 <= share(addresses, lambda address: address["delivery_zone"] is not None) <= 0.9


def test_seeded_customers_were_made_over_the_past_two_years(seeded: tuple[Api, list[dict[str, Any]], str]) -> None:
    _, found, _ = seeded
    created = sorted(datetime.strptime(customer["created_at"], TIMESTAMP_FORMAT) for customer in found)
    now = datetime.now(UTC).replace(tzinfo=None)

    assert now - timedelta(days=731) <= created[0] and created[-1] <= now
    assert created[-1] - created[0] >= timedelta(days=365)
    assert all(customer["created_at"] <= customer["updated_at"] for customer in found)


def test_every_seeded_customer_is_valid_by_the_api_rules(seeded: tuple[Api, list[dict[str, Any]], str]) -> None:
    api, found, _ = seeded

    for customer in found:
        validate_body(CustomerInput, customer, required=REQUIRED_ON_CREATE)
    for customer in found[::250]:
        response = api.put(f"/customers/{customer['id']}", params={"include": "tags,addresses"}, json=customer)
        assert response.status_code == 200, response.text
        assert response.json()["data"] == customer


def test_seeded_tags_zones_and_addresses_are_valid_by_the_api_rules(
    seeded: tuple[Api, list[dict[str, Any]], str],
) -> None:
    api, found, _ = seeded
    addresses = [address for customer in found for address in customer["addresses"]][::100]
    tags = api.get("/tags").json()["data"]
    zones = api.get("/delivery_zones").json()["data"]

    assert len(tags) == 8 and len(zones) == 5
    for path, record, body in (
        [("tags", tag, tag) for tag in tags]
        + [("delivery_zones", zone, zone) for zone in zones]
        + [
            ("addresses", address, address | {"delivery_zone_id": (address["delivery_zone"] or {}).get("id")})
            for address in addresses
        ]
    ):
        response = api.put(f"/{path}/{record['id']}", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["updated_at"] == record["updated_at"]


def test_the_same_random_seed_gives_the_same_customers_and_a_second_run_adds_none(
    clientele: Clientele, api: Api, other_api: Api
) -> None:
    def seed(target: Api) -> str:
        result = clientele("seed", "--business", target.business_id, "--customers", 40, "--random-seed", 11)
        assert result.exit_code == 0, result.output + result.stderr
        return result.stdout

    seed(api)
    seed(other_api)
    again = seed(api)

    def people(target: Api) -> list[tuple[str, int, str]]:
        return sorted(
            (customer["name"], customer["dial_code"], customer["phone"]) for customer in every_customer(target)
        )

    assert people(api) == people(other_api)
    assert len(people(api)) == 40
    assert "Created 0 customers" in again and "40 skipped" in again
    assert api.get("/tags").json()["meta"]["total"] == 8


def test_seed_refuses_an_unknown_business(clientele: Clientele) -> None:
    result = clientele("seed", "--business", "00000000-0000-7000-8000-000000000000", "--customers", 10)

    assert result.exit_code != 0 and "No business" in result.stderr


def test_a_seed_finds_each_customer_by_its_key_when_the_statistics_never_saw_its_business(
    unseen_business: tuple[str, str],
) -> None:
    """Every address and tag link a seed writes has its customer looked up (the foreign key): by the table's
    key, not by reading the business's customers. Before, each lookup read them all when the statistics had
    never seen the business: a seed of 20,000 customers took 131 s, not 8."""
    url, business = unseen_business
    before = table_statistics(url, "customers")

    run_clientele_on(url, "seed", "--business", business, "--customers", SEEDED, "--random-seed", 2, "--jobs", 1)

    after = statistics_once_inserted(url, "customers", before["inserted"] + SEEDED)
    assert after["read"] - before["read"] <= 10 * SEEDED, (before, after)


def test_the_seed_command_run_as_a_user_runs_it_writes_tags_and_addresses(client, database_url) -> None:
    business = new_business(client)
    api = Api(client, new_token(client, business).token, business)

    result = run_clientele(database_url, "seed", "--business", str(business), "--customers", "40", "--random-seed", "5")

    assert result.returncode == 0, result.stderr
    listed = api.get("/customers", params={"per_page": "100", "include": "tags,addresses"}).json()["data"]
    assert len(listed) == 40
    assert any(customer["addresses"] for customer in listed)
    assert any(customer["tags"] for customer in listed)


def test_seeded_customers_start_with_no_balance(seeded: tuple[Api, list[dict[str, Any]], str]) -> None:
    _, found, _ = seeded

    assert {(customer["house_account_balance"], customer["loyalty_balance"]) for customer in found} == {(0, 0)}
