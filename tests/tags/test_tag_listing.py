"""`GET /tags`: its filters (name, updated_after, is_deleted), order and pages."""

from datetime import datetime

import pytest


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
        ({"sort": "name"}, "sort"),
        ({"include": "customers"}, "include"),
        ({"page": "0"}, "page"),
        ({"per_page": "1001"}, "per_page"),
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
