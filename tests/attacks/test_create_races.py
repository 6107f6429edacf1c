"""Racing creates (issue 4 §4): of many concurrent writes of one unique value, exactly one is stored.

The requests go to a real `clientele serve --workers 2`, all at once, so that they race in
two processes and on the database itself, not in one event loop taking turns.
"""

import uuid
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from clientele.tags.models import customer_tags
from tests.attacks.conftest import Request, Tenant, api_of, new_tenant, race
from tests.cli.processes import Server
from tests.conftest import Api, next_phone, run_statement

RACERS = 50
PHONE_TAKEN = {"phone": ["The phone has already been taken."]}


def spellings(phone: str) -> list[Any]:
    """One phone as clients write it: with a trunk prefix, separators, or as a JSON number."""
    return [phone, f"0{phone}", f"0{phone[:2]}-{phone[2:5]}-{phone[5:]}", f"({phone[:3]}) {phone[3:]}", int(phone)]


def customers_with_phone(api: Api, phone: str, include: str = "") -> list[dict[str, Any]]:
    response = api.get("/customers", params={"filter[phone]": phone, "include": include, "per_page": 1000})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_of_concurrent_creates_of_one_phone_exactly_one_is_stored_with_its_tags(
    live_server: Server, client: TestClient, tenant: Tenant
) -> None:
    api = api_of(client, tenant)
    tag_ids = [api.make_tag()["id"] for _ in range(2)]
    phone = next_phone()
    forms = spellings(phone)
    bodies = [
        {
            "name": f"Racer {n}",
            "dial_code": 966,
            "phone": forms[n % len(forms)],
            "tags": [{"id": tag_id} for tag_id in tag_ids],
        }
        for n in range(RACERS)
    ]

    responses = race(live_server, [(tenant, ("POST", "/customers?include=tags", body)) for body in bodies])

    created = [response for response in responses if response.status_code == 201]
    refused = [response for response in responses if response.status_code != 201]
    assert len(created) == 1, [response.text for response in responses]
    assert {response.status_code for response in refused} == {422}
    assert all(response.json()["errors"] == PHONE_TAKEN for response in refused)
    [stored] = customers_with_phone(api, phone, include="tags")
    assert stored == created[0].json()["data"]
    assert {tag["id"] for tag in stored["tags"]} == set(tag_ids)
    # The losers' tag links were rolled back with their rows: only the winner's two remain.
    [links] = run_statement(
        client,
        select(func.count().label("links"))
        .select_from(customer_tags)
        .where(customer_tags.c.tag_id.in_([uuid.UUID(tag_id) for tag_id in tag_ids])),
    )
    assert links == {"links": 2}


def test_one_phone_raced_in_two_businesses_is_stored_once_in_each(live_server: Server, client: TestClient) -> None:
    tenants = [new_tenant(client), new_tenant(client)]
    phone = next_phone()

    sends: list[tuple[Tenant, Request]] = [
        (tenants[n % 2], ("POST", "/customers", {"name": f"Racer {n}", "dial_code": 966, "phone": phone}))
        for n in range(RACERS)
    ]

    responses = race(live_server, sends)

    for tenant in tenants:
        answers = [response for (sender, _), response in zip(sends, responses, strict=True) if sender is tenant]
        assert sorted(response.status_code for response in answers) == [201] + [422] * (RACERS // 2 - 1)
        [stored] = customers_with_phone(api_of(client, tenant), phone)
        assert [stored] == [response.json()["data"] for response in answers if response.status_code == 201]


@pytest.mark.parametrize(
    "path, unique_field, taken",
    [
        ("/tags", "name", {"name": ["The name has already been taken."]}),
        ("/delivery_zones", "reference", {"reference": ["The reference has already been taken."]}),
    ],
)
def test_of_concurrent_creates_of_one_unique_name_exactly_one_is_stored(
    live_server: Server, client: TestClient, tenant: Tenant, path: str, unique_field: str, taken: dict[str, list[str]]
) -> None:
    value = f"raced-{uuid.uuid4().hex[:8]}"
    bodies = [{"name": f"Racer {n}", unique_field: value} for n in range(RACERS)]

    responses = race(live_server, [(tenant, ("POST", path, body)) for body in bodies])

    created = [response for response in responses if response.status_code == 201]
    assert len(created) == 1, [response.text for response in responses]
    assert all(
        response.status_code == 422 and response.json()["errors"] == taken
        for response in responses
        if response.status_code != 201
    )
    listed = api_of(client, tenant).get(path, params={"per_page": 1000}).json()["data"]
    assert [record for record in listed if record[unique_field] == value] == [created[0].json()["data"]]


def test_a_restore_racing_creates_of_its_phone_leaves_one_active_customer(
    live_server: Server, client: TestClient, tenant: Tenant
) -> None:
    api = api_of(client, tenant)
    phone = next_phone()
    deleted = api.make_customer(phone=phone)
    assert api.delete(f"/customers/{deleted['id']}").status_code == 204
    restore: Request = ("PUT", f"/customers/{deleted['id']}/restore", None)
    creates: list[Request] = [
        ("POST", "/customers", {"name": f"Racer {n}", "dial_code": 966, "phone": phone}) for n in range(RACERS - 1)
    ]
    sends = [restore, *creates]

    responses = race(live_server, [(tenant, request) for request in sends])

    outcomes = Counter(
        (method, response.status_code) for (method, _, _), response in zip(sends, responses, strict=True)
    )
    assert outcomes[("PUT", 200)] + outcomes[("POST", 201)] == 1, outcomes
    assert set(outcomes) <= {("PUT", 200), ("PUT", 409), ("POST", 201), ("POST", 422)}, outcomes
    [active] = customers_with_phone(api, phone)
    winner = next(response for response in responses if response.status_code in (200, 201))
    assert active == winner.json()["data"]
