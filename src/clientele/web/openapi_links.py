"""OpenAPI links, added to the generated document: which answer's ids (and a list's next cursor)
feed which next request, for clients and fuzzers that chain calls."""

from dataclasses import dataclass
from typing import Any

RECORD_ID = "$response.body#/data/id"
NEXT_CURSOR = "$response.body#/meta/next_cursor"
NEXT_PAGE = (
    "The next page by cursor: meta.next_cursor, sent with every query parameter of this request "
    "but page{also}, since a cursor belongs to its sort and filters."
)


@dataclass(frozen=True)
class Domain:
    """A resource with a collection path and a record path named by one id parameter."""

    collection: str
    id_name: str
    noun: str
    restorable: bool = False
    # Ledger entries: read and created, never changed or deleted.
    immutable: bool = False
    # Events: only read, written by the changes they tell of.
    read_only: bool = False
    update_method: str = "put"
    # Operations under a record (name, method, last path segment): webhook endpoints' rotate_secret…
    actions: tuple[tuple[str, str, str], ...] = ()

    @property
    def record(self) -> str:
        return f"{self.collection}/{{{self.id_name}}}"

    @property
    def restore(self) -> str:
        return f"{self.record}/restore"


CUSTOMERS = Domain("/customers", "customer_id", "Customer", restorable=True)
TAGS = Domain("/tags", "tag_id", "Tag", restorable=True)
DELIVERY_ZONES = Domain("/delivery_zones", "zone_id", "DeliveryZone", restorable=True)
ADDRESSES = Domain("/addresses", "address_id", "Address")
HOUSE_ACCOUNT_TRANSACTIONS = Domain(
    "/house_account_transactions", "transaction_id", "HouseAccountTransaction", immutable=True
)
LOYALTY_TRANSACTIONS = Domain("/loyalty_transactions", "transaction_id", "LoyaltyTransaction", immutable=True)
LEDGERS = (HOUSE_ACCOUNT_TRANSACTIONS, LOYALTY_TRANSACTIONS)
EVENTS = Domain("/events", "event_id", "Event", immutable=True, read_only=True)
WEBHOOK_ENDPOINTS = Domain(
    "/webhook_endpoints",
    "endpoint_id",
    "WebhookEndpoint",
    update_method="patch",
    actions=(
        ("RotateSecret", "post", "rotate_secret"),
        ("Replay", "post", "replay"),
        ("ListDeliveries", "get", "deliveries"),
    ),
)
DOMAINS = (CUSTOMERS, TAGS, DELIVERY_ZONES, ADDRESSES, *LEDGERS, EVENTS, WEBHOOK_ENDPOINTS)


@dataclass(frozen=True)
class Target:
    """The operation a link leads to and how the source's answer fills its request."""

    method: str
    path: str
    parameters: dict[str, str] | None = None
    request_body: Any = None
    # The source request's query parameters that the target has too, passed on as they were.
    repeats_query: bool = False


def record_targets(domain: Domain, record_id: str) -> dict[str, Target]:
    """The operations on one record, each fed its id."""
    path_id = {domain.id_name: record_id}
    targets = {f"Get{domain.noun}": Target("get", domain.record, path_id)}
    if not domain.immutable:
        targets[f"Update{domain.noun}"] = Target(domain.update_method, domain.record, path_id)
        targets[f"Delete{domain.noun}"] = Target("delete", domain.record, path_id)
    if domain.restorable:
        targets[f"Restore{domain.noun}"] = Target("put", domain.restore, path_id)
    for name, method, segment in domain.actions:
        targets[f"{name}{domain.noun}"] = Target(method, f"{domain.record}/{segment}", path_id)
    return targets


def reference_targets(domain: Domain, record_id: str) -> dict[str, Target]:
    """The operations of other domains that refer to a record of this one."""
    if domain is WEBHOOK_ENDPOINTS:
        return {}
    if domain is CUSTOMERS:
        targets = {
            "CreateAddressForCustomer": Target("post", ADDRESSES.collection, request_body={"customer_id": record_id}),
            "ListAddressesOfCustomer": Target("get", ADDRESSES.collection, {"filter[customer_id]": record_id}),
        }
        for ledger in LEDGERS:
            targets[f"Create{ledger.noun}ForCustomer"] = Target(
                "post", ledger.collection, request_body={"customer_id": record_id}
            )
            targets[f"List{ledger.noun}sOfCustomer"] = Target(
                "get", ledger.collection, {"filter[customer_id]": record_id}
            )
        return targets
    if domain is TAGS:
        return {
            "CreateCustomerWithTag": Target("post", CUSTOMERS.collection, request_body={"tags": [{"id": record_id}]}),
            "ListCustomersWithTag": Target("get", CUSTOMERS.collection, {"filter[tags.id]": record_id}),
        }
    if domain is DELIVERY_ZONES:
        return {
            "CreateAddressInZone": Target("post", ADDRESSES.collection, request_body={"delivery_zone_id": record_id}),
        }
    if domain is EVENTS:
        return {}
    customer = Target("get", CUSTOMERS.record, {"customer_id": "$response.body#/data/customer/id"})
    if domain in LEDGERS:
        return {f"Get{domain.noun}Customer": customer}
    return {
        "GetAddressCustomer": customer,
        "GetAddressDeliveryZone": Target(
            "get", DELIVERY_ZONES.record, {"zone_id": "$response.body#/data/delivery_zone/id"}
        ),
    }


def domain_links(domain: Domain) -> dict[tuple[str, str, str], dict[str, Target]]:
    """Every link of one domain, keyed by the (method, path, status) of the answer it starts from."""
    returned = record_targets(domain, RECORD_ID) | reference_targets(domain, RECORD_ID)
    links = {
        ("get", domain.record, "200"): returned,
        ("get", domain.collection, "200"): {
            "NextPage": Target("get", domain.collection, {"cursor": NEXT_CURSOR}, repeats_query=True),
        },
    }
    if not domain.read_only:
        links[("post", domain.collection, "201")] = returned
    if not domain.immutable:
        links[(domain.update_method, domain.record, "200")] = returned
        links[("delete", domain.record, "204")] = record_targets(domain, f"$request.path.{domain.id_name}")
    if domain.restorable:
        links[("put", domain.restore, "200")] = returned
    return links


def describe(target: Target, document: dict[str, Any]) -> dict[str, Any]:
    operation = document["paths"][target.path][target.method]
    link: dict[str, Any] = {"operationId": operation["operationId"]}
    parameters = dict(target.parameters or {})
    if target.repeats_query:
        # `page` is left behind: the cursor says where the next page starts. A name with a dot
        # (`filter[tags.id]`) is left out too: OpenAPI's grammar allows it in an expression, but
        # Schemathesis reads the dot as a step and then refuses every link of the document.
        repeated = [
            parameter["name"]
            for parameter in operation.get("parameters", [])
            if parameter["in"] == "query" and parameter["name"] not in {"page", *parameters}
        ]
        unnamed = [name for name in repeated if "." in name]
        parameters |= {name: f"$request.query.{name}" for name in repeated if name not in unnamed}
        link["description"] = NEXT_PAGE.format(also="".join(f", {name} included" for name in unnamed))
    if parameters:
        link["parameters"] = parameters
    if target.request_body is not None:
        link["requestBody"] = target.request_body
    return link


def with_links(document: dict[str, Any]) -> dict[str, Any]:
    """The document with `links` on every answer that returns or names a record."""
    for domain in DOMAINS:
        for (method, path, status), targets in domain_links(domain).items():
            response = document["paths"][path][method]["responses"][status]
            response["links"] = {name: describe(target, document) for name, target in targets.items()}
    return document
