"""Listing delivery zones: filters, sorting, pages and tenancy."""

from datetime import datetime

import pytest

from tests.listing.test_cursor_paging import walk


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
        {"filter[created_on]": "2024-13-01"},
        {"filter[deleted_on]": "2024-05-01 10:00:00"},
        {"sort": "coordinates"},
        {"include": "addresses"},
        {"per_page": "0"},
        {"page": "0"},
    ],
)
def test_a_malformed_query_is_400(api, params):
    response = api.get("/delivery_zones", params=params)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [next(iter(params))]


def listed(api, params):
    return names(api.get("/delivery_zones", params=params))


def test_id_filter_lists_any_of_the_ids(api, other_api):
    first, _, third = (api.make_zone(name=name) for name in ("First", "Second", "Third"))
    theirs = other_api.make_zone(name="Theirs")

    assert listed(api, {"filter[id]": f"{third['id']},{first['id']}"}) == ["First", "Third"]
    assert listed(api, {"filter[id]": f"{theirs['id']},not-a-uuid"}) == []


def test_name_localized_filter_is_a_case_insensitive_substring(api):
    api.make_zone(name="Olaya", name_localized="العليا الشمالية")
    api.make_zone(name="Malaz", name_localized="MALAZ Süd")
    api.make_zone(name="Plain")

    assert listed(api, {"filter[name_localized]": "العليا"}) == ["Olaya"]
    assert listed(api, {"filter[name_localized]": "malaz süd"}) == ["Malaz"]


@pytest.mark.parametrize("column", ["created_at", "updated_at"])
def test_created_on_and_updated_on_are_that_utc_day(api, overwrite_zone, column):
    for name, moment in [
        ("Day before", datetime(2024, 5, 1, 23, 59, 59, 999_999)),
        ("Midnight", datetime(2024, 5, 2)),
        ("Day after", datetime(2024, 5, 3)),
    ]:
        overwrite_zone(api.make_zone(name=name)["id"], **{column: moment})

    assert listed(api, {f"filter[{column.replace('_at', '_on')}]": "2024-05-02"}) == ["Midnight"]


def test_deleted_on_finds_zones_deleted_that_day_whatever_is_deleted_says(api, overwrite_zone):
    for name, moment in [("That day", datetime(2024, 5, 2, 23)), ("Day after", datetime(2024, 5, 3))]:
        zone = api.make_zone(name=name)
        assert api.delete(f"/delivery_zones/{zone['id']}").status_code == 204
        overwrite_zone(zone["id"], deleted_at=moment)
    api.make_zone(name="Active")

    for params in ({}, {"filter[is_deleted]": "false"}, {"filter[is_deleted]": "true"}):
        assert listed(api, params | {"filter[deleted_on]": "2024-05-02"}) == ["That day"]


# Name, localized name and reference of five zones; None where a zone has none.
SORTED_ZONES = [
    ("Bravo", None, "R-2"),
    ("Alpha", "Alif", None),
    ("Delta", "Dal", "R-1"),
    ("Alpha", None, "R-3"),
    ("Charlie", "Ba", None),
]


@pytest.mark.parametrize("field", ["name", "name_localized", "reference"])
@pytest.mark.parametrize("descending", [False, True])
def test_each_text_sort_walks_to_the_end_by_cursor_with_nulls_last_ascending(api, field, descending):
    made = [
        api.make_zone(name=name, name_localized=localized, reference=reference)
        for name, localized, reference in SORTED_ZONES
    ]
    valued = sorted((zone for zone in made if zone[field] is not None), key=lambda zone: (zone[field], zone["id"]))
    nulls = sorted((zone for zone in made if zone[field] is None), key=lambda zone: zone["id"])
    expected = [zone["id"] for zone in valued + nulls]
    if descending:
        expected.reverse()
    sort = f"-{field}" if descending else field

    walked = walk(api, "/delivery_zones", {"sort": sort, "per_page": "2"})

    assert [zone["id"] for zone in walked] == expected
    numbered = [
        api.get("/delivery_zones", params={"sort": sort, "per_page": "2", "page": str(page)}) for page in (1, 2, 3)
    ]
    assert [zone["id"] for page in numbered for zone in page.json()["data"]] == expected


def test_sorts_combine_and_null_groups_are_ordered_by_the_next_key(api):
    made = [
        api.make_zone(name=name, name_localized=localized, reference=reference)
        for name, localized, reference in SORTED_ZONES
    ]
    by_name = {(zone["name"], zone["reference"]): zone["id"] for zone in made}

    walked = walk(api, "/delivery_zones", {"sort": "name_localized,-name", "per_page": "1"})

    assert [zone["id"] for zone in walked] == [
        by_name[("Alpha", None)],  # Alif
        by_name[("Charlie", None)],  # Ba
        by_name[("Delta", "R-1")],  # Dal
        by_name[("Bravo", "R-2")],  # no localized name: by name, descending
        by_name[("Alpha", "R-3")],
    ]


@pytest.mark.parametrize("sort", ["created_at", "-created_at", "updated_at", "-updated_at"])
def test_each_time_sort_walks_to_the_end_by_cursor(api, overwrite_zone, sort):
    column = sort.removeprefix("-")
    moments = [datetime(2024, 5, day) for day in (3, 1, 4, 1, 5)]
    made = [api.make_zone() for _ in moments]
    for zone, moment in zip(made, moments, strict=True):
        overwrite_zone(zone["id"], **{column: moment})
    ordered = sorted(
        zip(made, moments, strict=True), key=lambda pair: (pair[1], pair[0]["id"]), reverse=sort.startswith("-")
    )

    walked = walk(api, "/delivery_zones", {"sort": sort, "per_page": "2"})

    assert [zone["id"] for zone in walked] == [zone["id"] for zone, _ in ordered]
