"""Isolation of the list routes (issue 4 §4): no filter, include, count or cursor of business B's
shows anything of business A's.

Two properties, each over generated holdings:
- B's lists are the same before and after A writes. B holds the twin of A's plan, sends
  list requests built from A's values (names, parts of names in any case, phones and parts
  of them, emails, tag names, zone references, boolean filters, includes, sorts, small
  pages followed by cursor) and reads its own records with every include; then A creates,
  tags and deletes its holding, and B's every answer, `meta.total` included, must be the
  same to the byte.
- A's ids and cursors mean nothing to B. `filter[tags.id]` with A's tag ids (alone or
  beside B's own) and `filter[customer_id]` with A's customer answer as the same filters
  with ids that do not exist, and a cursor A was given, replayed by B with the same
  parameters, is refused as a cursor of B's own would be when it does not fit the list.
"""

import uuid
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from clientele.db.cursors import INVALID, OTHER_LIST
from tests.conftest import Api
from tests.isolation.holdings import (
    ISOLATION,
    PREFIXES,
    Holding,
    Plan,
    answer,
    assert_reveals_none_of,
    hold,
    plans,
    tenant,
)

MAX_PAGES = 3
SORTS = ["created_at", "-created_at", "updated_at", "-updated_at,created_at"]
BOOLEANS = ["true", "false"]
LIST_INCLUDES = {
    "/customers": ["tags", "addresses", "addresses.delivery_zone", "tags,addresses.delivery_zone"],
    "/tags": ["customersCount", "customersCount,branchesCount"],
    "/delivery_zones": ["branches"],
    "/addresses": ["customer", "delivery_zone", "customer,delivery_zone"],
}
RECORD_INCLUDES = {
    "/customers": "tags,addresses.delivery_zone",
    "/tags": "customersCount",
    "/delivery_zones": "branches",
    "/addresses": "customer,delivery_zone",
}
ListRequest = tuple[str, dict[str, str]]


def fragments(value: str) -> st.SearchStrategy[str]:
    """Any non-empty part of `value`, as it is, upper-cased or lower-cased."""
    part = st.integers(0, len(value) - 1).flatmap(
        lambda start: st.integers(start + 1, len(value)).map(lambda end: value[start:end])
    )
    return st.tuples(part, st.sampled_from([str, str.upper, str.lower])).map(lambda cased: cased[1](cased[0]))


def paging(path: str) -> dict[str, st.SearchStrategy[str]]:
    """The optional parameters every list takes."""
    return {
        "sort": st.sampled_from(SORTS),
        "per_page": st.integers(1, 2).map(str),
        "filter[is_deleted]": st.sampled_from(BOOLEANS),
        **({"include": st.sampled_from(LIST_INCLUDES[path])} if path in LIST_INCLUDES else {}),
    }


def value_requests(plan: Plan) -> st.SearchStrategy[ListRequest]:
    """List requests whose filter values are A's names, phones, emails, tag names and references."""
    customer = st.sampled_from(plan.customers)
    emails = [customer.email for customer in plan.customers if customer.email]
    customer_filters = {
        "filter[name]": customer.flatmap(lambda chosen: fragments(chosen.name)),
        "filter[phone]": customer.flatmap(lambda chosen: fragments(chosen.phone)),
        "filter[dial_code]": st.just("966"),
        "filter[is_blacklisted]": st.sampled_from(BOOLEANS),
        **({"filter[email]": st.sampled_from(emails).flatmap(fragments)} if emails else {}),
    }
    zone = st.sampled_from(plan.zones)
    filters = {
        "/customers": customer_filters,
        "/tags": {"filter[name]": st.sampled_from(plan.tags).flatmap(lambda tag: fragments(tag.name))},
        "/delivery_zones": {
            "filter[name]": zone.flatmap(lambda chosen: fragments(chosen.name)),
            "filter[reference]": zone.map(lambda chosen: chosen.reference),
            "filter[branches.id]": zone.map(lambda chosen: chosen.reference),
        },
        "/addresses": {
            "filter[name]": st.sampled_from(plan.addresses).flatmap(lambda address: fragments(address.name))
        },
    }
    return st.one_of(
        [
            st.tuples(
                st.sampled_from(PREFIXES).map(lambda prefix, path=path: prefix + path),
                st.fixed_dictionaries({}, optional=paging(path) | path_filters),
            )
            for path, path_filters in filters.items()
        ]
    )


def pages(api: Api, request: ListRequest, sent: dict[str, str] | None = None) -> list[Any]:
    """The first page of a list and the next ones by cursor, up to MAX_PAGES, as answers."""
    path, params = request
    answers = []
    for _ in range(MAX_PAGES):
        response = api.get(path, params=params)
        cursor = response.json().get("meta", {}).get("next_cursor") if response.status_code == 200 else None
        # A cursor signs the filter values it was issued for, so it differs whenever they do.
        answers.append(answer(response, (sent or {}) | ({cursor: "{next cursor}"} if cursor else {})))
        if cursor is None:
            break
        params = params | {"cursor": cursor}
    return answers


def own_records(holding: Holding) -> list[ListRequest]:
    """Each of the holding's records read by id, with every include its route offers."""
    return [
        (f"{path}/{record['id']}", {"include": RECORD_INCLUDES[path]} if path in RECORD_INCLUDES else {})
        for path, records in holding.records.items()
        for record in records
    ]


@ISOLATION
@given(plan=plans(), data=st.data())
def test_another_business_writes_change_no_list_answer(client: TestClient, plan: Plan, data: st.DataObject) -> None:
    intruder = tenant(client, "Intruder")
    twin = hold(intruder, plan)
    requests = data.draw(st.lists(value_requests(plan), min_size=4, max_size=8), label="list requests")
    requests += own_records(twin)
    before = [pages(intruder, request) for request in requests]

    hold(tenant(client, "Owner"), plan)

    assert [pages(intruder, request) for request in requests] == before


@st.composite
def id_requests(draw: st.DrawFn, owner: Holding, twin: Holding) -> tuple[str, dict[str, str], list[str]]:
    """A list request filtering by A's ids, possibly beside B's own, and which ids are A's."""
    if draw(st.booleans()):
        path, name = "/customers", "filter[tags.id]"
        theirs = [
            tag["id"]
            for tag in draw(
                st.lists(st.sampled_from(owner.records["/tags"]), min_size=1, unique_by=lambda tag: tag["id"])
            )
        ]
        ours = [tag["id"] for tag in draw(st.lists(st.sampled_from(twin.records["/tags"]), max_size=1))]
        value = ",".join(draw(st.permutations(theirs + ours)))
    else:
        path, name = "/addresses", "filter[customer_id]"
        theirs = [draw(st.sampled_from(owner.records["/customers"]))["id"]]
        value = theirs[0]
    params = draw(st.fixed_dictionaries({name: st.just(value)}, optional=paging(path)))
    return draw(st.sampled_from(PREFIXES)) + path, params, theirs


def swapped(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        text = text.replace(old, new)
    return text


def placeholders(ids: list[str]) -> dict[str, str]:
    """Each id sent, named by its place, so that answers to different ids can be compared."""
    return {sent_id: f"{{id {index}}}" for index, sent_id in enumerate(ids)}


def cursor_requests(plan: Plan) -> st.SearchStrategy[ListRequest]:
    """Customer lists of which A holds two records or more, so that one per page leaves a next page."""
    crowded = "true" if sum(customer.deleted for customer in plan.customers) >= 2 else "false"
    options = {name: strategy for name, strategy in paging("/customers").items() if name != "filter[is_deleted]"}
    return st.tuples(
        st.sampled_from(PREFIXES).map(lambda prefix: prefix + "/customers"),
        st.fixed_dictionaries({"filter[is_deleted]": st.just(crowded)}, optional=options),
    )


@ISOLATION
@given(plan=plans(), data=st.data())
def test_another_business_ids_and_cursors_mean_nothing_in_a_list(
    client: TestClient, plan: Plan, data: st.DataObject
) -> None:
    owner = hold(tenant(client, "Owner"), plan)
    intruder = tenant(client, "Intruder")
    twin = hold(intruder, plan)

    for _ in range(data.draw(st.integers(2, 4), label="id filters")):
        path, params, theirs = data.draw(id_requests(owner, twin))
        missing = [str(uuid.uuid4()) for _ in theirs]
        with_missing = {name: swapped(value, dict(zip(theirs, missing, strict=True))) for name, value in params.items()}

        assert pages(intruder, (path, params), placeholders(theirs)) == pages(
            intruder, (path, with_missing), placeholders(missing)
        )

    cursor_probes = data.draw(
        st.lists(cursor_requests(plan), min_size=1, max_size=2), label="cursor lists"
    ) + data.draw(st.lists(value_requests(plan), max_size=2), label="filtered cursor lists")
    replays = 0
    for path, params in cursor_probes:
        issued = owner.api.get(path, params=params | {"per_page": "1"})
        cursor = issued.json().get("meta", {}).get("next_cursor") if issued.status_code == 200 else None
        if cursor is None:
            continue

        replayed = intruder.get(path, params=params | {"per_page": "1", "cursor": cursor})

        assert replayed.status_code == 400, replayed.text
        assert replayed.json() in [
            {"message": refusal, "errors": {"cursor": [refusal]}} for refusal in (INVALID, OTHER_LIST)
        ]
        assert_reveals_none_of(replayed, owner.telltales())
        replays += 1
    assert replays >= 1
