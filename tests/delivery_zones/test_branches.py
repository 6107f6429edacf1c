"""A delivery zone's `branches` (SPEC §8): references to the point of sale's branches, written as a
whole set, read as `{"id": …}` stubs with `include=branches`, and filtered by `filter[branches.id]`."""

import pytest

from clientele.delivery_zones.models import delivery_zone_branches
from tests.conftest import run_statement
from tests.customers.conftest import is_sentence


@pytest.fixture
def stored_branches(client):
    """`stored_branches(zone_id)`: the branch ids stored for the zone, sorted."""

    def read(zone_id):
        rows = run_statement(client, delivery_zone_branches.select())
        return sorted(row["branch_id"] for row in rows if str(row["delivery_zone_id"]) == zone_id)

    return read


def branches_of(api, zone_id):
    response = api.get(f"/delivery_zones/{zone_id}", params={"include": "branches"})
    assert response.status_code == 200, response.text
    return [branch["id"] for branch in response.json()["data"]["branches"]]


def stubs(*branch_ids):
    return [{"id": branch_id} for branch_id in branch_ids]


def test_branches_are_stored_and_shown_only_when_included(api, stored_branches):
    response = api.post(
        "/delivery_zones", params={"include": "branches"}, json={"name": "Olaya", "branches": stubs("b-2", "b-1")}
    )

    assert response.status_code == 201, response.text
    zone = response.json()["data"]
    assert zone["branches"] == stubs("b-1", "b-2")
    assert stored_branches(zone["id"]) == ["b-1", "b-2"]
    assert "branches" not in api.get(f"/delivery_zones/{zone['id']}").json()["data"]
    assert "branches" not in api.get("/delivery_zones").json()["data"][0]


def test_a_zone_without_branches_includes_an_empty_list(api):
    zone = api.make_zone()

    assert branches_of(api, zone["id"]) == []


def test_the_list_includes_each_zone_branches(api, statement_count):
    first = api.make_zone(name="First", branches=stubs("a", "b"))
    second = api.make_zone(name="Second")
    third = api.make_zone(name="Third", branches=stubs("b"))

    response = api.get("/delivery_zones", params={"include": "branches"})

    assert response.status_code == 200, response.text
    assert {zone["id"]: zone["branches"] for zone in response.json()["data"]} == {
        first["id"]: stubs("a", "b"),
        second["id"]: [],
        third["id"]: stubs("b"),
    }
    without = statement_count(lambda: api.get("/delivery_zones"))
    assert statement_count(lambda: api.get("/delivery_zones", params={"include": "branches"})) == without + 1


def test_ids_are_trimmed_and_an_id_sent_twice_is_kept_once(api, stored_branches):
    zone = api.make_zone(branches=stubs(" b-1 ", "b-1", "b-2", "b-2"))

    assert stored_branches(zone["id"]) == ["b-1", "b-2"]


def test_update_replaces_the_whole_set(api, stored_branches):
    zone = api.make_zone(branches=stubs("a", "b"))

    response = api.put(
        f"/delivery_zones/{zone['id']}", params={"include": "branches"}, json={"branches": stubs("b", "c")}
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"]["branches"] == stubs("b", "c")
    assert stored_branches(zone["id"]) == ["b", "c"]


@pytest.mark.parametrize("cleared", [[], None])
def test_an_empty_list_or_null_clears_the_set(api, stored_branches, cleared):
    zone = api.make_zone(branches=stubs("a"))

    assert api.put(f"/delivery_zones/{zone['id']}", json={"branches": cleared}).status_code == 200

    assert stored_branches(zone["id"]) == []


def test_an_update_without_branches_keeps_them(api, stored_branches):
    zone = api.make_zone(branches=stubs("a"))

    assert api.put(f"/delivery_zones/{zone['id']}", json={"name": "Renamed"}).status_code == 200

    assert stored_branches(zone["id"]) == ["a"]


def test_updated_at_moves_only_when_the_set_changes(api, stored_zone):
    zone = api.make_zone(branches=stubs("a", "b"))
    before = stored_zone(zone["id"])

    same = api.put(f"/delivery_zones/{zone['id']}", json={"branches": stubs("b", "a", "a")})

    assert same.status_code == 200
    assert stored_zone(zone["id"]) == before
    assert same.headers["ETag"] == api.get(f"/delivery_zones/{zone['id']}").headers["ETag"]
    changed = api.put(f"/delivery_zones/{zone['id']}", json={"branches": stubs("a")})
    assert changed.status_code == 200
    assert stored_zone(zone["id"])["updated_at"] > before["updated_at"]
    assert changed.headers["ETag"] != same.headers["ETag"]


@pytest.mark.parametrize(
    "branches",
    [
        "b-1",
        {"id": "b-1"},
        ["b-1"],
        [{"id": ""}],
        [{"id": "   "}],
        [{"id": "x" * 65}],
        [{"id": 7}],
        [{"id": None}],
        [{"name": "b-1"}],
        [{"id": "b\x00"}],
    ],
)
def test_an_invalid_branch_list_is_422_naming_branches_and_stores_nothing(api, zones_named, stored_branches, branches):
    response = api.post("/delivery_zones", json={"name": "Refused zone", "branches": branches})

    assert response.status_code == 422, response.text
    assert list(response.json()["errors"]) == ["branches"]
    assert is_sentence(response.json()["message"])
    assert zones_named("Refused zone") == 0

    zone = api.make_zone(branches=stubs("kept"))
    assert api.put(f"/delivery_zones/{zone['id']}", json={"branches": branches}).status_code == 422
    assert stored_branches(zone["id"]) == ["kept"]


def test_an_id_of_64_characters_is_accepted(api):
    zone = api.make_zone(branches=stubs("x" * 64))

    assert branches_of(api, zone["id"]) == ["x" * 64]


def test_the_filter_lists_zones_serving_any_of_the_branches(api, other_api):
    api.make_zone(name="North", branches=stubs("b-1", "b-2"))
    api.make_zone(name="South", branches=stubs("b-3"))
    api.make_zone(name="East")
    other_api.make_zone(name="Theirs", branches=stubs("b-1"))

    def listed(value):
        response = api.get("/delivery_zones", params={"filter[branches.id]": value})
        assert response.status_code == 200, response.text
        return [zone["name"] for zone in response.json()["data"]]

    assert listed("b-1") == ["North"]
    assert listed("b-2,b-3") == ["North", "South"]
    assert listed(" b-3 , unknown ") == ["South"]
    assert listed("b-9") == []
    assert listed("x" * 65) == []
    assert listed(",") == []


def test_the_filter_sent_twice_is_one_list(api):
    api.make_zone(name="North", branches=stubs("b-1"))
    api.make_zone(name="South", branches=stubs("b-2"))

    response = api.get("/delivery_zones?filter[branches.id]=b-1&filter[branches.id]=b-2")

    assert [zone["name"] for zone in response.json()["data"]] == ["North", "South"]


def test_a_deleted_zone_keeps_its_branches(api):
    zone = api.make_zone(branches=stubs("b-1"))
    assert api.delete(f"/delivery_zones/{zone['id']}").status_code == 204

    assert branches_of(api, zone["id"]) == ["b-1"]
    listed = api.get("/delivery_zones", params={"filter[branches.id]": "b-1", "filter[is_deleted]": "true"})
    assert [found["id"] for found in listed.json()["data"]] == [zone["id"]]
    assert api.get("/delivery_zones", params={"filter[branches.id]": "b-1"}).json()["data"] == []


def test_an_included_zone_of_an_address_carries_no_branches(api):
    zone = api.make_zone(branches=stubs("b-1"))
    address = api.make_address(api.make_customer()["id"], delivery_zone_id=zone["id"])

    included = api.get(f"/addresses/{address['id']}", params={"include": "delivery_zone"}).json()["data"]

    assert included["delivery_zone"] == zone
