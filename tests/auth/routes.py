"""The routes of SPEC §5, §6, §8 and §9, the scope each needs, and how to call each one successfully."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import httpx
import pytest

from tests.conftest import Api, next_phone
from tests.webhooks.conftest import PUBLIC_URL


class Records:
    """Ids of records made on demand with a full-scope client, for `{customer}`-style paths."""

    def __init__(self, api: Api):
        self.api = api

    @cached_property
    def customer(self) -> str:
        return self.api.make_customer()["id"]

    @cached_property
    def deleted_customer(self) -> str:
        customer_id = self.api.make_customer()["id"]
        assert self.api.delete(f"/customers/{customer_id}").status_code == 204
        return customer_id

    @cached_property
    def tag(self) -> str:
        return self.api.make_tag()["id"]

    @cached_property
    def deleted_tag(self) -> str:
        tag_id = self.api.make_tag()["id"]
        assert self.api.delete(f"/tags/{tag_id}").status_code == 204
        return tag_id

    @cached_property
    def zone(self) -> str:
        return self.api.make_zone()["id"]

    @cached_property
    def deleted_zone(self) -> str:
        zone_id = self.api.make_zone()["id"]
        assert self.api.delete(f"/delivery_zones/{zone_id}").status_code == 204
        return zone_id

    @cached_property
    def address(self) -> str:
        return self.api.make_address(self.customer)["id"]

    @cached_property
    def account_holder(self) -> str:
        """A customer whose house account and loyalty are enabled, without a limit."""
        return self.api.make_customer(is_house_account_enabled=True, is_loyalty_enabled=True)["id"]

    @cached_property
    def house_account_transaction(self) -> str:
        return self.api.create("/house_account_transactions", {"customer_id": self.account_holder, "amount": -5})["id"]

    @cached_property
    def loyalty_transaction(self) -> str:
        return self.api.create("/loyalty_transactions", {"customer_id": self.account_holder, "amount": 5})["id"]

    @cached_property
    def event(self) -> str:
        created = self.api.get("/events", params={"filter[record_id]": self.customer}).json()["data"]
        return str(created[0]["id"])

    @cached_property
    def webhook_endpoint(self) -> str:
        return self.api.create("/webhook_endpoints", {"url": PUBLIC_URL})["id"]

    def __getitem__(self, name: str) -> str:
        return getattr(self, name)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    scope: str
    success: int
    body: Callable[[Records], dict[str, Any]] | None = None
    shows: tuple[str, ...] = ()
    """Scopes besides its own that the route needs to show the record it names (an event's record's)."""

    def send(self, api: Api, records: Records, prefix: str = "") -> httpx.Response:
        json = self.body(records) if self.body else None
        return api.request(self.method, prefix + self.path.format_map(records), json=json)

    def param(self) -> Any:
        return pytest.param(self, id=f"{self.method} {self.path}")


def new_customer(_: Records) -> dict[str, Any]:
    return {"name": "Scoped", "dial_code": 966, "phone": next_phone()}


ROUTES = [
    Route("GET", "/customers", "customers.list", 200),
    Route("GET", "/customers/{customer}", "customers.get", 200),
    Route("POST", "/customers", "customers.write", 201, new_customer),
    Route("PUT", "/customers/{customer}", "customers.write", 200, lambda _: {"name": "Renamed"}),
    Route("DELETE", "/customers/{customer}", "admin.write", 204),
    Route("PUT", "/customers/{deleted_customer}/restore", "admin.restore", 200),
    Route("GET", "/tags", "general.read", 200),
    Route("GET", "/tags/{tag}", "general.read", 200),
    Route("POST", "/tags", "general.write", 201, lambda _: {"name": "Scoped tag"}),
    Route("PUT", "/tags/{tag}", "general.write", 200, lambda _: {"name": "Renamed tag"}),
    Route("DELETE", "/tags/{tag}", "general.write", 204),
    Route("PUT", "/tags/{deleted_tag}/restore", "general.write", 200),
    Route("GET", "/delivery_zones", "general.read", 200),
    Route("GET", "/delivery_zones/{zone}", "general.read", 200),
    Route("POST", "/delivery_zones", "general.write", 201, lambda _: {"name": "Scoped zone"}),
    Route("PUT", "/delivery_zones/{zone}", "general.write", 200, lambda _: {"name": "Renamed zone"}),
    Route("DELETE", "/delivery_zones/{zone}", "general.write", 204),
    Route("PUT", "/delivery_zones/{deleted_zone}/restore", "general.write", 200),
    Route("GET", "/addresses", "customers.list", 200),
    Route("GET", "/addresses/{address}", "customers.get", 200),
    Route(
        "POST", "/addresses", "customers.write", 201, lambda records: {"name": "Home", "customer_id": records.customer}
    ),
    Route("PUT", "/addresses/{address}", "customers.write", 200, lambda _: {"name": "Work"}),
    Route("DELETE", "/addresses/{address}", "customers.write", 204),
    Route("GET", "/house_account_transactions", "customers.accounts.read", 200),
    Route("GET", "/house_account_transactions/{house_account_transaction}", "customers.accounts.read", 200),
    Route(
        "POST",
        "/house_account_transactions",
        "customers.accounts.write",
        201,
        lambda records: {"customer_id": records.account_holder, "amount": -2.5},
    ),
    Route("GET", "/loyalty_transactions", "customers.loyalty.read", 200),
    Route("GET", "/loyalty_transactions/{loyalty_transaction}", "customers.loyalty.read", 200),
    Route(
        "POST",
        "/loyalty_transactions",
        "customers.loyalty.write",
        201,
        lambda records: {"customer_id": records.account_holder, "amount": 2.5},
    ),
    Route("GET", "/events", "events.read", 200),
    Route("GET", "/events/{event}", "events.read", 200, shows=("customers.get",)),
    Route("GET", "/webhook_endpoints", "webhooks.manage", 200),
    Route("GET", "/webhook_endpoints/{webhook_endpoint}", "webhooks.manage", 200),
    # An endpoint is sent events of records its creator reads: one that could read none is refused.
    Route("POST", "/webhook_endpoints", "webhooks.manage", 201, lambda _: {"url": PUBLIC_URL}, shows=("general.read",)),
    Route("PATCH", "/webhook_endpoints/{webhook_endpoint}", "webhooks.manage", 200, lambda _: {"description": "x"}),
    Route("DELETE", "/webhook_endpoints/{webhook_endpoint}", "webhooks.manage", 204),
    Route("GET", "/webhook_endpoints/{webhook_endpoint}/deliveries", "webhooks.manage", 200),
]
