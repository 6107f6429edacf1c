"""SPEC §4: what makes two phones one, and one active customer per phone."""

import threading

from tests.conftest import next_phone
from tests.customers.conftest import assert_field_error


def test_trunk_prefix_is_dropped_so_both_forms_are_one_phone(api, stored_customer):
    phone = next_phone()
    customer = api.make_customer(dial_code=966, phone=f"0{phone}")

    assert customer["phone"] == phone
    assert stored_customer(customer["id"])["phone"] == phone
    assert_field_error(api.post("/customers", json={"name": "Twin", "dial_code": 966, "phone": phone}), "phone")


def test_the_sample_number_with_and_without_its_trunk_prefix_is_one_phone(api):
    assert api.make_customer(dial_code=966, phone="0565445254")["phone"] == "565445254"
    assert_field_error(api.post("/customers", json={"name": "Twin", "dial_code": 966, "phone": "565445254"}), "phone")


def test_separators_are_stripped(api, stored_customer):
    phone = next_phone()
    customer = api.make_customer(phone=f" ({phone[:2]}) {phone[2:5]}-{phone[5:7]}.{phone[7:]} ")

    assert customer["phone"] == phone
    assert stored_customer(customer["id"])["phone"] == phone


def test_phone_may_be_sent_as_a_json_integer(api):
    phone = next_phone()
    assert api.make_customer(phone=int(phone))["phone"] == phone


def test_phone_is_unique_among_active_customers_on_create(api, stored_customers):
    phone = next_phone()
    api.make_customer(phone=phone)

    response = api.post("/customers", json={"name": "Twin", "dial_code": 966, "phone": f"0{phone[:3]} {phone[3:]}"})

    assert_field_error(response, "phone")
    assert len(stored_customers()) == 1


def test_phone_is_unique_among_active_customers_on_update(api, stored_customer):
    phone = next_phone()
    api.make_customer(phone=phone)
    other = api.make_customer()
    before = stored_customer(other["id"])

    response = api.put(f"/customers/{other['id']}", json={"phone": phone, "name": "Renamed"})

    assert_field_error(response, "phone")
    assert stored_customer(other["id"]) == before


def test_changing_only_the_dial_code_onto_a_taken_phone_is_422(api, stored_customer):
    phone = next_phone()
    api.make_customer(dial_code=971, phone=phone)
    other = api.make_customer(dial_code=966, phone=phone)
    before = stored_customer(other["id"])

    assert_field_error(api.put(f"/customers/{other['id']}", json={"dial_code": 971}), "phone")
    assert stored_customer(other["id"]) == before


def test_changing_the_dial_code_keeps_the_phone_only_if_it_is_possible_there(api, stored_customer):
    customer = api.make_customer(dial_code=966, phone=next_phone())
    before = stored_customer(customer["id"])

    # A nine-digit Saudi mobile number is too short to be a number in the United States.
    assert_field_error(api.put(f"/customers/{customer['id']}", json={"dial_code": 1}), "phone")
    assert stored_customer(customer["id"]) == before


def test_changing_only_the_dial_code_keeps_the_digits_where_they_make_a_phone(api, stored_customer):
    phone = next_phone()
    customer = api.make_customer(dial_code=966, phone=phone)

    response = api.put(f"/customers/{customer['id']}", json={"dial_code": 971})

    assert response.status_code == 200, response.text
    assert (stored_customer(customer["id"])["dial_code"], stored_customer(customer["id"])["phone"]) == (971, phone)


def test_sending_a_customer_its_own_phone_again_is_not_a_clash(api):
    phone = next_phone()
    customer = api.make_customer(phone=phone)

    response = api.put(f"/customers/{customer['id']}", json={"dial_code": 966, "phone": f"0{phone}"})

    assert response.status_code == 200, response.text
    assert response.json()["data"]["phone"] == phone


def test_the_same_digits_under_another_dial_code_are_another_phone(api):
    phone = next_phone()
    api.make_customer(dial_code=966, phone=phone)
    assert api.make_customer(dial_code=971, phone=phone)["dial_code"] == 971


def test_another_business_may_have_a_customer_with_the_same_phone(api, other_api):
    phone = next_phone()
    api.make_customer(phone=phone)
    assert other_api.make_customer(phone=phone)["phone"] == phone


def test_a_deleted_customer_frees_its_phone(api):
    phone = next_phone()
    first = api.make_customer(phone=phone)
    assert api.delete(f"/customers/{first['id']}").status_code == 204

    second = api.make_customer(phone=phone)

    assert second["phone"] == phone
    assert second["id"] != first["id"]


def test_a_deleted_customer_frees_its_phone_for_an_update(api):
    phone = next_phone()
    first = api.make_customer(phone=phone)
    other = api.make_customer()
    assert api.delete(f"/customers/{first['id']}").status_code == 204

    response = api.put(f"/customers/{other['id']}", json={"phone": phone})

    assert response.status_code == 200, response.text


def test_concurrent_creates_of_one_phone_make_exactly_one_customer(api, stored_customers):
    phone = next_phone()
    attempts = 4
    start = threading.Barrier(attempts)
    statuses: list[int] = []
    bodies: list[dict] = []

    def create(index: int) -> None:
        start.wait()
        response = api.post("/customers", json={"name": f"Racer {index}", "dial_code": 966, "phone": phone})
        statuses.append(response.status_code)
        bodies.append(response.json())

    threads = [threading.Thread(target=create, args=(index,)) for index in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201] + [422] * (attempts - 1), bodies
    assert all("phone" in body["errors"] for body in bodies if "errors" in body)
    assert len(stored_customers()) == 1
