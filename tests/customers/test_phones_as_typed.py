"""Phones as tills type them (SPEC §8): international forms, and digits of other scripts, in bodies
and in `filter[phone]`; each reads as the one stored number, so uniqueness holds across spellings."""

import pytest

from tests.customers.conftest import assert_field_error

SAUDI_MOBILE = "565445254"


@pytest.mark.parametrize(
    "typed",
    [
        "+966565445254",
        "+966 56 544 5254",
        "00966565445254",
        "00966 (56) 544-5254",
        "+9660565445254",
        "٠٥٦٥٤٤٥٢٥٤",
        "۰۵۶۵۴۴۵۲۵۴",
        "０５６５４４５２５４",
        "+٩٦٦٥٦٥٤٤٥٢٥٤",
    ],
)
def test_a_phone_typed_any_of_these_ways_is_stored_as_its_national_number(api, typed):
    created = api.post("/customers", json={"name": "Simona", "dial_code": 966, "phone": typed})

    assert created.status_code == 201, created.text
    assert (created.json()["data"]["dial_code"], created.json()["data"]["phone"]) == (966, SAUDI_MOBILE)


@pytest.mark.parametrize("typed", ["+966565445254", "00966565445254", "+٩٦٦٥٦٥٤٤٥٢٥٤"])
def test_an_international_phone_fills_an_absent_dial_code(api, typed):
    created = api.post("/customers", json={"name": "Simona", "phone": typed})

    assert created.status_code == 201, created.text
    assert (created.json()["data"]["dial_code"], created.json()["data"]["phone"]) == (966, SAUDI_MOBILE)


def test_an_international_phone_whose_country_code_is_not_the_dial_code_is_refused(api, stored_customers):
    response = api.post("/customers", json={"name": "Simona", "dial_code": 966, "phone": "+971501234567"})

    assert_field_error(response, "phone")
    assert "971" in response.json()["errors"]["phone"][0]
    assert stored_customers() == []


def test_an_update_with_an_international_phone_moves_the_customer_to_its_dial_code(api):
    customer = api.make_customer(dial_code=966, phone="0501234567")

    response = api.put(f"/customers/{customer['id']}", json={"phone": "+971 50 123 4567"})

    assert response.status_code == 200, response.text
    assert (response.json()["data"]["dial_code"], response.json()["data"]["phone"]) == (971, "501234567")


@pytest.mark.parametrize("other_spelling", ["+966565445254", "٠٥٦٥٤٤٥٢٥٤", "０５６５４４５２５４"])
def test_one_active_customer_per_phone_whatever_its_spelling(api, other_spelling):
    api.make_customer(dial_code=966, phone="0565445254")

    response = api.post("/customers", json={"name": "Again", "dial_code": 966, "phone": other_spelling})

    assert_field_error(response, "phone")


def listed_names(api, phone_filter: str) -> list[str]:
    response = api.get("/customers", params={"filter[phone]": phone_filter})
    assert response.status_code == 200, response.text
    return [customer["name"] for customer in response.json()["data"]]


@pytest.fixture
def saudi_and_emirati(api):
    api.make_customer(name="Saudi", dial_code=966, phone="0565445254")
    api.make_customer(name="Emirati", dial_code=971, phone="0565445254")


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("+966565445254", ["Saudi"]),
        ("00966 56 544 5254", ["Saudi"]),
        ("+971565445254", ["Emirati"]),
        ("+9715654", ["Emirati"]),
        ("+966", ["Saudi"]),
        ("+44565445254", []),
        ("0565445254", ["Saudi", "Emirati"]),
        ("٠٥٦٥٤٤", ["Saudi", "Emirati"]),
        ("０５６５", ["Saudi", "Emirati"]),
    ],
)
def test_phone_filter_reads_international_forms_a_trunk_zero_and_other_scripts(api, saudi_and_emirati, value, names):
    assert listed_names(api, value) == names


@pytest.mark.parametrize("value", ["+", "+999123", "+96a6", "٥٦a"])
def test_phone_filter_that_is_not_a_phone_is_refused(api, value):
    response = api.get("/customers", params={"filter[phone]": value})

    assert response.status_code == 400, response.text
    assert "filter[phone]" in response.json()["errors"]
