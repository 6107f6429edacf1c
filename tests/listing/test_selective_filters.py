"""A filter that matches few of a business's customers (≤ 1%) is served from its gathered matches
on PostgreSQL, sorted, instead of by walking the sort's index (listing.fetch_page): the same
pages, totals and cursors either way."""

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import Api, new_business, new_token

from clientele import listing
from clientele.customers.models import customers

CUSTOMERS = 210  # so that 2 matches are under 1%


@pytest.fixture(scope="module")
def api(client: TestClient, database_url: str) -> Api:
    """One business for the module: making its customers takes a while."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite walks the sort's index for every filter: it has no counters to judge a filter by")
    business = new_business(client)
    return Api(client, new_token(client, business).token, business)


@pytest.fixture(scope="module")
def haystack(api: Api) -> dict[str, Any]:
    """CUSTOMERS customers, two of them named "Needle"."""
    made = [api.make_customer(name="Needle" if index in (7, 150) else f"Hay {index}") for index in range(CUSTOMERS)]
    return {"needles": [made[7], made[150]], "all": made}


def gathered(statements: list[str]) -> bool:
    """Whether the page (the last statement a list sends) was sorted from the gathered matches."""
    return "AS MATERIALIZED" in statements[-1]


def searches(statements: list[str]) -> int:
    """How many of the statements search by the name filter."""
    return sum("name_lower LIKE" in statement for statement in statements)


def test_a_selective_filter_is_sorted_from_its_matches(api, haystack, sent_statements):
    responses = []
    statements = sent_statements(lambda: responses.append(api.get("/customers", params={"filter[name]": "needle"})))

    body = responses[0].json()
    assert gathered(statements)
    assert searches(statements) == 1  # the page and the total come from one statement
    assert [customer["id"] for customer in body["data"]] == [needle["id"] for needle in haystack["needles"]]
    assert body["meta"]["total"] == 2


def test_a_selective_filter_past_its_last_page_still_has_its_total(api, haystack):
    body = api.get("/customers", params={"filter[name]": "needle", "per_page": 1, "page": 3}).json()

    assert (body["data"], body["meta"]["total"], body["meta"]["last_page"]) == ([], 2, 2)
    assert body["links"]["next"] is None
    assert api.get("/customers", params={"filter[name]": "needle", "per_page": 1, "page": 10**15}).json()[
        "meta"]["total"] == 2


@pytest.mark.parametrize("sort", ["created_at", "-created_at", "-updated_at"])
def test_a_selective_filter_pages_by_cursor_in_its_sort(api, haystack, sent_statements, sort):
    expected = [needle["id"] for needle in haystack["needles"]]
    if sort.startswith("-"):
        expected.reverse()
    params = {"filter[name]": "NEEDLE", "sort": sort, "per_page": 1}
    first = api.get("/customers", params=params).json()
    pages = []
    statements = sent_statements(lambda: pages.append(api.get("/customers", params=params | {
        "cursor": first["meta"]["next_cursor"]}).json()))

    assert gathered(statements)
    assert [first["data"][0]["id"], pages[0]["data"][0]["id"]] == expected
    assert pages[0]["meta"]["next_cursor"] is None
    assert api.get("/customers", params=params | {"page": 2}).json()["data"] == pages[0]["data"]


@pytest.mark.parametrize(("sort", "walked"), [("updated_at", True), ("-updated_at", True), ("created_at", False)])
def test_a_filter_on_the_sort_column_walks_that_columns_index(api, haystack, sent_statements, overwrite, sort, walked):
    changed = haystack["all"][3]
    overwrite(customers, changed["id"], updated_at=datetime(2099, 1, 2))
    responses = []

    statements = sent_statements(lambda: responses.append(api.get(
        "/customers", params={"filter[updated_after]": "2099-01-01", "sort": sort})))

    assert gathered(statements) is not walked
    assert [customer["id"] for customer in responses[0].json()["data"]] == [changed["id"]]


def test_a_broad_filter_walks_the_sort_index(api, haystack, sent_statements):
    responses = []
    statements = sent_statements(lambda: responses.append(api.get("/customers", params={"filter[name]": "hay"})))
    again = sent_statements(lambda: responses.append(api.get("/customers", params={"filter[name]": "hay"})))

    assert not gathered(statements)
    assert [response.json()["meta"]["total"] for response in responses] == [CUSTOMERS - 2] * 2
    # The first request tried gathering, then counted, then walked; its total is remembered, so the
    # same request again only walks.
    assert (searches(statements), searches(again)) == (3, 1)


def test_a_selective_filter_sorted_by_a_repeated_key_pages_by_its_first_use(api, haystack, sent_statements):
    params = {"filter[name]": "needle", "sort": "-created_at,created_at", "per_page": 1}
    first, second = [], []

    statements = sent_statements(lambda: first.append(api.get("/customers", params=params).json()))
    second.append(api.get("/customers", params=params | {"cursor": first[0]["meta"]["next_cursor"]}).json())

    assert gathered(statements)
    assert [first[0]["data"][0]["id"], second[0]["data"][0]["id"]] == [needle["id"] for needle in
                                                                       reversed(haystack["needles"])]


SHELF = 60  # customers, a third of them in each of two tags


@pytest.fixture(scope="module")
def shelf(client: TestClient, database_url: str) -> dict[str, Any]:
    """A business whose customers carry a tag spread evenly along their creation order (every
    third customer) and a tag bunched at its end (the last twenty)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite walks the sort's index for every filter: it has no counters to judge a filter by")
    business = new_business(client)
    api = Api(client, new_token(client, business).token, business)
    spread, bunched = api.make_tag(), api.make_tag()
    made = []
    for index in range(SHELF):
        tags = ([{"id": spread["id"]}] if index % 3 == 0 else []) + (
            [{"id": bunched["id"]}] if index >= SHELF - SHELF // 3 else [])
        made.append(api.make_customer(name=f"Shelf {index}", tags=tags))
    return {"api": api, "spread": spread["id"], "bunched": bunched["id"], "all": made}


@pytest.fixture
def half_gathered(monkeypatch):
    """Filters matching up to half the customers count as selective: a third of sixty is then one."""
    monkeypatch.setattr(listing, "GATHERED_SHARE", 0.5)


def walked(statements: list[str]) -> bool:
    """Whether a statement read a bounded stretch of the list in sort order."""
    return any("AS walked" in statement for statement in statements)


def ids(body: dict[str, Any]) -> list[str]:
    return [customer["id"] for customer in body["data"]]


@pytest.mark.parametrize("sort", ["created_at", "-created_at"])
def test_a_selective_filter_spread_along_the_sort_is_found_by_a_bounded_walk(shelf, half_gathered,
                                                                             sent_statements, sort):
    api, params = shelf["api"], {"filter[tags.id]": shelf["spread"], "per_page": 2, "sort": sort}
    expected = [customer["id"] for customer in shelf["all"][::3]]
    if sort.startswith("-"):
        expected.reverse()
    pages = []

    statements = sent_statements(lambda: pages.append(api.get("/customers", params=params).json()))
    pages.append(api.get("/customers", params=params | {"cursor": pages[0]["meta"]["next_cursor"]}).json())

    assert walked(statements) and not gathered(statements)
    assert [ids(page) for page in pages] == [expected[:2], expected[2:4]]
    assert [page["meta"]["total"] for page in pages] == [SHELF // 3] * 2


def test_a_selective_filter_bunched_away_from_the_sort_start_is_gathered_after_the_walk(shelf, half_gathered,
                                                                                     sent_statements):
    api = shelf["api"]
    bunched = [customer["id"] for customer in shelf["all"][-(SHELF // 3):]]
    pages = []

    from_start = sent_statements(lambda: pages.append(api.get("/customers", params={
        "filter[tags.id]": shelf["bunched"], "per_page": 2, "sort": "created_at"}).json()))
    from_end = sent_statements(lambda: pages.append(api.get("/customers", params={
        "filter[tags.id]": shelf["bunched"], "per_page": 2, "sort": "-created_at"}).json()))

    # From the oldest, the walk's stretch holds none of them: the matches are gathered.
    assert walked(from_start) and gathered(from_start)
    assert walked(from_end) and not gathered(from_end)
    assert [ids(page) for page in pages] == [bunched[:2], bunched[::-1][:2]]
    assert [page["meta"]["total"] for page in pages] == [SHELF // 3] * 2


def test_a_selective_filter_too_sparse_for_a_walk_is_gathered_at_once(shelf, half_gathered, sent_statements):
    api = shelf["api"]
    responses = []

    # Page 3 of 5 ends at the 15th of 20 matches: a walk would read most of the list.
    statements = sent_statements(lambda: responses.append(api.get("/customers", params={
        "filter[tags.id]": shelf["spread"], "per_page": 5, "page": 3}).json()))

    assert gathered(statements) and not walked(statements)
    assert ids(responses[0]) == [customer["id"] for customer in shelf["all"][::3]][10:15]
