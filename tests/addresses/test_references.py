"""An address belongs to a live customer of the business, and optionally to a live zone of it."""

import uuid

import pytest

CUSTOMER_INVALID = {"customer_id": ["The selected customer_id is invalid."]}
ZONE_INVALID = {"delivery_zone_id": ["The selected delivery_zone_id is invalid."]}


def unique_name() -> str:
    return f"address-{uuid.uuid4().hex[:12]}"


@pytest.mark.parametrize("customer_id", ["not-a-uuid", str(uuid.uuid4()), 42])
def test_customer_id_must_name_an_existing_customer(api, addresses_named, customer_id):
    name = unique_name()

    response = api.post("/addresses", json={"name": name, "customer_id": customer_id})

    assert response.status_code == 422
    assert response.json() == {"message": "The selected customer_id is invalid.", "errors": CUSTOMER_INVALID}
    assert addresses_named(name) == 0


def test_customer_id_of_a_deleted_customer_is_422(api, addresses_named):
    customer = api.make_customer()
    api.delete(f"/customers/{customer['id']}")
    name = unique_name()

    response = api.post("/addresses", json={"name": name, "customer_id": customer["id"]})

    assert response.status_code == 422
    assert response.json()["errors"] == CUSTOMER_INVALID
    assert addresses_named(name) == 0


def test_customer_id_of_another_business_is_422(api, other_api, addresses_named):
    theirs = other_api.make_customer()
    name = unique_name()

    response = api.post("/addresses", json={"name": name, "customer_id": theirs["id"]})

    assert response.status_code == 422
    assert response.json()["errors"] == CUSTOMER_INVALID
    assert addresses_named(name) == 0


@pytest.mark.parametrize("zone_id", ["not-a-uuid", str(uuid.uuid4()), 7])
def test_delivery_zone_id_must_name_an_existing_zone(api, addresses_named, zone_id):
    name = unique_name()

    response = api.post(
        "/addresses", json={"name": name, "customer_id": api.make_customer()["id"], "delivery_zone_id": zone_id}
    )

    assert response.status_code == 422
    assert response.json()["errors"] == ZONE_INVALID
    assert addresses_named(name) == 0


def test_delivery_zone_id_of_a_deleted_zone_is_422(api, addresses_named):
    zone = api.make_zone()
    api.delete(f"/delivery_zones/{zone['id']}")
    name = unique_name()

    response = api.post(
        "/addresses", json={"name": name, "customer_id": api.make_customer()["id"], "delivery_zone_id": zone["id"]}
    )

    assert response.status_code == 422
    assert response.json()["errors"] == ZONE_INVALID
    assert addresses_named(name) == 0


def test_delivery_zone_id_of_another_business_is_422(api, other_api, addresses_named):
    theirs = other_api.make_zone()
    name = unique_name()

    response = api.post(
        "/addresses", json={"name": name, "customer_id": api.make_customer()["id"], "delivery_zone_id": theirs["id"]}
    )

    assert response.status_code == 422
    assert response.json()["errors"] == ZONE_INVALID
    assert addresses_named(name) == 0


def test_a_null_delivery_zone_id_means_no_zone(api):
    address = api.make_address(api.make_customer()["id"], delivery_zone_id=None)

    assert address["delivery_zone"] is None


def test_both_bad_references_are_named_at_once(api):
    response = api.post(
        "/addresses", json={"name": "Home", "customer_id": str(uuid.uuid4()), "delivery_zone_id": str(uuid.uuid4())}
    )

    assert response.status_code == 422
    assert response.json()["errors"] == CUSTOMER_INVALID | ZONE_INVALID


def test_field_errors_are_reported_before_references_are_looked_up(api):
    response = api.post("/addresses", json={"name": "", "customer_id": str(uuid.uuid4())})

    assert response.status_code == 422
    assert response.json()["errors"] == {"name": ["The name field is required."]}


@pytest.mark.parametrize(
    ("case", "errors"),
    [
        ("deleted customer", CUSTOMER_INVALID),
        ("other business customer", CUSTOMER_INVALID),
        ("deleted zone", ZONE_INVALID),
        ("other business zone", ZONE_INVALID),
    ],
)
def test_update_checks_the_references_it_is_sent(api, other_api, stored_address, case, errors):
    deleted_customer = api.make_customer()
    api.delete(f"/customers/{deleted_customer['id']}")
    deleted_zone = api.make_zone()
    api.delete(f"/delivery_zones/{deleted_zone['id']}")
    bodies = {
        "deleted customer": {"customer_id": deleted_customer["id"]},
        "other business customer": {"customer_id": other_api.make_customer()["id"]},
        "deleted zone": {"delivery_zone_id": deleted_zone["id"]},
        "other business zone": {"delivery_zone_id": other_api.make_zone()["id"]},
    }
    address = api.make_address(api.make_customer()["id"])
    before = stored_address(address["id"])

    response = api.put(f"/addresses/{address['id']}", json=bodies[case] | {"name": "renamed"})

    assert response.status_code == 422
    assert response.json()["errors"] == errors
    assert stored_address(address["id"]) == before


def test_update_that_leaves_out_the_references_does_not_check_them(api):
    customer = api.make_customer()
    zone = api.make_zone()
    address = api.make_address(customer["id"], delivery_zone_id=zone["id"])
    api.delete(f"/delivery_zones/{zone['id']}")
    api.delete(f"/customers/{customer['id']}")

    response = api.put(f"/addresses/{address['id']}", json={"name": "renamed"})

    assert response.status_code == 200
    assert response.json()["data"]["delivery_zone"] == {"id": zone["id"]}
