"""SPEC §5: soft delete and restore of customers."""

from clientele.auth import scopes as scope
from tests.conftest import next_phone
from tests.customers.conftest import all_scopes_but, is_sentence


def test_delete_is_204_without_a_body(api):
    customer = api.make_customer()

    response = api.delete(f"/customers/{customer['id']}")

    assert response.status_code == 204
    assert response.content == b""


def test_delete_is_soft_and_the_customer_is_still_returned_with_deleted_at(api, stored_customer):
    customer = api.make_customer(email="simona@example.net")
    assert api.delete(f"/customers/{customer['id']}").status_code == 204

    response = api.get(f"/customers/{customer['id']}")

    assert response.status_code == 200
    shown = response.json()["data"]
    row = stored_customer(customer["id"])
    assert row["deleted_at"] is not None
    assert shown["deleted_at"] == row["deleted_at"].strftime("%Y-%m-%d %H:%M:%S")
    assert shown["email"] == "simona@example.net"


def test_deleting_again_is_204_and_keeps_the_first_deleted_at(api, stored_customer):
    customer = api.make_customer()
    assert api.delete(f"/customers/{customer['id']}").status_code == 204
    first = stored_customer(customer["id"])

    response = api.delete(f"/customers/{customer['id']}")

    assert response.status_code == 204
    assert stored_customer(customer["id"]) == first


def test_delete_moves_updated_at(api, stored_customer):
    customer = api.make_customer()
    before = stored_customer(customer["id"])

    assert api.delete(f"/customers/{customer['id']}").status_code == 204

    assert stored_customer(customer["id"])["updated_at"] > before["updated_at"]


def test_delete_needs_admin_write(api, api_with, stored_customer):
    customer = api.make_customer()
    before = stored_customer(customer["id"])

    response = api_with(*all_scopes_but(scope.ADMIN_WRITE)).delete(f"/customers/{customer['id']}")

    assert response.status_code == 403
    assert scope.ADMIN_WRITE in response.json()["message"]
    assert stored_customer(customer["id"]) == before


def test_admin_write_alone_may_delete(api, api_with, stored_customer):
    customer = api.make_customer()

    assert api_with(scope.ADMIN_WRITE).delete(f"/customers/{customer['id']}").status_code == 204
    assert stored_customer(customer["id"])["deleted_at"] is not None


def test_restore_is_200_with_the_customer_and_clears_deleted_at(api, stored_customer):
    customer = api.make_customer()
    assert api.delete(f"/customers/{customer['id']}").status_code == 204
    deleted = stored_customer(customer["id"])

    response = api.put(f"/customers/{customer['id']}/restore")

    assert response.status_code == 200, response.text
    assert response.json()["data"]["deleted_at"] is None
    assert response.json()["data"] == api.get(f"/customers/{customer['id']}").json()["data"]
    restored = stored_customer(customer["id"])
    assert restored["deleted_at"] is None
    assert restored["updated_at"] > deleted["updated_at"]


def test_restore_is_idempotent(api, stored_customer):
    customer = api.make_customer()
    assert api.delete(f"/customers/{customer['id']}").status_code == 204
    first = api.put(f"/customers/{customer['id']}/restore")
    after_first = stored_customer(customer["id"])

    second = api.put(f"/customers/{customer['id']}/restore")

    assert second.status_code == 200
    assert second.json() == first.json()
    assert stored_customer(customer["id"]) == after_first


def test_restoring_an_active_customer_changes_nothing(api, stored_customer):
    customer = api.make_customer()
    before = stored_customer(customer["id"])

    response = api.put(f"/customers/{customer['id']}/restore")

    assert response.status_code == 200
    assert response.json()["data"] == customer
    assert stored_customer(customer["id"]) == before


def test_a_restored_customer_can_be_updated_again(api):
    customer = api.make_customer()
    assert api.delete(f"/customers/{customer['id']}").status_code == 204
    assert api.put(f"/customers/{customer['id']}/restore").status_code == 200

    response = api.put(f"/customers/{customer['id']}", json={"name": "Back"})

    assert response.status_code == 200
    assert response.json()["data"]["name"] == "Back"


def test_restore_is_409_when_an_active_customer_has_taken_the_phone(api, stored_customer):
    phone = next_phone()
    first = api.make_customer(phone=phone)
    assert api.delete(f"/customers/{first['id']}").status_code == 204
    api.make_customer(phone=f"0{phone}")
    before = stored_customer(first["id"])

    response = api.put(f"/customers/{first['id']}/restore")

    assert response.status_code == 409, response.text
    assert is_sentence(response.json()["message"])
    assert stored_customer(first["id"]) == before


def test_a_deleted_customer_with_the_same_phone_does_not_block_a_restore(api):
    phone = next_phone()
    first = api.make_customer(phone=phone)
    assert api.delete(f"/customers/{first['id']}").status_code == 204
    second = api.make_customer(phone=phone)
    assert api.delete(f"/customers/{second['id']}").status_code == 204

    assert api.put(f"/customers/{first['id']}/restore").status_code == 200
    assert api.put(f"/customers/{second['id']}/restore").status_code == 409


def test_restore_needs_admin_restore(api, api_with, stored_customer):
    customer = api.make_customer()
    assert api.delete(f"/customers/{customer['id']}").status_code == 204
    before = stored_customer(customer["id"])

    response = api_with(*all_scopes_but(scope.ADMIN_RESTORE)).put(f"/customers/{customer['id']}/restore")

    assert response.status_code == 403
    assert scope.ADMIN_RESTORE in response.json()["message"]
    assert stored_customer(customer["id"]) == before


def test_admin_restore_alone_may_restore(api, api_with):
    customer = api.make_customer()
    assert api.delete(f"/customers/{customer['id']}").status_code == 204

    response = api_with(scope.ADMIN_RESTORE).put(f"/customers/{customer['id']}/restore")

    assert response.status_code == 200
    assert response.json()["data"]["deleted_at"] is None


def test_include_works_on_restore(api):
    tag = api.make_tag()
    customer = api.make_customer(tags=[{"id": tag["id"]}])
    assert api.delete(f"/customers/{customer['id']}").status_code == 204

    response = api.put(f"/customers/{customer['id']}/restore?include=tags")

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["data"]["tags"]] == [tag["id"]]


def test_delete_and_restore_are_served_under_v5(api):
    customer = api.make_customer()

    assert api.delete(f"/v5/customers/{customer['id']}").status_code == 204
    assert api.put(f"/v5/customers/{customer['id']}/restore").status_code == 200
