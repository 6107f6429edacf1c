"""SPEC §4-5: what PUT changes, when updated_at moves, and how create and update answer."""

import pytest

from clientele.auth import scopes as scope
from tests.conftest import next_phone
from tests.customers.conftest import all_scopes_but, is_sentence

MISSING_ID = "0190f1c2-0000-7000-8000-000000000000"


def unchanged_apart_from(before: dict, after: dict, *fields: str) -> bool:
    ignored = {*fields, "updated_at"}
    return {k: v for k, v in before.items() if k not in ignored} == {k: v for k, v in after.items() if k not in ignored}


def test_create_answers_201_with_the_customer_and_its_location(api):
    response = api.post("/customers", json={"name": "Simona", "dial_code": 966, "phone": next_phone()})

    assert response.status_code == 201
    customer = response.json()["data"]
    assert response.headers["Location"] == f"http://testserver/customers/{customer['id']}"
    assert api.get(response.headers["Location"]).json()["data"] == customer


def test_location_keeps_the_v5_prefix_and_drops_the_query(api):
    response = api.post("/v5/customers?include=tags", json={"name": "Simona", "dial_code": 966, "phone": next_phone()})

    assert response.status_code == 201
    assert response.headers["Location"] == f"http://testserver/v5/customers/{response.json()['data']['id']}"


def test_put_changes_only_the_fields_sent(api, stored_customer):
    tag = api.make_tag()
    customer = api.make_customer(
        email="simona@example.net",
        gender=2,
        birth_date="1986-09-17",
        house_account_limit=100,
        is_blacklisted=True,
        tags=[{"id": tag["id"]}],
    )
    before = stored_customer(customer["id"])

    response = api.put(f"/customers/{customer['id']}", json={"name": "Renamed"})

    assert response.status_code == 200, response.text
    assert response.json()["data"]["name"] == "Renamed"
    after = stored_customer(customer["id"])
    assert (after["name"], after["name_lower"]) == ("Renamed", "renamed")
    assert unchanged_apart_from(before, after, "name", "name_lower")
    assert api.get(f"/customers/{customer['id']}?include=tags").json()["data"]["tags"][0]["id"] == tag["id"]


def test_null_clears_a_nullable_field(api, stored_customer):
    customer = api.make_customer(email="simona@example.net", gender=1, birth_date="1986-09-17")

    response = api.put(f"/customers/{customer['id']}", json={"email": None, "gender": None, "birth_date": None})

    assert response.status_code == 200, response.text
    row = stored_customer(customer["id"])
    assert (row["email"], row["gender"], row["birth_date"]) == (None, None, None)


def test_put_answers_with_the_stored_customer(api):
    customer = api.make_customer()

    response = api.put(f"/customers/{customer['id']}", json={"phone": f"0{next_phone()}", "is_blacklisted": 1})

    assert response.status_code == 200
    assert response.json()["data"] == api.get(f"/customers/{customer['id']}").json()["data"]
    assert response.json()["data"]["is_blacklisted"] is True


def test_updated_at_moves_when_a_stored_value_changes(api, stored_customer):
    customer = api.make_customer()
    before = stored_customer(customer["id"])

    assert api.put(f"/customers/{customer['id']}", json={"gender": 2}).status_code == 200

    after = stored_customer(customer["id"])
    assert after["updated_at"] > before["updated_at"]
    assert after["created_at"] == before["created_at"]


def test_updated_at_stays_when_nothing_is_sent(api, stored_customer):
    customer = api.make_customer()
    before = stored_customer(customer["id"])

    response = api.put(f"/customers/{customer['id']}", json={})

    assert response.status_code == 200
    assert stored_customer(customer["id"]) == before


def test_updated_at_stays_when_the_values_sent_are_the_stored_ones(api, stored_customer):
    phone = next_phone()
    tag = api.make_tag()
    customer = api.make_customer(
        phone=phone,
        email="simona@example.net",
        gender=1,
        birth_date="1986-09-17",
        is_blacklisted=True,
        tags=[{"id": tag["id"]}],
    )
    before = stored_customer(customer["id"])

    response = api.put(
        f"/customers/{customer['id']}",
        json={
            "name": "  Test Customer ",
            "dial_code": 966,
            "phone": f"0{phone[:2]} {phone[2:]}",
            "email": "simona@example.net",
            "gender": 1,
            "birth_date": "1986-09-17",
            "is_blacklisted": 1,
            "is_loyalty_enabled": False,
            "house_account_limit": None,
            "tags": [{"id": tag["id"]}, {"id": tag["id"]}],
        },
    )

    assert response.status_code == 200, response.text
    assert stored_customer(customer["id"]) == before


def test_updated_at_moves_when_only_the_tags_change(api, stored_customer, stored_tag_ids):
    customer = api.make_customer()
    tag = api.make_tag()
    before = stored_customer(customer["id"])

    assert api.put(f"/customers/{customer['id']}", json={"tags": [{"id": tag["id"]}]}).status_code == 200

    after = stored_customer(customer["id"])
    assert after["updated_at"] > before["updated_at"]
    assert unchanged_apart_from(before, after)
    assert stored_tag_ids(customer["id"]) == {tag["id"]}


def test_the_same_tags_in_another_order_are_no_change(api, stored_customer):
    first, second = api.make_tag(), api.make_tag()
    customer = api.make_customer(tags=[{"id": first["id"]}, {"id": second["id"]}])
    before = stored_customer(customer["id"])

    response = api.put(f"/customers/{customer['id']}", json={"tags": [{"id": second["id"]}, {"id": first["id"]}]})

    assert response.status_code == 200
    assert stored_customer(customer["id"]) == before


def test_tags_replace_the_whole_set(api, stored_tag_ids):
    first, second, third = api.make_tag(), api.make_tag(), api.make_tag()
    customer = api.make_customer(tags=[{"id": first["id"]}, {"id": second["id"]}])

    response = api.put(f"/customers/{customer['id']}?include=tags", json={"tags": [{"id": third["id"]}]})

    assert response.status_code == 200
    assert [tag["id"] for tag in response.json()["data"]["tags"]] == [third["id"]]
    assert stored_tag_ids(customer["id"]) == {third["id"]}


@pytest.mark.parametrize("cleared", [[], None])
def test_an_empty_or_null_tag_list_removes_every_tag(api, stored_tag_ids, cleared):
    tag = api.make_tag()
    customer = api.make_customer(tags=[{"id": tag["id"]}])

    response = api.put(f"/customers/{customer['id']}?include=tags", json={"tags": cleared})

    assert response.status_code == 200
    assert response.json()["data"]["tags"] == []
    assert stored_tag_ids(customer["id"]) == set()


def test_put_on_a_deleted_customer_is_409_and_changes_nothing(api, stored_customer):
    customer = api.make_customer()
    assert api.delete(f"/customers/{customer['id']}").status_code == 204
    before = stored_customer(customer["id"])

    response = api.put(f"/customers/{customer['id']}", json={"name": "Renamed"})

    assert response.status_code == 409
    assert is_sentence(response.json()["message"])
    assert stored_customer(customer["id"]) == before


def test_a_deleted_customer_is_409_before_a_field_error(api):
    customer = api.make_customer()
    assert api.delete(f"/customers/{customer['id']}").status_code == 204

    assert api.put(f"/customers/{customer['id']}", json={"name": ""}).status_code == 409


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("PUT", ""), ("DELETE", ""), ("PUT", "/restore")])
@pytest.mark.parametrize("customer_id", [MISSING_ID, "not-a-uuid", "12345", "0190f1c2000070008000000000000000x"])
def test_unknown_or_malformed_ids_are_404(api, method, suffix, customer_id):
    response = api.request(method, f"/customers/{customer_id}{suffix}", json={"name": "Renamed"})

    assert response.status_code == 404
    assert is_sentence(response.json()["message"])


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("PUT", ""), ("DELETE", ""), ("PUT", "/restore")])
def test_another_business_customer_is_a_404_like_a_missing_one(api, other_api, stored_customer, method, suffix):
    theirs = other_api.make_customer()
    before = stored_customer(theirs["id"])

    response = api.request(method, f"/customers/{theirs['id']}{suffix}", json={"name": "Renamed"})
    missing = api.request(method, f"/customers/{MISSING_ID}{suffix}", json={"name": "Renamed"})

    assert response.status_code == 404
    assert response.json() == missing.json()
    assert stored_customer(theirs["id"]) == before


def test_include_works_on_create_and_update_responses(api):
    tag = api.make_tag()
    created = api.post(
        "/customers?include=tags,addresses",
        json={"name": "Simona", "dial_code": 966, "phone": next_phone(), "tags": [{"id": tag["id"]}]},
    )
    assert created.status_code == 201
    assert [item["id"] for item in created.json()["data"]["tags"]] == [tag["id"]]
    assert created.json()["data"]["addresses"] == []

    customer_id = created.json()["data"]["id"]
    address = api.make_address(customer_id)
    updated = api.put(f"/customers/{customer_id}?include=addresses.delivery_zone", json={"name": "Renamed"})
    assert updated.status_code == 200
    assert [item["id"] for item in updated.json()["data"]["addresses"]] == [address["id"]]
    assert "delivery_zone" in updated.json()["data"]["addresses"][0]
    assert "tags" not in updated.json()["data"]


def test_an_unknown_include_on_create_is_400_and_stores_nothing(api, stored_customers):
    response = api.post("/customers?include=orders", json={"name": "Simona", "dial_code": 966, "phone": next_phone()})

    assert response.status_code == 400
    assert stored_customers() == []


def test_an_unknown_include_on_update_is_400_and_changes_nothing(api, stored_customer):
    customer = api.make_customer()
    before = stored_customer(customer["id"])

    response = api.put(f"/customers/{customer['id']}?include=orders", json={"name": "Renamed"})

    assert response.status_code == 400
    assert stored_customer(customer["id"]) == before


def test_put_needs_customers_write(api, api_with, stored_customer):
    customer = api.make_customer()
    before = stored_customer(customer["id"])

    response = api_with(*all_scopes_but(scope.CUSTOMERS_WRITE)).put(
        f"/customers/{customer['id']}", json={"name": "Renamed"}
    )

    assert response.status_code == 403
    assert scope.CUSTOMERS_WRITE in response.json()["message"]
    assert stored_customer(customer["id"]) == before
