"""SPEC §4: the rules every customer field follows in a request body, and the body itself."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from clientele.auth import scopes as scope
from tests.conftest import next_phone
from tests.customers.conftest import assert_field_error, is_sentence

# The seed's own "Create Customer" request, byte for byte but for the tag id.
SEED_CREATE_REQUEST: dict[str, Any] = {
    "name": "Simona",
    "dial_code": 1,
    "phone": "1234567890",
    "email": "simona@example.net",
    "gender": 1,
    "birth_date": "2016-09-17",
    "house_account_limit": 100,
    "house_account_balance": 300,
    "is_loyalty_enabled": False,
    "is_blacklisted": False,
    "is_house_account_enabled": True,
    "tags": [{"id": "8d06aaa0"}],
}


def utc_today() -> datetime:
    return datetime.now(UTC)


def valid_body(**fields: Any) -> dict[str, Any]:
    return {"name": "Simona", "dial_code": 966, "phone": next_phone()} | fields


INVALID_FIELDS = [
    # name: required, a string, 1-255 characters after trimming
    ("name", None),
    ("name", ""),
    ("name", "   "),
    ("name", "x" * 256),
    ("name", 123),
    ("name", ["Simona"]),
    ("name", "Si\x00mona"),
    # dial_code: required integer, an assigned country calling code
    ("dial_code", None),
    ("dial_code", "abc"),
    ("dial_code", 96.6),
    ("dial_code", True),
    ("dial_code", 0),
    ("dial_code", 999),
    ("dial_code", -966),
    ("dial_code", 10**20),
    ("dial_code", "٩٦ا"),
    # phone: required, digits once separators are stripped, possible for the dial code
    ("phone", None),
    ("phone", ""),
    ("phone", " - "),
    ("phone", "56a445254"),
    ("phone", "+999565445254"),
    ("phone", "+"),
    ("phone", "٥٦٥٤٤٥٢٥a"),
    ("phone", "²⁵⁶⁵⁴⁴⁵²⁵⁴"),
    ("phone", "123"),
    ("phone", "5" * 21),
    ("phone", True),
    ("phone", ["565445254"]),
    # email: address syntax, at most 255 characters
    ("email", "not-an-email"),
    ("email", "simona@"),
    ("email", "simona@example"),
    ("email", "simona@shop.local"),
    ("email", '"simona hassan"@example.net'),
    ("email", "simona@[127.0.0.1]"),
    ("email", "a" * 64 + "@" + ".".join(["b" * 63] * 3) + ".com"),
    ("email", 42),
    # notes: at most 10,000 characters
    ("notes", "n" * 10_001),
    ("notes", 42),
    # gender: 1, 2 or null
    ("gender", 0),
    ("gender", 3),
    ("gender", "male"),
    ("gender", True),
    ("gender", 1.5),
    ("gender", "١"),
    # birth_date: a real YYYY-MM-DD date between 1900-01-01 and today
    ("birth_date", "2021-02-29"),
    ("birth_date", "2020-13-01"),
    ("birth_date", "17-09-1986"),
    ("birth_date", "1986/09/17"),
    ("birth_date", "1986-9-17"),
    ("birth_date", "1986-09-17T00:00:00"),
    ("birth_date", "1899-12-31"),
    ("birth_date", 19860917),
    # house_account_limit: an integer >= 0, or null
    ("house_account_limit", -1),
    ("house_account_limit", "١٠٠"),  # digits, but not ASCII ones: as phone and birth_date
    ("house_account_limit", "１００"),
    ("house_account_limit", 1.5),
    ("house_account_limit", "lots"),
    ("house_account_limit", True),
    ("house_account_limit", 2**31),
    # booleans: true/false or 1/0, never strings
    ("is_blacklisted", "true"),
    ("is_blacklisted", "1"),
    ("is_blacklisted", 2),
    ("is_blacklisted", None),
    ("is_blacklisted", []),
    ("is_loyalty_enabled", "false"),
    ("is_house_account_enabled", "0"),
    # tags: a list of {"id": …}
    ("tags", "all"),
    ("tags", {"id": "x"}),
    ("tags", ["x"]),
    ("tags", [{}]),
    ("tags", [{"id": 5}]),
    ("tags", [{"id": "not-a-uuid"}]),
    ("tags", [{"id": "0190f1c2-0000-7000-8000-000000000000"}]),
]


@pytest.mark.parametrize(("field", "value"), INVALID_FIELDS)
def test_invalid_field_on_create_is_422_naming_it_and_stores_nothing(api, stored_customers, field, value):
    response = api.post("/customers", json=valid_body(**{field: value}))

    assert_field_error(response, field)
    assert stored_customers() == []


@pytest.mark.parametrize(("field", "value"), INVALID_FIELDS)
def test_invalid_field_on_update_is_422_naming_it_and_changes_nothing(api, stored_customer, field, value):
    customer = api.make_customer()
    before = stored_customer(customer["id"])

    response = api.put(f"/customers/{customer['id']}", json={field: value})

    assert_field_error(response, field)
    assert stored_customer(customer["id"]) == before


@pytest.mark.parametrize("field", ["name", "dial_code", "phone"])
def test_name_dial_code_and_phone_are_required_on_create(api, stored_customers, field):
    body = valid_body()
    del body[field]

    response = api.post("/customers", json=body)

    assert_field_error(response, field)
    assert stored_customers() == []


def test_every_invalid_field_is_named_in_one_response(api, stored_customers):
    response = api.post(
        "/customers",
        json={
            "dial_code": 966,
            "phone": "12",
            "email": "nope",
            "gender": 7,
            "birth_date": "1986-02-30",
            "is_blacklisted": "yes",
        },
    )

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) == {"name", "phone", "email", "gender", "birth_date", "is_blacklisted"}
    assert response.json()["message"].endswith("(and 5 more errors)")
    assert stored_customers() == []


def test_a_bad_dial_code_is_not_also_blamed_on_the_phone(api, stored_customers):
    response = api.post("/customers", json=valid_body(dial_code=999))

    assert_field_error(response, "dial_code")
    assert "phone" not in response.json()["errors"]
    assert stored_customers() == []


def test_a_taken_phone_and_an_unknown_tag_are_named_together(api, stored_customers):
    phone = next_phone()
    api.make_customer(phone=phone)

    response = api.post(
        "/customers", json=valid_body(phone=phone, tags=[{"id": "0190f1c2-0000-7000-8000-000000000000"}])
    )

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"phone", "tags"}
    assert len(stored_customers()) == 1


def test_name_is_trimmed(api):
    assert api.make_customer(name="  Simona Lapda \t")["name"] == "Simona Lapda"


@pytest.mark.parametrize("letter", ["n", "ü", "ن", "😀"])
def test_name_of_255_characters_after_trimming_is_accepted(api, stored_customer, letter):
    name = letter * 255
    customer = api.make_customer(name=f"  {name}  ")
    assert customer["name"] == name
    assert stored_customer(customer["id"])["name"] == name


@pytest.mark.parametrize("dial_code", [966, 1, 44, 971])
def test_assigned_dial_codes_are_accepted(api, dial_code):
    phones = {966: next_phone(), 1: "2125550123", 44: "7911123456", 971: "501234567"}
    customer = api.make_customer(dial_code=dial_code, phone=phones[dial_code])
    assert customer["dial_code"] == dial_code


def test_phone_must_be_possible_for_its_dial_code(api):
    # Nine digits starting with 5 make a Saudi mobile number, but no Italian one.
    phone = next_phone()
    assert api.make_customer(dial_code=966, phone=phone)["phone"] == phone
    assert_field_error(api.post("/customers", json=valid_body(dial_code=39, phone="5" * 13)), "phone")


def test_phone_alone_on_update_is_checked_against_the_stored_dial_code(api, stored_customer):
    customer = api.make_customer(dial_code=44, phone="7911123456")

    assert_field_error(api.put(f"/customers/{customer['id']}", json={"phone": "5" * 13}), "phone")
    # Eight digits make a possible UK number but no Saudi one.
    response = api.put(f"/customers/{customer['id']}", json={"phone": "1234 5678"})

    assert response.status_code == 200, response.text
    assert stored_customer(customer["id"])["phone"] == "12345678"


@pytest.mark.parametrize(
    ("field", "sent", "stored"), [("dial_code", "966", 966), ("gender", "2", 2), ("house_account_limit", "100", 100)]
)
def test_integer_fields_accept_strings_of_digits(api, stored_customer, field, sent, stored):
    customer = api.make_customer(**{field: sent})
    assert customer[field] == stored
    assert stored_customer(customer["id"])[field] == stored


def test_email_is_checked_for_syntax_only_without_dns(api):
    email = "simona@clientele-no-such-domain-7f3a9c.com"
    assert api.make_customer(email=email)["email"] == email


@pytest.mark.parametrize("email", [None, ""])
def test_email_may_be_null(api, email):
    assert api.make_customer(email=email)["email"] is None


@pytest.mark.parametrize("gender", [1, 2, None])
def test_gender_is_1_2_or_null(api, gender):
    assert api.make_customer(gender=gender)["gender"] == gender


def test_birth_date_may_be_1900_01_01(api):
    assert api.make_customer(birth_date="1900-01-01")["birth_date"] == "1900-01-01"


def test_birth_date_may_be_today(api):
    today = utc_today().date().isoformat()
    assert api.make_customer(birth_date=today)["birth_date"] == today


def test_birth_date_in_the_future_is_refused(api, stored_customers):
    tomorrow = (utc_today() + timedelta(days=1)).date().isoformat()
    assert_field_error(api.post("/customers", json=valid_body(birth_date=tomorrow)), "birth_date")
    assert stored_customers() == []


@pytest.mark.parametrize("limit", [0, 100, 2**31 - 1, None])
def test_house_account_limit_is_a_non_negative_integer_or_null(api, limit):
    assert api.make_customer(house_account_limit=limit)["house_account_limit"] == limit


@pytest.mark.parametrize(("sent", "shown"), [(True, True), (False, False), (1, True), (0, False)])
@pytest.mark.parametrize("field", ["is_blacklisted", "is_loyalty_enabled", "is_house_account_enabled"])
def test_booleans_accept_true_false_1_0_and_are_shown_as_json_booleans(api, stored_customer, field, sent, shown):
    customer = api.make_customer(**{field: sent})
    assert customer[field] is shown
    assert stored_customer(customer["id"])[field] is shown


def test_tags_must_belong_to_this_business(api, other_api, stored_customers):
    foreign = other_api.make_tag()
    assert_field_error(api.post("/customers", json=valid_body(tags=[{"id": foreign["id"]}])), "tags")
    assert stored_customers() == []


def test_deleted_tags_cannot_be_attached(api, stored_customers):
    tag = api.make_tag()
    assert api.delete(f"/tags/{tag['id']}").status_code == 204

    assert_field_error(api.post("/customers", json=valid_body(tags=[{"id": tag["id"]}])), "tags")
    assert stored_customers() == []


def test_one_bad_tag_refuses_the_whole_set(api, stored_customers):
    good = api.make_tag()
    body = valid_body(tags=[{"id": good["id"]}, {"id": "0190f1c2-0000-7000-8000-000000000000"}])
    assert_field_error(api.post("/customers", json=body), "tags")
    assert stored_customers() == []


def test_existing_tags_of_the_business_are_attached(api, stored_tag_ids):
    first, second = api.make_tag(), api.make_tag()
    response = api.post("/customers?include=tags", json=valid_body(tags=[{"id": first["id"]}, {"id": second["id"]}]))

    assert response.status_code == 201, response.text
    customer = response.json()["data"]
    assert {tag["id"] for tag in customer["tags"]} == {first["id"], second["id"]}
    assert stored_tag_ids(customer["id"]) == {first["id"], second["id"]}


def test_a_tag_sent_twice_is_attached_once(api, stored_tag_ids):
    tag = api.make_tag()
    customer = api.make_customer(tags=[{"id": tag["id"]}, {"id": tag["id"].upper()}])
    assert stored_tag_ids(customer["id"]) == {tag["id"]}


def test_read_only_and_unknown_fields_are_ignored_on_create(api, stored_customer):
    sent_id = "0190f1c2-0000-7000-8000-000000000000"
    customer = api.make_customer(
        id=sent_id,
        house_account_balance=300,
        loyalty_balance=50,
        order_count=9,
        last_order_at="2019-11-27 09:40:35",
        created_at="2019-04-22 14:18:54",
        updated_at="2019-05-02 10:14:49",
        deleted_at="2019-05-02 10:14:49",
        addresses=[{"id": "8d92cc27"}],
        favourite_colour="teal",
    )

    assert customer["id"] != sent_id
    row = stored_customer(customer["id"])
    assert (row["house_account_balance"], row["loyalty_balance"], row["order_count"]) == (0, 0, 0)
    assert row["last_order_at"] is None
    assert row["deleted_at"] is None
    assert row["created_at"].year == utc_today().year
    assert api.get(f"/customers/{customer['id']}?include=addresses").json()["data"]["addresses"] == []


def test_read_only_and_unknown_fields_are_ignored_on_update(api, stored_customer):
    customer = api.make_customer()
    before = stored_customer(customer["id"])

    response = api.put(
        f"/customers/{customer['id']}",
        json={
            "id": "0190f1c2-0000-7000-8000-000000000000",
            "house_account_balance": 300,
            "loyalty_balance": 50,
            "order_count": 9,
            "last_order_at": "2019-11-27 09:40:35",
            "created_at": "2019-04-22 14:18:54",
            "deleted_at": "2019-05-02 10:14:49",
            "addresses": [],
            "favourite_colour": "teal",
        },
    )

    assert response.status_code == 200, response.text
    assert stored_customer(customer["id"]) == before


def test_the_seed_sample_create_request_is_accepted(api_with, stored_customer):
    writer = api_with(scope.CUSTOMERS_WRITE, scope.ACCOUNTS_WRITE, scope.ACCOUNTS_READ, scope.GENERAL_WRITE)
    tag = writer.make_tag()
    body = SEED_CREATE_REQUEST | {"tags": [{"id": tag["id"]}]}

    response = writer.post("/customers?include=tags", json=body)

    assert response.status_code == 201, response.text
    customer = response.json()["data"]
    for field in (
        "name",
        "dial_code",
        "phone",
        "email",
        "gender",
        "birth_date",
        "house_account_limit",
        "is_loyalty_enabled",
        "is_blacklisted",
        "is_house_account_enabled",
    ):
        assert customer[field] == body[field], field
    assert customer["house_account_balance"] == 0
    assert [item["id"] for item in customer["tags"]] == [tag["id"]]
    assert stored_customer(customer["id"])["house_account_balance"] == 0


# --- the body itself ---------------------------------------------------------------------

NOT_JSON = [b"", b"{name: 'Simona'}", b'{"name": "Simona",}', b"\xff\xfe", b'{"name": NaN}']
NOT_AN_OBJECT = [b"[]", b'[{"name": "Simona"}]', b'"Simona"', b"42", b"null", b"true"]


@pytest.mark.parametrize("content", NOT_JSON + NOT_AN_OBJECT)
def test_body_that_is_not_a_json_object_is_400_on_create(api, stored_customers, content):
    response = api.post("/customers", content=content, headers={"Content-Type": "application/json"})

    assert response.status_code == 400, response.text
    assert is_sentence(response.json()["message"])
    assert stored_customers() == []


@pytest.mark.parametrize("content", NOT_JSON + NOT_AN_OBJECT)
def test_body_that_is_not_a_json_object_is_400_on_update(api, stored_customer, content):
    customer = api.make_customer()
    before = stored_customer(customer["id"])

    response = api.put(f"/customers/{customer['id']}", content=content, headers={"Content-Type": "application/json"})

    assert response.status_code == 400, response.text
    assert stored_customer(customer["id"]) == before


def oversized_body() -> bytes:
    padding = "x" * (1024 * 1024)
    return f'{{"name": "Simona", "dial_code": 966, "phone": "{next_phone()}", "note": "{padding}"}}'.encode()


def test_body_over_1_mib_is_413(api, stored_customers):
    response = api.post("/customers", content=oversized_body(), headers={"Content-Type": "application/json"})

    assert response.status_code == 413, response.text
    assert is_sentence(response.json()["message"])
    assert stored_customers() == []


def test_body_over_1_mib_without_content_length_is_413(api, stored_customers):
    body = oversized_body()
    chunks = (body[start : start + 65536] for start in range(0, len(body), 65536))

    response = api.post("/customers", content=chunks, headers={"Content-Type": "application/json"})

    assert response.status_code == 413, response.text
    assert stored_customers() == []


def test_body_of_exactly_1_mib_is_read(api):
    start = f'{{"name": "Simona", "dial_code": 966, "phone": "{next_phone()}", "note": "'.encode()
    body = start + b"x" * (1024 * 1024 - len(start) - 2) + b'"}'
    assert len(body) == 1024 * 1024

    response = api.post("/customers", content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 201, response.text


def test_body_errors_come_before_an_unknown_customer(api):
    missing = "/customers/0190f1c2-0000-7000-8000-000000000000"
    assert api.put(missing, content=b"[]", headers={"Content-Type": "application/json"}).status_code == 400
    assert api.put(missing, content=oversized_body(), headers={"Content-Type": "application/json"}).status_code == 413
    assert api.put(missing, json={"name": ""}).status_code == 404


def test_a_negative_phone_number_is_refused_not_read_as_its_digits(api):
    response = api.post("/customers", json={"name": "Minus", "dial_code": 966, "phone": -565445254})

    assert response.status_code == 422
    assert response.json()["errors"]["phone"] == ["The phone field must contain digits only."]
    assert api.get("/customers").json()["meta"]["total"] == 0
