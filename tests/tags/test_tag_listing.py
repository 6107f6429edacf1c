"""`GET /tags`: its filters (SPEC §6, §8), order and pages."""

from datetime import datetime

import pytest

from tests.listing.test_cursor_paging import walk


def listed(api, params: dict[str, str] | None = None) -> list[str]:
    response = api.get("/tags", params=params)
    assert response.status_code == 200, response.text
    return [tag["name"] for tag in response.json()["data"]]


def test_list_is_a_page_of_the_business_tags_oldest_first(api, other_api):
    other_api.make_tag(name="Theirs")
    for name in ("First", "Second", "Third"):
        api.make_tag(name=name)

    body = api.get("/tags", params={"per_page": "2"}).json()

    assert [tag["name"] for tag in body["data"]] == ["First", "Second"]
    assert body["meta"] | {"path": None, "next_cursor": None} == {
        "current_page": 1,
        "from": 1,
        "last_page": 2,
        "path": None,
        "next_cursor": None,
        "per_page": 2,
        "to": 2,
        "total": 3,
    }
    assert body["meta"]["path"] == "http://testserver/tags"
    assert api.get(body["links"]["next"]).json()["data"][0]["name"] == "Third"


def test_name_filter_is_a_case_insensitive_literal_substring(api):
    for name in ("VIP", "vip-gold", "Regular", "50% off", "500 off"):
        api.make_tag(name=name)

    assert listed(api, {"filter[name]": "Vip"}) == ["VIP", "vip-gold"]
    assert listed(api, {"filter[name]": "%"}) == ["50% off"]


def test_updated_after_is_strictly_after(api, overwrite_tag):
    for name, moment in [
        ("Before", datetime(2024, 5, 1, 9, 59, 59)),
        ("At", datetime(2024, 5, 1, 10)),
        ("Within the second", datetime(2024, 5, 1, 10, 0, 0, 250_000)),
        ("After", datetime(2024, 5, 2)),
    ]:
        overwrite_tag(api.make_tag(name=name)["id"], updated_at=moment)

    assert listed(api, {"filter[updated_after]": "2024-05-01 10:00:00", "sort": "updated_at"}) == [
        "Within the second",
        "After",
    ]
    assert listed(api, {"filter[updated_after]": "2024-05-01", "sort": "-updated_at"}) == [
        "After",
        "Within the second",
        "At",
        "Before",
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["Active"]),
        ({"filter[is_deleted]": "false"}, ["Active"]),
        ({"filter[is_deleted]": "0"}, ["Active"]),
        ({"filter[is_deleted]": "true"}, ["Deleted"]),
        ({"filter[is_deleted]": "1"}, ["Deleted"]),
    ],
)
def test_is_deleted_filter_chooses_deleted_or_active_tags(api, params, expected):
    api.make_tag(name="Active")
    api.delete(f"/tags/{api.make_tag(name='Deleted')['id']}")

    assert listed(api, params) == expected


def test_filters_combine_with_and(api):
    api.make_tag(name="VIP")
    api.make_tag(name="Gold")
    api.delete(f"/tags/{api.make_tag(name='Old VIP')['id']}")

    assert listed(api, {"filter[name]": "vip", "filter[is_deleted]": "true"}) == ["Old VIP"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"filter[reference]": "x"}, "filter[reference]"),
        ({"filter[tags.id]": "x"}, "filter[tags.id]"),
        ({"filter[updated_after]": "soon"}, "filter[updated_after]"),
        ({"filter[is_deleted]": "yes"}, "filter[is_deleted]"),
        ({"filter[created_on]": "2024-02-30"}, "filter[created_on]"),
        ({"filter[updated_on]": "2024-05-01 10:00:00"}, "filter[updated_on]"),
        ({"filter[deleted_on]": "yesterday"}, "filter[deleted_on]"),
        ({"sort": "name"}, "sort"),
        ({"include": "customers"}, "include"),
        ({"page": "0"}, "page"),
        ({"per_page": "0"}, "per_page"),
    ],
)
def test_malformed_list_query_is_refused(api, params, parameter):
    response = api.get("/tags", params=params)

    assert response.status_code == 400, response.text
    assert parameter in response.json()["errors"]


def test_sort_descending_breaks_ties_by_id(api, overwrite_tag):
    made = [api.make_tag() for _ in range(4)]
    for tag in made:
        overwrite_tag(tag["id"], created_at=datetime(2024, 1, 1))

    response = api.get("/tags", params={"sort": "-created_at"})

    assert [tag["id"] for tag in response.json()["data"]] == sorted((tag["id"] for tag in made), reverse=True)


def test_id_filter_lists_any_of_the_ids(api, other_api):
    first, _, third = (api.make_tag(name=name) for name in ("First", "Second", "Third"))
    theirs = other_api.make_tag(name="Theirs")

    assert listed(api, {"filter[id]": f"{third['id']},{first['id']}"}) == ["First", "Third"]
    assert listed(api, {"filter[id]": f"{first['id']},not-a-uuid,{theirs['id']}"}) == ["First"]
    assert listed(api, {"filter[id]": "not-a-uuid"}) == []


def test_name_localized_filter_is_a_case_insensitive_substring(api):
    api.make_tag(name="VIP", name_localized="عميل مميز")
    api.make_tag(name="Gold", name_localized="Goldene Kunden")
    api.make_tag(name="Plain")

    assert listed(api, {"filter[name_localized]": "مميز"}) == ["VIP"]
    assert listed(api, {"filter[name_localized]": "GOLDENE"}) == ["Gold"]
    assert listed(api, {"filter[name_localized]": "silver"}) == []


@pytest.mark.parametrize("column", ["created_at", "updated_at"])
def test_created_on_and_updated_on_are_that_utc_day(api, overwrite_tag, column):
    for name, moment in [
        ("Day before", datetime(2024, 5, 1, 23, 59, 59, 999_999)),
        ("Midnight", datetime(2024, 5, 2)),
        ("Last instant", datetime(2024, 5, 2, 23, 59, 59, 999_999)),
        ("Day after", datetime(2024, 5, 3)),
    ]:
        overwrite_tag(api.make_tag(name=name)["id"], **{column: moment})
    parameter = f"filter[{column.replace('_at', '_on')}]"

    assert listed(api, {parameter: "2024-05-02"}) == ["Midnight", "Last instant"]
    assert listed(api, {parameter: "2024-05-04"}) == []


def test_deleted_on_finds_tags_deleted_that_day_whatever_is_deleted_says(api, overwrite_tag):
    for name, moment in [("Deleted that day", datetime(2024, 5, 2, 12)), ("Deleted before", datetime(2024, 5, 1))]:
        tag = api.make_tag(name=name)
        assert api.delete(f"/tags/{tag['id']}").status_code == 204
        overwrite_tag(tag["id"], deleted_at=moment)
    api.make_tag(name="Active")

    for params in ({}, {"filter[is_deleted]": "false"}, {"filter[is_deleted]": "true"}):
        assert listed(api, params | {"filter[deleted_on]": "2024-05-02"}) == ["Deleted that day"]
    assert listed(api, {"filter[deleted_on]": "2024-05-03"}) == []


@pytest.mark.parametrize("sort", ["created_at", "-created_at", "updated_at", "-updated_at"])
def test_each_sort_walks_to_the_end_by_cursor(api, overwrite_tag, sort):
    column = sort.removeprefix("-")
    moments = [datetime(2024, 5, day) for day in (3, 1, 4, 1, 5)]
    made = [api.make_tag(name=f"Tag {number}") for number in range(len(moments))]
    for tag, moment in zip(made, moments, strict=True):
        overwrite_tag(tag["id"], **{column: moment})
    expected = [
        tag["id"]
        for tag, _ in sorted(
            zip(made, moments, strict=True), key=lambda pair: (pair[1], pair[0]["id"]), reverse=sort.startswith("-")
        )
    ]

    assert [tag["id"] for tag in walk(api, "/tags", {"sort": sort, "per_page": "2"})] == expected
