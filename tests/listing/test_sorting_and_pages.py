"""`GET /customers` order and pages (SPEC §5 Listing): sort keys, tie-breaking, page body, links."""

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from clientele.customers.models import customers
from clientele.listing import pages as pages_module

NOON = datetime(2024, 3, 1, 12, 0, 0)


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return names_of(response.json())


def names_of(body: dict[str, Any]) -> list[str]:
    return [customer["name"] for customer in body["data"]]


@pytest.fixture
def stamped(api, overwrite):
    """`stamped(("A", created_at, updated_at), …)`: customers with these stored timestamps."""

    def make(*rows: tuple[str, datetime, datetime]) -> list[dict[str, Any]]:
        made = []
        for name, created_at, updated_at in rows:
            customer = api.make_customer(name=name)
            overwrite(customers, customer["id"], created_at=created_at, updated_at=updated_at)
            made.append(customer)
        return made

    return make


def walk(api: Any, params: dict[str, str]) -> list[str]:
    """The ids on every page in turn, following `links.next` to the end."""
    seen: list[str] = []
    url: str | None = "/customers"
    first = True
    while url is not None:
        response = api.get(url, params=params) if first else api.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [customer["id"] for customer in body["data"]]
        url, first = body["links"]["next"], False
    return seen


# --- sorting -------------------------------------------------------------------------------


def test_default_order_is_created_at_ascending(api, stamped):
    stamped(
        ("Second", NOON + timedelta(hours=1), NOON), ("First", NOON, NOON), ("Third", NOON + timedelta(days=1), NOON)
    )

    assert names(api.get("/customers")) == ["First", "Second", "Third"]


def test_minus_prefix_sorts_descending(api, stamped):
    stamped(
        ("Second", NOON + timedelta(hours=1), NOON), ("First", NOON, NOON), ("Third", NOON + timedelta(days=1), NOON)
    )

    assert names(api.get("/customers", params={"sort": "-created_at"})) == ["Third", "Second", "First"]


def test_sort_by_updated_at(api, stamped):
    stamped(
        ("Late", NOON, NOON + timedelta(days=2)),
        ("Early", NOON + timedelta(days=1), NOON),
        ("Middle", NOON + timedelta(hours=1), NOON + timedelta(days=1)),
    )

    assert names(api.get("/customers", params={"sort": "updated_at"})) == ["Early", "Middle", "Late"]
    assert names(api.get("/customers", params={"sort": "-updated_at"})) == ["Late", "Middle", "Early"]


def test_sort_orders_within_microseconds_of_the_same_second(api, stamped):
    stamped(("Later", NOON.replace(microsecond=700_000), NOON), ("Sooner", NOON.replace(microsecond=200_000), NOON))

    assert names(api.get("/customers")) == ["Sooner", "Later"]


def test_later_sort_keys_order_ties_of_earlier_ones(api, stamped):
    stamped(
        ("Old A", NOON, NOON),
        ("New A", NOON + timedelta(hours=1), NOON),
        ("Old B", NOON, NOON + timedelta(days=1)),
        ("New B", NOON + timedelta(hours=1), NOON + timedelta(days=1)),
    )

    assert names(api.get("/customers", params={"sort": "updated_at,-created_at"})) == [
        "New A",
        "Old A",
        "New B",
        "Old B",
    ]
    assert names(api.get("/customers", params={"sort": "-updated_at,created_at"})) == [
        "Old B",
        "New B",
        "Old A",
        "New A",
    ]


@pytest.mark.parametrize(
    ("sort", "descending"),
    [
        ("created_at", False),
        ("-created_at", True),
        ("updated_at", False),
        ("created_at,-updated_at", True),
        ("-created_at,updated_at", False),
    ],
)
def test_ties_are_broken_by_id_in_the_direction_of_the_last_key(api, stamped, sort, descending):
    made = stamped(*[(f"Twin {n}", NOON, NOON) for n in range(5)])
    ids = sorted((customer["id"] for customer in made), reverse=descending)

    response = api.get("/customers", params={"sort": sort})

    assert response.status_code == 200, response.text
    assert [customer["id"] for customer in response.json()["data"]] == ids


@pytest.mark.parametrize("sort", ["created_at", "-created_at", "updated_at,-created_at", "-updated_at"])
def test_walking_every_page_never_overlaps_or_skips(api, stamped, sort):
    made = stamped(
        *[(f"Twin {n}", NOON, NOON) for n in range(7)],
        ("Before", NOON - timedelta(seconds=1), NOON),
        ("After", NOON + timedelta(seconds=1), NOON),
    )

    seen = walk(api, {"sort": sort, "per_page": "2"})

    assert len(seen) == len(set(seen)) == 9
    assert set(seen) == {customer["id"] for customer in made}


@pytest.mark.parametrize(
    "sort", ["phone", "-phone", "created_at,bogus", "--created_at", "id", "created_at desc", "name_lower"]
)
def test_unknown_sort_is_refused(api, sort):
    response = api.get("/customers", params={"sort": sort})

    assert response.status_code == 400, response.text
    assert "sort" in response.json()["errors"]


def test_a_sort_key_given_again_changes_nothing(api, stamped):
    stamped(("b", NOON, NOON), ("a", NOON + timedelta(seconds=1), NOON), ("c", NOON + timedelta(seconds=2), NOON))

    repeated = api.get("/customers", params={"sort": ",".join(["-created_at", "updated_at"] * 1000)})

    assert repeated.status_code == 200, repeated.text
    assert names(repeated) == names(api.get("/customers", params={"sort": "-created_at,updated_at"}))


def test_a_cursor_of_a_sort_with_repeated_keys_is_accepted(api, stamped):
    stamped(("b", NOON, NOON), ("a", NOON + timedelta(seconds=1), NOON), ("c", NOON + timedelta(seconds=2), NOON))
    params = {"sort": ",".join(["-created_at", "updated_at"] * 25), "per_page": "2"}

    first = api.get("/customers", params=params)
    second = api.get("/customers", params=params | {"cursor": first.json()["meta"]["next_cursor"]})

    assert second.status_code == 200, second.text
    assert names(first) + names(second) == ["c", "a", "b"]


# --- pages ---------------------------------------------------------------------------------


def test_page_body_has_exactly_data_links_and_meta(api):
    api.make_customer()
    body = api.get("/customers").json()

    assert set(body) == {"data", "links", "meta"}
    assert set(body["links"]) == {"first", "last", "prev", "next"}
    assert set(body["meta"]) == {"current_page", "from", "last_page", "next_cursor", "path", "per_page", "to", "total"}


def test_pages_default_to_the_first_fifty(api):
    for _ in range(51):
        api.make_customer()

    body = api.get("/customers").json()

    assert len(body["data"]) == 50
    assert body["meta"] | {"path": None, "next_cursor": None} == {
        "current_page": 1,
        "from": 1,
        "last_page": 2,
        "path": None,
        "next_cursor": None,
        "per_page": 50,
        "to": 50,
        "total": 51,
    }


def test_page_and_per_page_choose_the_slice(api, stamped):
    stamped(*[(f"N{n}", NOON + timedelta(minutes=n), NOON) for n in range(5)])

    response = api.get("/customers", params={"page": "2", "per_page": "2"})

    assert names(response) == ["N2", "N3"]
    meta = response.json()["meta"]
    assert (meta["current_page"], meta["from"], meta["to"], meta["last_page"], meta["total"]) == (2, 3, 4, 3, 5)


def test_last_page_holds_the_remainder(api, stamped):
    stamped(*[(f"N{n}", NOON + timedelta(minutes=n), NOON) for n in range(5)])

    response = api.get("/customers", params={"page": "3", "per_page": "2"})

    assert names(response) == ["N4"]
    meta = response.json()["meta"]
    assert (meta["from"], meta["to"]) == (5, 5)


@pytest.mark.parametrize("per_page", ["1", "1000"])
def test_per_page_accepts_one_to_a_thousand(api, per_page):
    api.make_customer()

    response = api.get("/customers", params={"per_page": per_page})

    assert response.status_code == 200, response.text
    assert response.json()["meta"]["per_page"] == int(per_page)


@pytest.mark.parametrize("per_page", ["1001", "5000", "99999999999", "1" + "0" * 5000])
def test_per_page_above_a_thousand_is_served_as_a_thousand(api, per_page):
    made = [api.make_customer()["id"] for _ in range(3)]

    response = api.get("/customers", params={"per_page": per_page})

    assert response.status_code == 200, response.text
    assert response.json()["meta"]["per_page"] == 1000
    assert [customer["id"] for customer in response.json()["data"]] == made


@pytest.mark.parametrize("per_page", ["0", "000", "-1", "abc", "1.5", "٥"])
def test_per_page_below_one_or_not_an_integer_is_refused(api, per_page):
    response = api.get("/customers", params={"per_page": per_page})

    assert response.status_code == 400, response.text
    assert "per_page" in response.json()["errors"]


@pytest.mark.parametrize("page", ["0", "-1", "abc", "2.0", "1" + "0" * 18])
def test_page_below_one_or_not_an_integer_is_refused(api, page):
    response = api.get("/customers", params={"page": page})

    assert response.status_code == 400, response.text
    assert "page" in response.json()["errors"]


def test_links_are_absolute_and_keep_the_other_parameters(api, stamped):
    stamped(*[(f"Ann {n}", NOON + timedelta(minutes=n), NOON) for n in range(3)])
    params = {"filter[name]": "ann", "sort": "-created_at", "per_page": "1", "page": "2", "include": "tags"}

    links = api.get("/customers", params=params).json()["links"]

    for rel, page in [("first", "1"), ("last", "3"), ("prev", "1"), ("next", "3")]:
        url = urlsplit(links[rel])
        assert (url.scheme, url.netloc, url.path) == ("http", "testserver", "/customers")
        assert parse_qs(url.query) == {key: [value] for key, value in (params | {"page": page}).items()}


def test_following_links_reproduces_the_pages(api, stamped):
    stamped(*[(f"Ann {n}", NOON + timedelta(minutes=n), NOON) for n in range(3)], ("Bob", NOON, NOON))
    params = {"filter[name]": "ann", "sort": "-created_at", "per_page": "1"}
    first = api.get("/customers", params=params).json()

    following = api.get(first["links"]["next"]).json()

    assert names_of(following) == ["Ann 1"]
    assert names_of(api.get(following["links"]["last"]).json()) == ["Ann 0"]
    assert names_of(api.get(following["links"]["prev"]).json()) == names_of(first) == ["Ann 2"]


def test_meta_path_is_the_absolute_url_without_query(api):
    meta = api.get("/customers", params={"per_page": "5", "filter[name]": "x"}).json()["meta"]

    assert meta["path"] == "http://testserver/customers"


def test_links_under_v5_stay_under_v5(api):
    api.make_customer()
    api.make_customer()

    body = api.get("/v5/customers", params={"per_page": "1"}).json()

    assert urlsplit(body["links"]["next"]).path == "/v5/customers"
    assert body["meta"]["path"] == "http://testserver/v5/customers"


def test_prev_is_null_on_the_first_page_and_next_on_the_last(api):
    for _ in range(3):
        api.make_customer()

    first = api.get("/customers", params={"per_page": "2"}).json()["links"]
    last = api.get("/customers", params={"per_page": "2", "page": "2"}).json()["links"]

    assert first["prev"] is None and first["next"] is not None
    assert last["next"] is None and last["prev"] is not None


def test_a_page_beyond_the_last_is_empty_with_null_from_and_to(api):
    for _ in range(3):
        api.make_customer()

    body = api.get("/customers", params={"per_page": "2", "page": "5"}).json()

    assert body["data"] == []
    assert body["meta"] | {"path": None} == {
        "current_page": 5,
        "from": None,
        "last_page": 2,
        "path": None,
        "per_page": 2,
        "to": None,
        "total": 3,
        "next_cursor": None,
    }
    assert body["links"]["next"] is None
    assert parse_qs(urlsplit(body["links"]["last"]).query)["page"] == ["2"]


def test_a_page_far_beyond_the_last_is_still_a_page(api):
    api.make_customer()

    response = api.get("/customers", params={"page": "99999999999", "per_page": "1000"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["data"], body["meta"]["current_page"], body["meta"]["from"]) == ([], 99999999999, None)


def test_an_empty_list_is_one_empty_page(api):
    body = api.get("/customers").json()

    assert body["data"] == []
    assert body["meta"] | {"path": None} == {
        "current_page": 1,
        "from": None,
        "last_page": 1,
        "path": None,
        "per_page": 50,
        "to": None,
        "total": 0,
        "next_cursor": None,
    }
    assert (body["links"]["prev"], body["links"]["next"]) == (None, None)


def test_total_counts_only_the_filtered_rows(api):
    api.make_customer(name="Ann")
    api.make_customer(name="Bob")
    api.make_customer(name="Annette")

    meta = api.get("/customers", params={"filter[name]": "ann", "per_page": "1"}).json()["meta"]

    assert (meta["total"], meta["last_page"]) == (2, 2)


def test_list_shows_only_the_callers_business(api, other_api):
    other_api.make_customer(name="Theirs")
    api.make_customer(name="Ours")

    response = api.get("/customers")

    assert names(response) == ["Ours"]
    assert response.json()["meta"]["total"] == 1


# --- a few counted matches are sorted from themselves ------------------------------------------


SORTED_MATCHES = {
    "created_at": lambda n, created, updated: (created, n),
    "-created_at": lambda n, created, updated: (-created.timestamp(), -n),
    "updated_at": lambda n, created, updated: (updated, n),
    "-updated_at,created_at": lambda n, created, updated: (-updated.timestamp(), created, n),
}


@pytest.mark.parametrize("sort", SORTED_MATCHES)
def test_a_page_sorted_from_its_matches_is_the_page_a_walk_of_the_sort_finds(
    api, stamped, sent_statements, monkeypatch, sort
):
    made = [(n, NOON + timedelta(minutes=n * 7 % 11), NOON - timedelta(minutes=n % 3)) for n in range(9)]
    stamped(*((f"Match {n}", created, updated) for n, created, updated in made))
    stamped(("Other", NOON, NOON))
    params = {"filter[name]": "match", "sort": sort, "per_page": "2"}
    expected = [f"Match {n}" for n, _, _ in sorted(made, key=lambda row: SORTED_MATCHES[sort](*row))]

    def pages() -> list[list[str]]:
        return [names(api.get("/customers", params=params | {"page": str(page)})) for page in range(1, 7)]

    gathered_statements = sent_statements(pages)
    gathered = pages()
    monkeypatch.setattr(pages_module, "GATHERED_AT_MOST", 0)
    walked_statements = sent_statements(pages)

    assert [name for page in gathered for name in page] == expected
    assert [len(page) for page in gathered] == [2, 2, 2, 2, 1, 0]
    assert pages() == gathered
    assert any("matches" in statement for statement in gathered_statements)
    assert not any("matches" in statement for statement in walked_statements)
