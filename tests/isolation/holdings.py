"""Two businesses for the isolation suite: generated holdings, created through the API, and
what one business can learn from an answer.

A `Plan` is what a business will hold: tags, delivery zones, customers (names in Latin or
Arabic script, Saudi mobile phones, emails, tags) and addresses, some of them deleted. The
owner (business A) holds a plan; the intruder (business B) usually holds the very same plan,
its twin, so that every name, phone, email, tag name and zone reference of A's is also one of
B's: a filter built from A's values then matches B's own records, and a uniqueness rule that
looked across businesses would refuse B's twin.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from sqlalchemy import Table, select

from clientele.addresses.models import addresses
from clientele.customers.models import customer_counts, customers
from clientele.delivery_zones.models import delivery_zone_branches, delivery_zones
from clientele.events.models import events
from clientele.ledgers.models import house_account_transactions, loyalty_transactions
from clientele.tags.models import customer_tags, tags
from tests.conftest import Api, new_business, new_token, run_statement, summed_counters

# Bounded and reproducible: the same examples every run, each a few dozen requests. No
# shrinking: each step of it would replay dozens of requests, for minutes.
ISOLATION = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)

LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéüñç"
ARABIC = "".join(chr(code) for code in range(0x0621, 0x064B))  # hamza to yeh
REFERENCE_CHARACTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-"
PREFIXES = ("", "/v5")
# Headers that differ between any two requests, whoever sends them.
VARYING_HEADERS = frozenset({"x-request-id", "x-ratelimit-remaining", "x-ratelimit-reset"})


def words(alphabet: str) -> st.SearchStrategy[str]:
    return st.lists(st.text(alphabet, min_size=2, max_size=10), min_size=1, max_size=3).map(" ".join)


names = words(LATIN) | words(ARABIC)
phones = st.integers(0, 99_999_999).map(lambda number: f"5{number:08d}")
emails = st.builds(
    "{}@{}.{}".format,
    st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12),
    st.text("abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=12),
    st.sampled_from(["com", "sa"]),
)
references = st.text(REFERENCE_CHARACTERS, min_size=3, max_size=12)


@dataclass(frozen=True)
class TagPlan:
    name: str
    deleted: bool


@dataclass(frozen=True)
class ZonePlan:
    name: str
    reference: str
    deleted: bool


@dataclass(frozen=True)
class CustomerPlan:
    name: str
    phone: str
    email: str | None
    tags: tuple[int, ...]
    is_blacklisted: bool
    deleted: bool


@dataclass(frozen=True)
class AddressPlan:
    name: str
    customer: int
    zone: int | None
    deleted: bool


@dataclass(frozen=True)
class Plan:
    tags: tuple[TagPlan, ...]
    zones: tuple[ZonePlan, ...]
    customers: tuple[CustomerPlan, ...]
    addresses: tuple[AddressPlan, ...]


def first_kept(records: list[Any]) -> tuple[Any, ...]:
    return (replace(records[0], deleted=False), *records[1:])


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    """A holding with at least one active record of every kind, and three customers, so that at
    least two share a deleted state and a one-per-page list of them has a next page."""
    tag_plans = draw(
        st.lists(st.builds(TagPlan, names, st.booleans()), min_size=1, max_size=2, unique_by=lambda tag: tag.name)
    )
    zone_plans = draw(
        st.lists(
            st.builds(ZonePlan, names, references, st.booleans()),
            min_size=1,
            max_size=2,
            unique_by=lambda zone: zone.reference,
        )
    )
    tag_indexes = st.lists(st.integers(0, len(tag_plans) - 1), unique=True, max_size=len(tag_plans))
    customer_plans = draw(
        st.lists(
            st.builds(
                CustomerPlan, names, phones, st.none() | emails, tag_indexes.map(tuple), st.booleans(), st.booleans()
            ),
            min_size=3,
            max_size=3,
            unique_by=lambda customer: customer.phone,
        )
    )
    address_plans = draw(
        st.lists(
            st.builds(
                AddressPlan,
                names,
                st.integers(0, len(customer_plans) - 1),
                st.none() | st.integers(0, len(zone_plans) - 1),
                st.booleans(),
            ),
            min_size=1,
            max_size=2,
        )
    )
    return Plan(first_kept(tag_plans), first_kept(zone_plans), first_kept(customer_plans), first_kept(address_plans))


@dataclass
class Holding:
    """A business's records as the API answered their creation, by collection path."""

    api: Api
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)

    def active(self, path: str) -> list[dict[str, Any]]:
        return [record for record in self.records[path] if record["id"] not in self.deleted]

    def ids(self) -> set[str]:
        return {record["id"] for collection in self.records.values() for record in collection}

    def telltales(self) -> set[str]:
        """Values no answer to another business may hold: ids, phones and emails, each unmistakable."""
        return self.ids() | {
            value
            for customer in self.records["/customers"]
            for value in (customer["phone"], customer["email"])
            if value
        }


def tenant(client: TestClient, name: str) -> Api:
    """A new business and a client with every scope for it."""
    business_id = new_business(client, name)
    return Api(client, new_token(client, business_id).token, business_id)


def hold(api: Api, plan: Plan, idempotency_key: Callable[[str], dict[str, str]] = lambda _: {}) -> Holding:
    """Create `plan` through `api`, then delete what it marks deleted; every create must be a 201.

    `idempotency_key(label)` gives the headers of each create, labelled by what it creates.
    """
    holding = Holding(api, {path: [] for path in ("/tags", "/delivery_zones", "/customers", "/addresses")})

    def create(path: str, label: str, body: dict[str, Any]) -> dict[str, Any]:
        response = api.post(path, json=body, headers=idempotency_key(label))
        assert response.status_code == 201, response.text
        holding.records[path].append(response.json()["data"])
        return response.json()["data"]

    made_tags = [create("/tags", f"tag-{index}", {"name": tag.name}) for index, tag in enumerate(plan.tags)]
    made_zones = [
        create(
            "/delivery_zones",
            f"zone-{index}",
            {"name": zone.name, "reference": zone.reference, "branches": [{"id": zone.reference}]},
        )
        for index, zone in enumerate(plan.zones)
    ]
    made_customers = [
        create(
            "/customers",
            f"customer-{index}",
            {
                "name": customer.name,
                "dial_code": 966,
                "phone": customer.phone,
                "email": customer.email,
                "is_blacklisted": customer.is_blacklisted,
                "tags": [{"id": made_tags[tag]["id"]} for tag in customer.tags],
            },
        )
        for index, customer in enumerate(plan.customers)
    ]
    made_addresses = [
        create(
            "/addresses",
            f"address-{index}",
            {
                "name": address.name,
                "customer_id": made_customers[address.customer]["id"],
                "delivery_zone_id": None if address.zone is None else made_zones[address.zone]["id"],
            },
        )
        for index, address in enumerate(plan.addresses)
    ]
    for path, made, planned in (
        ("/addresses", made_addresses, plan.addresses),
        ("/customers", made_customers, plan.customers),
        ("/delivery_zones", made_zones, plan.zones),
        ("/tags", made_tags, plan.tags),
    ):
        for record, record_plan in zip(made, planned, strict=True):
            if record_plan.deleted:
                assert api.delete(f"{path}/{record['id']}").status_code == 204
                holding.deleted.add(record["id"])
    return holding


def stored(client: TestClient, business_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    """Every row the business holds, timestamps to the microsecond, and its customer counters."""
    tables: tuple[Table, ...] = (
        tags,
        delivery_zones,
        delivery_zone_branches,
        customers,
        customer_tags,
        addresses,
        house_account_transactions,
        loyalty_transactions,
        events,
    )
    rows = {
        table.name: run_statement(
            client, select(table).where(table.c.business_id == business_id).order_by(*table.primary_key.columns)
        )
        for table in tables
    }
    if client.app.state.engine.dialect.name == "postgresql":  # type: ignore[attr-defined]
        rows[customer_counts.name] = summed_counters(client, business_id)
    return rows


def answer(response: httpx.Response, sent: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    """What a client learns from a response: status, body and headers, with each value it sent
    (an id in the path, a filter value echoed in a link) replaced by the name it stands for."""
    text = response.text
    headers = {name: value for name, value in response.headers.items() if name not in VARYING_HEADERS}
    for value, stands_for in (sent or {}).items():
        text = text.replace(value, stands_for)
        headers = {name: header.replace(value, stands_for) for name, header in headers.items()}
    return response.status_code, text, headers


def assert_reveals_none_of(response: httpx.Response, telltales: set[str]) -> None:
    """None of `telltales` is in the answer, unless the request itself carried it."""
    sent = str(response.request.url) + response.request.content.decode() + "".join(response.request.headers.values())
    seen = response.text + "".join(response.headers.values())
    assert not {value for value in telltales if value in seen and value not in sent}, response.text
