"""Isolation of single-record routes (issue 4 §4): for every route that names a record by id,
another business's record is answered exactly as a missing one, and nothing changes.

Each example gives business A a generated holding and business B none. B then sends
every record route (GET, PUT, DELETE, and restore for customers, tags and zones) for one of A's records,
with generated options - a `/v5` prefix, includes, an `If-Match` with A's own ETag or any
other, a body that would be valid, invalid, or point at A's other records - and the same
request for an id that never existed. The two answers must be the same (status, body,
headers), hold none of A's ids, phones or emails, and afterwards neither business's stored
rows may differ by a microsecond. Where tests/test_tenancy.py checks one fixed record per
route, this generalises it over generated records, options and bodies.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from tests.isolation.holdings import (
    ISOLATION,
    PREFIXES,
    Holding,
    Plan,
    answer,
    assert_reveals_none_of,
    hold,
    names,
    phones,
    plans,
    stored,
    tenant,
)

INCLUDES = {
    "/customers": ["tags", "addresses", "addresses.delivery_zone", "tags,addresses.delivery_zone"],
    "/tags": ["customersCount", "customersCount,productsCount"],
    "/delivery_zones": ["branches"],
    "/addresses": ["customer", "delivery_zone", "customer,delivery_zone"],
}


@dataclass(frozen=True)
class RecordRoute:
    method: str
    collection: str
    suffix: str = ""

    def path(self, prefix: str, record_id: str) -> str:
        return f"{prefix}{self.collection}/{record_id}{self.suffix}"


RECORD_ROUTES = [
    *(
        RecordRoute(method, collection)
        for collection in ("/customers", "/tags", "/delivery_zones", "/addresses")
        for method in ("GET", "PUT", "DELETE")
    ),
    *(RecordRoute("PUT", collection, "/restore") for collection in ("/customers", "/tags", "/delivery_zones")),
]


def bodies(route: RecordRoute, holding: Holding, record: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """PUT bodies: empty, a new name, the record as its creation was answered, an invalid field,
    and references to the owner's other records."""
    if route.method != "PUT" or route.suffix:
        return st.none()
    owners = holding.records
    changes: list[st.SearchStrategy[dict[str, Any]]] = [
        st.just({}),
        st.builds(lambda name: {"name": name}, names),
        st.just(record),
        st.just({"name": ""}),
    ]
    if route.collection == "/customers":
        changes += [
            st.builds(lambda phone: {"phone": phone}, phones),
            st.sampled_from(owners["/tags"]).map(lambda tag: {"tags": [{"id": tag["id"]}]}),
        ]
    if route.collection == "/addresses":
        changes += [
            st.sampled_from(owners["/customers"]).map(lambda customer: {"customer_id": customer["id"]}),
            st.sampled_from(owners["/delivery_zones"]).map(lambda zone: {"delivery_zone_id": zone["id"]}),
        ]
    return st.one_of(changes)


@st.composite
def requests(draw: st.DrawFn, route: RecordRoute, holding: Holding) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """One of the owner's records, and how to ask for it: prefix, and query, headers and body."""
    record = draw(st.sampled_from(holding.records[route.collection]))
    query = {}
    if route.collection in INCLUDES and route.method != "DELETE" and draw(st.booleans()):
        query["include"] = draw(st.sampled_from(INCLUDES[route.collection]))
    headers = {}
    if route.method != "GET":
        if_match = draw(st.sampled_from([None, "the owner's ETag", '"any version"', "*"]))
        if if_match == "the owner's ETag":
            if_match = holding.api.get(f"{route.collection}/{record['id']}").headers["etag"]
        if if_match is not None:
            headers["If-Match"] = if_match
    options: dict[str, Any] = {"params": query, "headers": headers}
    body = draw(bodies(route, holding, record))
    if body is not None:
        options["json"] = body
    return record, draw(st.sampled_from(PREFIXES)), options


@ISOLATION
@given(plan=plans(), data=st.data())
def test_every_record_route_answers_another_business_record_as_a_missing_one(
    client: TestClient, plan: Plan, data: st.DataObject
) -> None:
    owner = hold(tenant(client, "Owner"), plan)
    intruder = tenant(client, "Intruder")
    before = {"owner": stored(client, owner.api.business_id), "intruder": stored(client, intruder.business_id)}

    for route in RECORD_ROUTES:
        record, prefix, options = data.draw(requests(route, owner), label=f"{route.method} {route.path('', '{id}')}")
        missing_id = str(uuid.uuid4())

        theirs = intruder.request(route.method, route.path(prefix, record["id"]), **options)
        missing = intruder.request(route.method, route.path(prefix, missing_id), **options)

        assert theirs.status_code == 404, theirs.text
        assert answer(theirs, {record["id"]: "{id}"}) == answer(missing, {missing_id: "{id}"})
        assert_reveals_none_of(theirs, owner.telltales())

    assert {"owner": stored(client, owner.api.business_id), "intruder": stored(client, intruder.business_id)} == before
