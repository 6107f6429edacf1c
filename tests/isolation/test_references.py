"""Isolation of writes (issue 4 §4): what business B creates or changes can neither point at
business A's records nor be refused because of them.

Over generated holdings, A holds a plan first; then:
- B creates the twin of A's plan - the same phones, tag names and zone references, sent
  with the same `Idempotency-Key`s A used - and every create is a 201 of B's own, never a
  replay of A's answer: no uniqueness rule or stored key of A's shows through.
- B's creates and updates that name A's records (an address for A's customer or in A's
  zone, a customer tagged with A's tags, B's address moved to A's customer or zone), alone
  or beside B's own valid ids, answer exactly as the same writes naming ids that do not
  exist; and neither business's stored rows change.
"""

import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from clientele.web.idempotency import REPLAYED_HEADER
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

idempotency_keys = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40)
# A write of B's: method, path and body, given the id to send in place of each of A's it names.
Write = Callable[[dict[str, str]], tuple[str, str, dict[str, Any]]]


@st.composite
def writes(draw: st.DrawFn, owner: Holding, twin: Holding) -> tuple[Write, list[str]]:
    """A write of B's that names some of A's records, and the ids of A's it names."""
    kind = draw(
        st.sampled_from(
            [
                "address for customer",
                "address in zone",
                "customer with tags",
                "customer tags",
                "address moved",
                "address zone",
            ]
        )
    )
    our_customer, our_zone, our_address = (
        draw(st.sampled_from(twin.active(path)))["id"] for path in ("/customers", "/delivery_zones", "/addresses")
    )
    if kind in ("customer with tags", "customer tags"):
        theirs = [
            tag["id"]
            for tag in draw(
                st.lists(st.sampled_from(owner.records["/tags"]), min_size=1, unique_by=lambda tag: tag["id"])
            )
        ]
        ours = [tag["id"] for tag in draw(st.lists(st.sampled_from(twin.active("/tags")), max_size=1))]
        order = draw(st.permutations(range(len(theirs) + len(ours))))
        name, phone = draw(names), draw(phones)

        def tagged(ids: dict[str, str]) -> tuple[str, str, dict[str, Any]]:
            chosen = [ids[their_id] for their_id in theirs] + ours
            tags = [{"id": chosen[index]} for index in order]
            if kind == "customer tags":
                return "PUT", f"/customers/{our_customer}", {"tags": tags}
            return "POST", "/customers", {"name": name, "dial_code": 966, "phone": phone, "tags": tags}

        return tagged, theirs
    their_customer = draw(st.sampled_from(owner.records["/customers"]))["id"]
    their_zone = draw(st.sampled_from(owner.records["/delivery_zones"]))["id"]
    address_name = draw(names)

    def addressed(ids: dict[str, str]) -> tuple[str, str, dict[str, Any]]:
        customer, zone = ids.get(their_customer, our_customer), ids.get(their_zone, our_zone)
        return {
            "address for customer": ("POST", "/addresses", {"name": address_name, "customer_id": customer}),
            "address in zone": (
                "POST",
                "/addresses",
                {"name": address_name, "customer_id": our_customer, "delivery_zone_id": zone},
            ),
            "address moved": ("PUT", f"/addresses/{our_address}", {"customer_id": customer}),
            "address zone": ("PUT", f"/addresses/{our_address}", {"delivery_zone_id": zone}),
        }[kind]

    return addressed, [their_customer] if kind in ("address for customer", "address moved") else [their_zone]


@ISOLATION
@given(plan=plans(), key=idempotency_keys, data=st.data())
def test_another_business_records_can_be_neither_named_nor_in_the_way(
    client: TestClient, plan: Plan, key: str, data: st.DataObject
) -> None:
    owner = hold(tenant(client, "Owner"), plan, idempotency_key=lambda label: {"Idempotency-Key": f"{key}{label}"})
    intruder = tenant(client, "Intruder")
    twin = hold(intruder, plan, idempotency_key=lambda label: {"Idempotency-Key": f"{key}{label}"})

    assert not owner.ids() & twin.ids()
    before = {"owner": stored(client, owner.api.business_id), "intruder": stored(client, intruder.business_id)}

    for _ in range(data.draw(st.integers(2, 4), label="writes")):
        write, theirs = data.draw(writes(owner, twin))
        prefix = data.draw(st.sampled_from(PREFIXES), label="prefix")
        missing = {their_id: str(uuid.uuid4()) for their_id in theirs}
        method, path, body = write({their_id: their_id for their_id in theirs})
        _, _, missing_body = write(missing)

        named = intruder.request(method, prefix + path, json=body)
        not_named = intruder.request(method, prefix + path, json=missing_body)

        assert named.status_code == 422, named.text
        assert answer(named) == answer(not_named)
        assert REPLAYED_HEADER.lower() not in named.headers
        assert_reveals_none_of(named, owner.telltales())

    assert {"owner": stored(client, owner.api.business_id), "intruder": stored(client, intruder.business_id)} == before
