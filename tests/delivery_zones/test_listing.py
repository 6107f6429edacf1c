"""Listing delivery zones: filters, sorting, pages and tenancy."""

from datetime import datetime

import pytest


def names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [zone["name"] for zone in response.json()["data"]]


def test_list_returns_a_page_of_the_business_zones_only(api, other_api):
    api.make_zone(name="mine")
    other_api.make_zone(name="theirs")

    response = api.get("/delivery_zones")

    assert names(response) == ["mine"]
    body = response.json()
    assert body["meta"]["total"] == 1
    assert body["links"]["next"] is None


def test_name_filter_is_a_case_insensitive_substring(api):
    for name in ("North Olaya", "OLAYA south", "Malaz"):
        api.make_zone(name=name)

    assert sorted(names(api.get("/delivery_zones", params={"filter[name]": "olaya"}))) == ["North Olaya", "OLAYA south"]


def test_name_filter_treats_wildcards_literally(api):
    api.make_zone(name="100% coverage")
    api.make_zone(name="1000 coverage")

    assert names(api.get("/delivery_zones", params={"filter[name]": "0%"})) == ["100% coverage"]


def test_reference_filter_matches_the_exact_reference_only(api):
    api.make_zone(name="exact", reference="RY-1")
    api.make_zone(name="longer", reference="RY-10")
    api.make_zone(name="other case", reference="ry-1")

    assert names(api.get("/delivery_zones", params={"filter[reference]": "RY-1"})) == ["exact"]
    assert names(api.get("/delivery_zones", params={"filter[reference]": "RY"})) == []


def test_reference_filter_is_documented_as_an_exact_match(client):
    parameters = client.get("/openapi.json").json()["paths"]["/delivery_zones"]["get"]["parameters"]

    [reference] = [parameter for parameter in parameters if parameter["name"] == "filter[reference]"]
    assert "Exact" in reference["description"]


def test_updated_after_filter_is_strictly_after(api, overwrite_zone):
    for name, when in (
        ("old", datetime(2024, 1, 1, 12, 0, 0)),
        ("edge", datetime(2024, 3, 1, 0, 0, 0)),
        ("new", datetime(2024, 3, 1, 0, 0, 0, 500_000)),
    ):
        overwrite_zone(api.make_zone(name=name)["id"], updated_at=when)

    assert names(api.get("/delivery_zones", params={"filter[updated_after]": "2024-03-01"})) == ["new"]
    assert sorted(names(api.get("/delivery_zones", params={"filter[updated_after]": "2024-01-01 12:00:00"}))) == [
        "edge",
        "new",
    ]


def test_deleted_zones_are_listed_only_with_is_deleted_true(api):
    api.make_zone(name="kept")
    gone = api.make_zone(name="gone")
    api.delete(f"/delivery_zones/{gone['id']}")

    assert names(api.get("/delivery_zones")) == ["kept"]
    assert names(api.get("/delivery_zones", params={"filter[is_deleted]": "false"})) == ["kept"]
    assert names(api.get("/delivery_zones", params={"filter[is_deleted]": "true"})) == ["gone"]
    assert names(api.get("/delivery_zones", params={"filter[is_deleted]": "1"})) == ["gone"]


def test_filters_combine_with_and(api):
    api.make_zone(name="Olaya A", reference="A")
    api.make_zone(name="Olaya B", reference="B")
    api.make_zone(name="Malaz A")

    response = api.get("/delivery_zones", params={"filter[name]": "olaya", "filter[reference]": "A"})

    assert names(response) == ["Olaya A"]


def test_sort_by_created_and_updated_at_in_both_directions(api, overwrite_zone):
    first, _second, third = (api.make_zone(name=name) for name in ("first", "second", "third"))
    overwrite_zone(first["id"], updated_at=datetime(2030, 1, 1))
    overwrite_zone(third["id"], updated_at=datetime(2020, 1, 1))

    assert names(api.get("/delivery_zones")) == ["first", "second", "third"]
    assert names(api.get("/delivery_zones", params={"sort": "-created_at"})) == ["third", "second", "first"]
    assert names(api.get("/delivery_zones", params={"sort": "updated_at"})) == ["third", "second", "first"]
    assert names(api.get("/delivery_zones", params={"sort": "-updated_at"})) == ["first", "second", "third"]


def test_pages_split_the_list_without_overlap(api):
    for number in range(5):
        api.make_zone(name=f"zone {number}")

    pages = [api.get("/delivery_zones", params={"per_page": 2, "page": page}).json() for page in (1, 2, 3)]

    assert [[zone["name"] for zone in page["data"]] for page in pages] == [
        ["zone 0", "zone 1"],
        ["zone 2", "zone 3"],
        ["zone 4"],
    ]
    assert pages[0]["meta"] | {"path": None, "next_cursor": None} == {
        "current_page": 1,
        "from": 1,
        "last_page": 3,
        "path": None,
        "next_cursor": None,
        "per_page": 2,
        "to": 2,
        "total": 5,
    }
    assert pages[2]["links"]["next"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"filter[colour]": "red"},
        {"filter[is_deleted]": "maybe"},
        {"filter[updated_after]": "yesterday"},
        {"sort": "name"},
        {"include": "addresses"},
        {"per_page": "1001"},
        {"page": "0"},
    ],
)
def test_a_malformed_query_is_400(api, params):
    response = api.get("/delivery_zones", params=params)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [next(iter(params))]
