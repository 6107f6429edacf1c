"""Field rules of an address body: each broken rule is a 422 naming the field, and nothing is stored."""

import uuid

import pytest


def unique_name() -> str:
    return f"address-{uuid.uuid4().hex[:12]}"


INVALID_FIELDS = [
    ("name", None, "The name field is required."),
    ("name", "  ", "The name field is required."),
    ("name", 5, "The name field must be a string."),
    ("name", "x" * 256, "The name field must not be greater than 255 characters."),
    ("description", {"floor": 2}, "The description field must be a string."),
    ("description", "x" * 65_536, "The description field must not be greater than 65535 characters."),
    ("latitude", "north", "The latitude field must be a decimal number."),
    ("latitude", True, "The latitude field must be a decimal number."),
    ("latitude", [24.7], "The latitude field must be a decimal number."),
    ("latitude", "٢٤.٥", "The latitude field must be a decimal number."),  # digits, but not ASCII ones
    ("latitude", "90.0001", "The latitude field must be a decimal number between -90 and 90."),
    ("latitude", -91, "The latitude field must be a decimal number between -90 and 90."),
    ("latitude", "NaN", "The latitude field must be a decimal number."),
    ("latitude", "2_4", "The latitude field must be a decimal number."),
    ("latitude", "0." + "1" * 40, "The latitude field must not be greater than 32 characters."),
    ("latitude", "-1" + "0" * 40, "The latitude field must be a decimal number between -90 and 90."),
    ("latitude", "1e-999999999", "The latitude field must not be greater than 32 characters."),
    ("longitude", "1E-40", "The longitude field must not be greater than 32 characters."),
    ("longitude", "east", "The longitude field must be a decimal number."),
    ("longitude", "180.5", "The longitude field must be a decimal number between -180 and 180."),
    ("longitude", -180.01, "The longitude field must be a decimal number between -180 and 180."),
    ("longitude", "Infinity", "The longitude field must be a decimal number."),
    ("customer_id", None, "The customer_id field is required."),
    ("customer_id", "", "The customer_id field is required."),
    ("customer_id", ["x"], "The selected customer_id is invalid."),
    ("delivery_zone_id", {"id": "x"}, "The selected delivery_zone_id is invalid."),
]


@pytest.mark.parametrize(
    ("field", "value", "sentence"),
    INVALID_FIELDS,
    ids=[f"{field}={str(value)[:20]!r}" for field, value, _ in INVALID_FIELDS],
)
def test_create_with_an_invalid_field_is_422_naming_it(api, addresses_named, field, value, sentence):
    name = unique_name()
    body = {"name": name, "customer_id": api.make_customer()["id"]} | {field: value}

    response = api.post("/addresses", json=body)

    assert response.status_code == 422
    assert response.json() == {"message": sentence, "errors": {field: [sentence]}}
    assert addresses_named(name) == 0


def test_name_is_required_on_create(api):
    response = api.post("/addresses", json={"customer_id": api.make_customer()["id"]})

    assert response.status_code == 422
    assert response.json()["errors"] == {"name": ["The name field is required."]}


def test_customer_id_is_required_on_create(api):
    response = api.post("/addresses", json={"name": "Home"})

    assert response.status_code == 422
    assert response.json()["errors"] == {"customer_id": ["The customer_id field is required."]}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("latitude", "90"),
        ("latitude", "-90"),
        ("latitude", 0),
        ("longitude", "180"),
        ("longitude", -180),
        ("latitude", "24.123456789012345678901234567"),
    ],
)
def test_coordinates_on_the_limits_are_accepted_as_sent(api, field, value):
    address = api.make_address(api.make_customer()["id"], **{field: value})

    assert address[field] == str(value)


def test_every_invalid_field_is_named_at_once(api):
    response = api.post("/addresses", json={"name": "", "latitude": "x", "longitude": 500})

    assert response.status_code == 422
    body = response.json()
    assert list(body["errors"]) == ["name", "latitude", "longitude", "customer_id"]
    assert body["message"] == "The name field is required. (and 3 more errors)"


def test_update_with_an_invalid_field_is_422_and_changes_nothing(api, stored_address):
    address = api.make_address(api.make_customer()["id"], latitude="1")
    before = stored_address(address["id"])

    response = api.put(f"/addresses/{address['id']}", json={"name": "Valid", "latitude": "91"})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["latitude"]
    assert stored_address(address["id"]) == before


@pytest.mark.parametrize("field", ["name", "customer_id"])
def test_update_cannot_set_a_required_field_to_null(api, stored_address, field):
    address = api.make_address(api.make_customer()["id"])
    before = stored_address(address["id"])

    response = api.put(f"/addresses/{address['id']}", json={field: None})

    assert response.status_code == 422
    assert response.json()["errors"] == {field: [f"The {field} field is required."]}
    assert stored_address(address["id"]) == before


@pytest.mark.parametrize("raw", [b"not json", b"[]", b"null"])
def test_a_body_that_is_not_a_json_object_is_400(api, raw):
    response = api.post("/addresses", content=raw, headers={"Content-Type": "application/json"})

    assert response.status_code == 400


def test_a_body_over_one_mebibyte_is_413(api):
    customer = api.make_customer()

    response = api.post(
        "/addresses", json={"name": "Big", "customer_id": customer["id"], "description": "x" * (1024 * 1024)}
    )

    assert response.status_code == 413
