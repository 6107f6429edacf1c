"""Each field of an entry and its rule: a 422 naming the field, and nothing stored (SPEC §3, §9)."""

import json
from typing import Any

import pytest

from tests.ledgers.conftest import HOUSE, LEDGER_PATHS, LOYALTY, made, refused

REFERENCES = {HOUSE: ("order_id", "user_id", "payment_method_id"), LOYALTY: ("order_id",)}
REFERENCE_PARAMS = [
    pytest.param(path, reference, id=f"{path.strip('/')}.{reference}")
    for path, references in REFERENCES.items()
    for reference in references
]


@pytest.fixture
def holder(account_holder):
    return account_holder(limit=None)


def post(api, path: str, body: dict[str, Any]):
    return api.post(path, json=body)


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_customer_id_and_amount_are_required(api, path):
    response = post(api, path, {})

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "customer_id": ["The customer_id field is required."],
        "amount": ["The amount field is required."],
    }
    assert api.get(path).json()["data"] == []


@pytest.mark.parametrize("path", LEDGER_PATHS)
@pytest.mark.parametrize(
    ("amount", "sentence"),
    [
        (None, "The amount field is required."),
        ("", "The amount field is required."),
        (0, "The amount field must not be zero."),
        ("-0.000", "The amount field must not be zero."),
        (1.0001, "The amount field must have at most 3 decimal places."),
        ("2.5555", "The amount field must have at most 3 decimal places."),
        (1_000_000_000, "The amount field must be greater than -1000000000 and less than 1000000000."),
        (-1e9, "The amount field must be greater than -1000000000 and less than 1000000000."),
        ("1e12", "The amount field must be greater than -1000000000 and less than 1000000000."),
        (True, "The amount field must be a number."),
        ("ten", "The amount field must be a number."),
        ("١٠", "The amount field must be a number."),
        ("NaN", "The amount field must be a number."),
        ("1_000", "The amount field must be a number."),
        ([10], "The amount field must be a number."),
        ({"value": 10}, "The amount field must be a number."),
    ],
)
def test_an_amount_that_is_not_a_nonzero_decimal_of_3_places_is_a_422(api, holder, path, amount, sentence):
    response = post(api, path, {"customer_id": holder["id"], "amount": amount})

    assert refused(response, "amount") == sentence
    assert api.get(path).json()["data"] == []


@pytest.mark.parametrize(
    ("amount", "shown"),
    [("12.5", 12.5), (" 7 ", 7), ("+3.250", 3.25), ("1.5000", 1.5), ("2e2", 200), (999_999_999.999, 999_999_999.999)],
)
def test_an_amount_may_be_a_json_number_or_a_decimal_string(api, holder, amount, shown):
    assert made(post(api, HOUSE, {"customer_id": holder["id"], "amount": amount}))["amount"] == shown


@pytest.mark.parametrize("path", LEDGER_PATHS)
@pytest.mark.parametrize("customer_id", [None, ""])
def test_customer_id_may_not_be_null(api, path, customer_id):
    response = post(api, path, {"customer_id": customer_id, "amount": 1})

    assert refused(response, "customer_id") == "The customer_id field is required."


@pytest.mark.parametrize(("path", "reference"), REFERENCE_PARAMS)
def test_a_reference_is_trimmed_text_of_1_to_64_characters_or_null(api, holder, path, reference):
    kept = made(post(api, path, {"customer_id": holder["id"], "amount": 1, reference: "  pos-42 "}))
    absent = made(post(api, path, {"customer_id": holder["id"], "amount": 1}))
    emptied = made(post(api, path, {"customer_id": holder["id"], "amount": 1, reference: ""}))
    longest = made(post(api, path, {"customer_id": holder["id"], "amount": 1, reference: "r" * 64}))

    assert (kept[reference], absent[reference], emptied[reference], longest[reference]) == (
        "pos-42",
        None,
        None,
        "r" * 64,
    )


@pytest.mark.parametrize(("path", "reference"), REFERENCE_PARAMS)
@pytest.mark.parametrize("value", ["r" * 65, 42, ["a"], {"id": "a"}, "nul\x00"])
def test_a_reference_that_is_not_short_text_is_a_422(api, holder, entry_count, path, reference, value):
    response = post(api, path, {"customer_id": holder["id"], "amount": 1, reference: value})

    refused(response, reference)
    assert entry_count(path, holder["id"]) == 0


@pytest.mark.parametrize("path", LEDGER_PATHS)
@pytest.mark.parametrize("meta", [{"till": 3, "note": "مرحبا", "lines": [1.5, None]}, ["a", {"b": 2}], {}, []])
def test_meta_is_any_json_object_or_array_kept_as_sent(api, holder, path, meta):
    created = made(post(api, path, {"customer_id": holder["id"], "amount": 1, "meta": meta}))

    assert created["meta"] == meta
    assert api.get(f"{path}/{created['id']}").json()["data"]["meta"] == meta


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_meta_absent_or_null_is_an_empty_object(api, holder, path):
    absent = made(post(api, path, {"customer_id": holder["id"], "amount": 1}))
    null = made(post(api, path, {"customer_id": holder["id"], "amount": 1, "meta": None}))

    assert absent["meta"] == null["meta"] == {}


@pytest.mark.parametrize("path", LEDGER_PATHS)
@pytest.mark.parametrize("meta", ["text", 12, True])
def test_meta_that_is_not_an_object_or_array_is_a_422(api, holder, entry_count, path, meta):
    response = post(api, path, {"customer_id": holder["id"], "amount": 1, "meta": meta})

    assert refused(response, "meta") == "The meta field must be a JSON object or array."
    assert entry_count(path, holder["id"]) == 0


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_meta_of_at_most_16_kib_as_json_is_accepted_and_more_is_a_422(api, holder, entry_count, path):
    # {"x":"…"} is 8 characters around the value.
    largest = {"x": "a" * (16 * 1024 - 8)}
    assert len(json.dumps(largest, separators=(",", ":"))) == 16 * 1024

    made(post(api, path, {"customer_id": holder["id"], "amount": 1, "meta": largest}))
    response = post(api, path, {"customer_id": holder["id"], "amount": 1, "meta": {"x": "a" * (16 * 1024 - 7)}})

    assert "16384 bytes" in refused(response, "meta")
    assert entry_count(path, holder["id"]) == 1


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_meta_nested_deeper_than_can_be_shown_is_a_422(api, holder, path):
    deep = b"[" * 300 + b"]" * 300
    body = b'{"customer_id": "' + holder["id"].encode() + b'", "amount": 1, "meta": ' + deep + b"}"

    response = api.post(path, content=body)

    assert refused(response, "meta") == "The meta field nests too deeply."


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_field_rules_are_reported_together_before_the_customer_is_looked_up(api, path):
    response = post(api, path, {"customer_id": "no-such-customer", "amount": 0.0001, "order_id": "o" * 65})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["amount", "order_id"]


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_read_only_and_unknown_fields_are_ignored(api, holder, path):
    created = made(
        post(
            api,
            path,
            {
                "customer_id": holder["id"],
                "amount": 2,
                "id": "00000000-0000-7000-8000-000000000000",
                "balance_after": 1_000,
                "created_at": "2000-01-01 00:00:00",
                "unknown": {"deep": [1, 2]},
            },
        )
    )

    assert created["id"] != "00000000-0000-7000-8000-000000000000"
    assert created["balance_after"] == 2
    assert not created["created_at"].startswith("2000")


@pytest.mark.parametrize("path", LEDGER_PATHS)
@pytest.mark.parametrize("body", [b"[]", b"not json", b'{"amount": NaN}', b'{"amount": 1e999}'])
def test_a_body_that_is_not_one_json_object_is_a_400(api, path, body):
    response = api.post(path, content=body)

    assert response.status_code == 400
    assert api.get(path).json()["data"] == []
