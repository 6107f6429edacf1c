"""`GET /customers` filters (SPEC §5 Listing): each filter alone, then how they combine."""

from datetime import datetime
from typing import Any

import pytest

from clientele.customers.models import customers


def listed(api: Any, params: dict[str, str]) -> list[str]:
    """The names of the customers a list request returns, in page order."""
    response = api.get("/customers", params=params | {"per_page": "1000"})
    assert response.status_code == 200, response.text
    return [customer["name"] for customer in response.json()["data"]]


def refused(api: Any, params: dict[str, str]) -> dict[str, Any]:
    response = api.get("/customers", params=params)
    assert response.status_code == 400, response.text
    return response.json()


# --- name and email ------------------------------------------------------------------------


def test_name_filter_is_a_case_insensitive_substring(api):
    for name in ("Alice Smith", "MALICE", "Bob"):
        api.make_customer(name=name)

    assert sorted(listed(api, {"filter[name]": "lic"})) == ["Alice Smith", "MALICE"]
    assert listed(api, {"filter[name]": "ALICE S"}) == ["Alice Smith"]


@pytest.mark.parametrize(("needle", "match"), [("%", "100% Juice"), ("_", "a_b"), ("\\", "back\\slash")])
def test_name_filter_takes_wildcards_literally(api, needle, match):
    for name in ("100% Juice", "100 Juice", "a_b", "axb", "back\\slash", "backslash"):
        api.make_customer(name=name)

    assert listed(api, {"filter[name]": needle}) == [match]


def test_name_filter_folds_case_beyond_ascii(api):
    api.make_customer(name="ÉLODIE")
    api.make_customer(name="Олег")

    assert listed(api, {"filter[name]": "élo"}) == ["ÉLODIE"]
    assert listed(api, {"filter[name]": "ОЛЕ"}) == ["Олег"]


def test_name_filter_folds_case_one_character_at_a_time_on_both_engines(api):
    # PostgreSQL's lower(): "İ" is "i", "Σ" is "σ" wherever it stands (not "ς" at a word's end).
    api.make_customer(name="İstanbul Kebab")
    api.make_customer(name="ΟΔΟΣ Greek")

    assert listed(api, {"filter[name]": "istanbul"}) == ["İstanbul Kebab"]
    assert listed(api, {"filter[name]": "İSTANBUL"}) == ["İstanbul Kebab"]
    assert listed(api, {"filter[name]": "οδοσ"}) == ["ΟΔΟΣ Greek"]
    assert listed(api, {"filter[name]": "ΟΔΟΣ"}) == ["ΟΔΟΣ Greek"]


def test_name_and_email_filters_follow_an_update(api):
    customer = api.make_customer(name="Old Name", email="old@example.com")
    renamed = api.put(f"/customers/{customer['id']}", json={"name": "New Name", "email": "NEW@example.com"})
    assert renamed.status_code == 200, renamed.text

    assert listed(api, {"filter[name]": "new n"}) == ["New Name"]
    assert listed(api, {"filter[name]": "old"}) == []
    assert listed(api, {"filter[email]": "new@"}) == ["New Name"]
    assert listed(api, {"filter[email]": "old"}) == []
    cleared = api.put(f"/customers/{customer['id']}", json={"email": None})
    assert cleared.status_code == 200, cleared.text
    assert listed(api, {"filter[email]": "example"}) == []


def test_email_filter_is_a_case_insensitive_substring(api):
    api.make_customer(name="Sam", email="sam@example.com")
    api.make_customer(name="Kim", email="kim@Other.org")
    api.make_customer(name="No email")

    assert listed(api, {"filter[email]": "EXAMPLE.COM"}) == ["Sam"]
    assert listed(api, {"filter[email]": "other"}) == ["Kim"]


def test_email_filter_finds_a_whole_address_in_any_case(api):
    api.make_customer(name="Sam", email="sam.al-harbi@example.com")
    api.make_customer(name="Samir", email="sam.al-harbi@example.org")
    api.make_customer(name="Other Sam", email="sam.al-harbi2@example.com")
    api.make_customer(name="Percent", email="s%m.al-harbi@example.com")

    assert listed(api, {"filter[email]": "Sam.Al-Harbi@EXAMPLE.COM"}) == ["Sam"]
    assert listed(api, {"filter[email]": "sam.al-harbi@example"}) == ["Sam", "Samir"]
    assert listed(api, {"filter[email]": "harbi@example.com"}) == ["Sam", "Percent"]
    assert listed(api, {"filter[email]": "s%m.al-harbi@"}) == ["Percent"]
    assert listed(api, {"filter[email]": "_am.al-harbi@example.com"}) == []
    assert listed(api, {"filter[email]": "@example.com"}) == ["Sam", "Other Sam", "Percent"]


def test_email_filter_takes_underscore_literally(api):
    api.make_customer(name="Underscore", email="a_b@example.com")
    api.make_customer(name="Letter", email="axb@example.com")

    assert listed(api, {"filter[email]": "a_b"}) == ["Underscore"]


# --- phone and dial code -------------------------------------------------------------------


def test_phone_filter_is_a_substring_of_the_stored_digits(api):
    api.make_customer(name="First", phone="0501234567")
    api.make_customer(name="Second", phone="0559876543")

    assert listed(api, {"filter[phone]": "1234"}) == ["First"]
    assert listed(api, {"filter[phone]": "5"}) == ["First", "Second"]


@pytest.mark.parametrize("value", ["123-45", "(50) 123", "12.34.5", " 501 234 "])
def test_phone_filter_strips_separators_from_the_value(api, value):
    api.make_customer(name="First", phone="0501234567")
    api.make_customer(name="Second", phone="0559876543")

    assert listed(api, {"filter[phone]": value}) == ["First"]


@pytest.mark.parametrize("value", ["abc", "---", "()", "12a4"])
def test_phone_filter_with_anything_but_digits_and_separators_is_refused(api, value):
    body = refused(api, {"filter[phone]": value})

    assert "filter[phone]" in body["errors"]


def test_dial_code_filter_is_exact(api):
    api.make_customer(name="Saudi", dial_code=966, phone="0501234567")
    api.make_customer(name="Emirati", dial_code=971, phone="501234567")
    api.make_customer(name="American", dial_code=1, phone="2015550123")

    assert listed(api, {"filter[dial_code]": "966"}) == ["Saudi"]
    assert listed(api, {"filter[dial_code]": "1"}) == ["American"]
    assert listed(api, {"filter[dial_code]": "96"}) == []


@pytest.mark.parametrize("value", ["abc", "9.6", "966a", "true", "٩٦٦"])
def test_dial_code_filter_that_is_not_an_integer_is_refused(api, value):
    body = refused(api, {"filter[dial_code]": value})

    assert "filter[dial_code]" in body["errors"]


# --- tags ------------------------------------------------------------------------------------


def test_tags_filter_matches_customers_with_any_of_the_tags(api):
    vip, regular, staff = api.make_tag(), api.make_tag(), api.make_tag()
    api.make_customer(name="Vip", tags=[{"id": vip["id"]}])
    api.make_customer(name="Regular", tags=[{"id": regular["id"]}])
    api.make_customer(name="Both", tags=[{"id": vip["id"]}, {"id": regular["id"]}])
    api.make_customer(name="Staff", tags=[{"id": staff["id"]}])
    api.make_customer(name="Untagged")

    assert listed(api, {"filter[tags.id]": vip["id"]}) == ["Vip", "Both"]
    assert listed(api, {"filter[tags.id]": f"{vip['id']},{regular['id']}"}) == ["Vip", "Regular", "Both"]


def test_tags_filter_with_a_deleted_tag_matches_nothing(api):
    gone, kept = api.make_tag(), api.make_tag()
    api.make_customer(name="Gone", tags=[{"id": gone["id"]}])
    api.make_customer(name="Kept", tags=[{"id": kept["id"]}])
    assert api.delete(f"/tags/{gone['id']}").status_code == 204

    assert listed(api, {"filter[tags.id]": gone["id"]}) == []
    assert listed(api, {"filter[tags.id]": f"{gone['id']},{kept['id']}"}) == ["Kept"]


@pytest.mark.parametrize("value", ["not-a-uuid", "1", "'; DROP TABLE tags; --"])
def test_tags_filter_with_a_value_that_is_not_a_uuid_matches_nothing(api, value):
    tag = api.make_tag()
    api.make_customer(name="Tagged", tags=[{"id": tag["id"]}])

    assert listed(api, {"filter[tags.id]": value}) == []
    assert listed(api, {"filter[tags.id]": f"{value},{tag['id']}"}) == ["Tagged"]


def test_tags_filter_ignores_another_business_tags(api, other_api):
    theirs = other_api.make_tag()
    other_api.make_customer(name="Theirs", tags=[{"id": theirs["id"]}])
    api.make_customer(name="Ours")

    assert listed(api, {"filter[tags.id]": theirs["id"]}) == []


# --- boolean filters ---------------------------------------------------------------------------

BOOLEAN_FIELDS = ["is_blacklisted", "is_house_account_enabled", "is_loyalty_enabled"]


@pytest.mark.parametrize("field", BOOLEAN_FIELDS)
@pytest.mark.parametrize(("value", "expected"), [("true", ["On"]), ("1", ["On"]), ("false", ["Off"]), ("0", ["Off"])])
def test_boolean_filter_accepts_true_false_1_0(api, field, value, expected):
    api.make_customer(name="On", **{field: True})
    api.make_customer(name="Off", **{field: False})

    assert listed(api, {f"filter[{field}]": value}) == expected


@pytest.mark.parametrize("field", [*BOOLEAN_FIELDS, "has_orders", "is_deleted"])
@pytest.mark.parametrize("value", ["yes", "2", "-1", "on", "truthy"])
def test_boolean_filter_with_another_value_is_refused(api, field, value):
    body = refused(api, {f"filter[{field}]": value})

    assert f"filter[{field}]" in body["errors"]


@pytest.mark.parametrize(
    ("value", "expected"), [("true", ["Buyer"]), ("1", ["Buyer"]), ("false", ["Browser"]), ("0", ["Browser"])]
)
def test_has_orders_filter_means_order_count_above_zero(api, overwrite, value, expected):
    buyer = api.make_customer(name="Buyer")
    api.make_customer(name="Browser")
    overwrite(customers, buyer["id"], order_count=3)

    assert listed(api, {"filter[has_orders]": value}) == expected


# --- updated_after -------------------------------------------------------------------------------


@pytest.fixture
def updated_at_times(api, overwrite):
    """Customers named after the stored `updated_at` each one is given."""

    def make(*times: datetime) -> None:
        for moment in times:
            customer = api.make_customer(name=moment.isoformat(sep=" "))
            overwrite(customers, customer["id"], updated_at=moment)

    return make


def test_updated_after_a_date_means_strictly_after_its_midnight(api, updated_at_times):
    updated_at_times(
        datetime(2024, 1, 1, 23, 59, 59), datetime(2024, 1, 2), datetime(2024, 1, 2, 0, 0, 1), datetime(2024, 1, 3, 8)
    )

    assert listed(api, {"filter[updated_after]": "2024-01-02", "sort": "updated_at"}) == [
        "2024-01-02 00:00:01",
        "2024-01-03 08:00:00",
    ]


def test_updated_after_a_time_means_strictly_after_it(api, updated_at_times):
    updated_at_times(datetime(2024, 5, 1, 9, 59, 59), datetime(2024, 5, 1, 10), datetime(2024, 5, 1, 10, 0, 1))

    assert listed(api, {"filter[updated_after]": "2024-05-01 10:00:00", "sort": "updated_at"}) == [
        "2024-05-01 10:00:01"
    ]


def test_updated_after_compares_at_the_stored_precision(api, overwrite):
    # A sync that asks for rows updated after the last `updated_at` it saw may see a row
    # twice, but never misses one written later in the same second.
    customer = api.make_customer(name="Half past")
    overwrite(customers, customer["id"], updated_at=datetime(2024, 5, 1, 10, 0, 0, 500_000))

    shown = api.get(f"/customers/{customer['id']}").json()["data"]["updated_at"]
    assert shown == "2024-05-01 10:00:00"
    assert listed(api, {"filter[updated_after]": shown}) == ["Half past"]


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", "2024-02-30", "2024-01-02 25:00:00", "1714557600"])
def test_updated_after_that_is_not_a_date_or_time_is_refused(api, value):
    body = refused(api, {"filter[updated_after]": value})

    assert "filter[updated_after]" in body["errors"]


# --- is_deleted ----------------------------------------------------------------------------------


@pytest.fixture
def one_deleted(api):
    api.make_customer(name="Active")
    deleted = api.make_customer(name="Deleted")
    assert api.delete(f"/customers/{deleted['id']}").status_code == 204


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"filter[is_deleted]": "true"}, ["Deleted"]),
        ({"filter[is_deleted]": "1"}, ["Deleted"]),
        ({"filter[is_deleted]": "false"}, ["Active"]),
        ({"filter[is_deleted]": "0"}, ["Active"]),
        ({}, ["Active"]),
    ],
)
def test_is_deleted_filter_chooses_deleted_or_active_customers(api, one_deleted, params, expected):
    assert listed(api, params) == expected


def test_deleted_customers_are_listed_with_deleted_at(api, one_deleted):
    [deleted] = api.get("/customers", params={"filter[is_deleted]": "true"}).json()["data"]

    assert deleted["deleted_at"] is not None


# --- combining, and what is not a filter ------------------------------------------------------


def test_filters_combine_with_and(api):
    api.make_customer(name="Ann Blocked", is_blacklisted=True)
    api.make_customer(name="Ann Welcome")
    api.make_customer(name="Bob Blocked", is_blacklisted=True)

    assert listed(api, {"filter[name]": "ann", "filter[is_blacklisted]": "true"}) == ["Ann Blocked"]


def test_every_filter_at_once_still_finds_the_match(api, overwrite):
    tag = api.make_tag()
    match = api.make_customer(
        name="Match",
        email="match@example.com",
        dial_code=966,
        phone="0501234567",
        tags=[{"id": tag["id"]}],
        is_blacklisted=True,
        is_house_account_enabled=True,
        is_loyalty_enabled=True,
    )
    api.make_customer(
        name="Match too",
        email="match2@example.com",
        dial_code=966,
        phone="0501234568",
        tags=[{"id": tag["id"]}],
        is_blacklisted=True,
        is_house_account_enabled=True,
    )
    overwrite(customers, match["id"], order_count=1)

    assert listed(
        api,
        {
            "filter[name]": "match",
            "filter[email]": "example",
            "filter[phone]": "1234",
            "filter[dial_code]": "966",
            "filter[tags.id]": tag["id"],
            "filter[is_blacklisted]": "1",
            "filter[is_house_account_enabled]": "true",
            "filter[is_loyalty_enabled]": "true",
            "filter[has_orders]": "true",
            "filter[updated_after]": "2000-01-01",
            "filter[is_deleted]": "false",
        },
    ) == ["Match"]


@pytest.mark.parametrize("key", ["filter[nickname]", "filter[]", "filter[tags]", "filter[name][0]"])
def test_unknown_filter_is_refused_naming_it(api, key):
    body = refused(api, {key: "x"})

    assert key in body["errors"]
    assert key.removeprefix("filter[").removesuffix("]") in body["message"]


def test_other_unknown_query_parameters_are_ignored(api):
    api.make_customer(name="Alice")
    api.make_customer(name="Bob")

    assert listed(api, {"filters[name]": "alice", "q": "bob", "name": "x", "limit": "1"}) == ["Alice", "Bob"]


def test_empty_filter_value_is_no_filter(api):
    api.make_customer(name="Alice")

    assert listed(api, {"filter[name]": "", "filter[dial_code]": "", "filter[is_deleted]": ""}) == ["Alice"]


def test_filter_values_are_trimmed_as_body_text_is(api):
    api.make_customer(name="Alice")
    api.make_customer(name="Bob Ali")

    assert listed(api, {"filter[name]": "  ali  "}) == ["Alice", "Bob Ali"]
    assert listed(api, {"filter[name]": " ", "filter[tags.id]": " "}) == ["Alice", "Bob Ali"]


def test_typed_filter_values_are_read_after_trimming(api):
    api.make_customer(name="Alice", dial_code=966, is_blacklisted=True)

    assert listed(
        api, {"filter[dial_code]": " 966 ", "filter[is_blacklisted]": " true ", "filter[updated_after]": " 2020-01-01 "}
    ) == ["Alice"]


@pytest.mark.parametrize(
    ("path", "name", "value"),
    [
        ("/customers", "name", "a" * 50_001),
        ("/customers", "email", "a" * 50_001),
        ("/customers", "email", "a" * 50_001 + "@example.com"),
        ("/customers", "phone", "5" * 50_001),
        ("/tags", "name", "a" * 50_001),
        ("/delivery_zones", "name", "a" * 50_001),
        ("/delivery_zones", "reference", "a" * 50_001),
    ],
)
def test_a_text_filter_longer_than_any_stored_value_matches_nothing(api, path, name, value):
    # SQLite refuses a LIKE pattern over 50,000 bytes, once it has a row to match it against.
    api.make_customer(email="a@example.com")
    api.make_tag()
    api.make_zone(reference="a")

    response = api.get(path, params={f"filter[{name}]": value})

    assert response.status_code == 200, response.text
    assert (response.json()["data"], response.json()["meta"]["total"]) == ([], 0)


def test_a_name_filter_as_long_as_a_stored_name_finds_it(api):
    longest = "ن" * 255
    api.make_customer(name=longest)
    api.make_customer(name="Other")

    assert listed(api, {"filter[name]": longest}) == [longest]


def test_filters_never_reach_another_business(api, other_api):
    other_api.make_customer(name="Theirs")
    api.make_customer(name="Ours")

    assert listed(api, {"filter[name]": "s"}) == ["Ours"]
    assert listed(api, {"filter[is_deleted]": "true"}) == []
