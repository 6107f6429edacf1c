"""A zone's reference is unique among the business's non-deleted zones."""

TAKEN = {
    "message": "The reference has already been taken.",
    "errors": {"reference": ["The reference has already been taken."]},
}


def test_reference_is_unique_among_active_zones(api, zones_named):
    api.make_zone(reference="NORTH")

    response = api.post("/delivery_zones", json={"name": "north-copy", "reference": "NORTH"})

    assert response.status_code == 422
    assert response.json() == TAKEN
    assert zones_named("north-copy") == 0


def test_reference_is_compared_after_trimming(api):
    api.make_zone(reference="EAST")

    response = api.post("/delivery_zones", json={"name": "east-copy", "reference": " EAST "})

    assert response.status_code == 422
    assert response.json() == TAKEN


def test_update_to_a_taken_reference_is_422_and_changes_nothing(api, stored_zone):
    api.make_zone(reference="SOUTH")
    zone = api.make_zone(reference="WEST")
    before = stored_zone(zone["id"])

    response = api.put(f"/delivery_zones/{zone['id']}", json={"name": "renamed", "reference": "SOUTH"})

    assert response.status_code == 422
    assert response.json() == TAKEN
    assert stored_zone(zone["id"]) == before


def test_a_zone_may_be_updated_with_its_own_reference(api):
    zone = api.make_zone(reference="OWN")

    response = api.put(f"/delivery_zones/{zone['id']}", json={"reference": "OWN", "name": "still mine"})

    assert response.status_code == 200
    assert response.json()["data"]["reference"] == "OWN"


def test_a_deleted_zone_frees_its_reference(api):
    old = api.make_zone(reference="FREED")
    api.delete(f"/delivery_zones/{old['id']}")

    response = api.post("/delivery_zones", json={"name": "successor", "reference": "FREED"})

    assert response.status_code == 201
    assert response.json()["data"]["reference"] == "FREED"


def test_zones_without_a_reference_never_collide(api):
    api.make_zone()

    response = api.post("/delivery_zones", json={"name": "another without reference"})

    assert response.status_code == 201


def test_reference_is_unique_per_business_only(api, other_api):
    api.make_zone(reference="SHARED")

    response = other_api.post("/delivery_zones", json={"name": "theirs", "reference": "SHARED"})

    assert response.status_code == 201


def test_references_differing_in_case_are_different(api):
    api.make_zone(reference="case")

    response = api.post("/delivery_zones", json={"name": "upper", "reference": "CASE"})

    assert response.status_code == 201
