"""Field rules of a delivery zone body: each broken rule is a 422 naming the field, and nothing is stored."""

import uuid

import pytest

RING = [[46.60, 24.60], [46.80, 24.60], [46.80, 24.80], [46.60, 24.80], [46.60, 24.60]]


def unique_name() -> str:
    return f"zone-{uuid.uuid4().hex[:12]}"


INVALID_FIELDS = [
    ("name", None, "The name field is required."),
    ("name", "", "The name field is required."),
    ("name", "   ", "The name field is required."),
    ("name", 12, "The name field must be a string."),
    ("name", "x" * 256, "The name field must not be greater than 255 characters."),
    ("name", "nul\x00byte", "The name field must not contain NUL characters."),
    ("name_localized", "x" * 256, "The name_localized field must not be greater than 255 characters."),
    ("name_localized", ["a"], "The name_localized field must be a string."),
    ("reference", "x" * 256, "The reference field must not be greater than 255 characters."),
    ("reference", 7, "The reference field must be a string."),
]

NOT_PAIRS = "The coordinates field must be a list of [longitude, latitude] number pairs."
OUT_OF_RANGE = (
    "Each point of the coordinates field must have a longitude between -180 and 180 and a latitude between -90 and 90."
)
INVALID_COORDINATES = [
    ("not a list", "46.6,24.6", NOT_PAIRS),
    ("an object", {"type": "Polygon"}, NOT_PAIRS),
    ("points that are not pairs", [[46.6, 24.6, 0.0]] + RING[1:], NOT_PAIRS),
    ("a point with one number", [[46.6]] + RING[1:], NOT_PAIRS),
    ("numbers as strings", [["46.6", "24.6"]] + RING[1:-1] + [["46.6", "24.6"]], NOT_PAIRS),
    ("booleans", [[True, False]] + RING[1:-1] + [[True, False]], NOT_PAIRS),
    ("a flat list", [46.6, 24.6, 46.8, 24.6], NOT_PAIRS),
    ("an empty list", [], "The coordinates field must have at least 4 points."),
    ("three points", [RING[0], RING[1], RING[0]], "The coordinates field must have at least 4 points."),
    ("an open ring", RING[:-1], "The coordinates field must be a closed ring: its last point must equal its first."),
    ("longitude over 180", [[180.5, 24.6], *RING[1:-1], [180.5, 24.6]], OUT_OF_RANGE),
    ("longitude under -180", [[-181, 24.6], *RING[1:-1], [-181, 24.6]], OUT_OF_RANGE),
    ("latitude over 90", [[46.6, 90.01], *RING[1:-1], [46.6, 90.01]], OUT_OF_RANGE),
    ("latitude under -90", [[46.6, -91], *RING[1:-1], [46.6, -91]], OUT_OF_RANGE),
    ("latitude and longitude swapped", [[24.6, 146.6], [24.8, 146.6], [24.8, 146.8], [24.6, 146.6]], OUT_OF_RANGE),
]


@pytest.mark.parametrize(("field", "value", "sentence"), INVALID_FIELDS)
def test_create_with_an_invalid_field_is_422_naming_it(api, zones_named, field, value, sentence):
    name = unique_name()
    body = {"name": name} | {field: value}

    response = api.post("/delivery_zones", json=body)

    assert response.status_code == 422
    assert response.json() == {"message": sentence, "errors": {field: [sentence]}}
    assert zones_named(name) == 0


def test_name_is_required_on_create(api):
    response = api.post("/delivery_zones", json={"reference": "R"})

    assert response.status_code == 422
    assert response.json()["errors"] == {"name": ["The name field is required."]}


@pytest.mark.parametrize(
    ("case", "coordinates", "sentence"), INVALID_COORDINATES, ids=[case for case, _, _ in INVALID_COORDINATES]
)
def test_coordinates_must_be_a_closed_ring_of_at_least_four_points_in_range(
    api, zones_named, case, coordinates, sentence
):
    name = unique_name()

    response = api.post("/delivery_zones", json={"name": name, "coordinates": coordinates})

    assert response.status_code == 422
    assert response.json()["errors"] == {"coordinates": [sentence]}
    assert zones_named(name) == 0


def test_coordinates_on_the_limits_of_the_range_are_accepted(api):
    corners = [[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]

    response = api.post("/delivery_zones", json={"name": "World", "coordinates": corners})

    assert response.status_code == 201
    assert response.json()["data"]["coordinates"] == corners


def test_a_name_of_255_characters_is_accepted(api):
    response = api.post("/delivery_zones", json={"name": "x" * 255, "reference": "r" * 255})

    assert response.status_code == 201
    assert response.json()["data"]["name"] == "x" * 255


def test_every_invalid_field_is_named_at_once(api):
    response = api.post("/delivery_zones", json={"name": "", "reference": 1, "coordinates": RING[:-1]})

    assert response.status_code == 422
    body = response.json()
    assert list(body["errors"]) == ["name", "reference", "coordinates"]
    assert body["message"] == "The name field is required. (and 2 more errors)"


def test_update_with_an_invalid_field_is_422_and_changes_nothing(api, stored_zone):
    zone = api.make_zone(coordinates=RING)
    before = stored_zone(zone["id"])

    response = api.put(f"/delivery_zones/{zone['id']}", json={"name": "Valid", "coordinates": RING[:3]})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["coordinates"]
    assert stored_zone(zone["id"]) == before


def test_update_cannot_set_the_name_to_null(api):
    zone = api.make_zone()

    response = api.put(f"/delivery_zones/{zone['id']}", json={"name": None})

    assert response.status_code == 422
    assert response.json()["errors"] == {"name": ["The name field is required."]}


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'"text"'])
def test_a_body_that_is_not_a_json_object_is_400(api, raw):
    response = api.post("/delivery_zones", content=raw, headers={"Content-Type": "application/json"})

    assert response.status_code == 400


def test_a_body_over_one_mebibyte_is_413(api):
    response = api.post("/delivery_zones", json={"name": "Big", "name_localized": "x" * (1024 * 1024)})

    assert response.status_code == 413
