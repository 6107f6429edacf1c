"""Creating, reading, updating and soft-deleting addresses."""

ADDRESS_FIELDS = {
    "id",
    "name",
    "description",
    "latitude",
    "longitude",
    "city_id",
    "details",
    "customer",
    "delivery_zone",
    "created_at",
    "updated_at",
    "deleted_at",
}


def test_create_returns_the_address_with_stubs_and_its_location(api):
    customer = api.make_customer()
    zone = api.make_zone()

    response = api.post(
        "/addresses",
        json={
            "name": "Home",
            "description": "Gate 3, second floor",
            "latitude": "24.7136",
            "longitude": "46.6753",
            "customer_id": customer["id"],
            "delivery_zone_id": zone["id"],
        },
    )

    assert response.status_code == 201
    address = response.json()["data"]
    assert set(address) == ADDRESS_FIELDS
    assert address["name"] == "Home"
    assert address["description"] == "Gate 3, second floor"
    assert (address["latitude"], address["longitude"]) == ("24.7136", "46.6753")
    assert address["customer"] == {"id": customer["id"]}
    assert address["delivery_zone"] == {"id": zone["id"]}
    assert address["deleted_at"] is None
    assert address["created_at"] == address["updated_at"]
    assert response.headers["Location"] == f"http://testserver/addresses/{address['id']}"


def test_an_address_without_a_zone_shows_delivery_zone_null(api):
    address = api.make_address(api.make_customer()["id"])

    assert address["delivery_zone"] is None
    assert (address["description"], address["latitude"], address["longitude"]) == (None, None, None)


def test_latitude_and_longitude_sent_as_numbers_are_shown_as_decimal_strings(api):
    address = api.make_address(api.make_customer()["id"], latitude=-33.8688, longitude=151)

    assert (address["latitude"], address["longitude"]) == ("-33.8688", "151")


def test_created_address_reads_back_the_same(api):
    created = api.make_address(api.make_customer()["id"], delivery_zone_id=api.make_zone()["id"], latitude="1.5")

    response = api.get(f"/addresses/{created['id']}")

    assert response.status_code == 200
    assert response.json() == {"data": created}


def test_routes_are_served_under_v5_too(api):
    customer = api.make_customer()

    response = api.post("/v5/addresses", json={"name": "Work", "customer_id": customer["id"]})

    assert response.status_code == 201
    address_id = response.json()["data"]["id"]
    assert response.headers["Location"] == f"http://testserver/v5/addresses/{address_id}"
    assert api.get(f"/v5/addresses/{address_id}").json()["data"]["name"] == "Work"


def test_unknown_and_read_only_fields_in_a_body_are_ignored(api):
    customer = api.make_customer()

    response = api.post(
        "/addresses",
        json={
            "name": "Home",
            "customer_id": customer["id"],
            "id": "mine",
            "customer": {"id": "elsewhere"},
            "floor": 3,
            "deleted_at": "2000-01-01 00:00:00",
        },
    )

    assert response.status_code == 201
    address = response.json()["data"]
    assert address["id"] != "mine"
    assert address["customer"] == {"id": customer["id"]}
    assert address["deleted_at"] is None
    assert "floor" not in address


def test_update_changes_only_the_fields_sent(api):
    customer = api.make_customer()
    zone = api.make_zone()
    address = api.make_address(
        customer["id"], description="old", latitude="10", longitude="20", delivery_zone_id=zone["id"]
    )

    response = api.put(f"/addresses/{address['id']}", json={"description": "new"})

    assert response.status_code == 200
    updated = response.json()["data"]
    assert updated == address | {"description": "new", "updated_at": updated["updated_at"]}


def test_update_moves_the_address_to_another_customer_and_zone(api):
    address = api.make_address(api.make_customer()["id"], delivery_zone_id=api.make_zone()["id"])
    customer = api.make_customer()
    zone = api.make_zone()

    updated = api.put(
        f"/addresses/{address['id']}", json={"customer_id": customer["id"], "delivery_zone_id": zone["id"]}
    ).json()["data"]

    assert updated["customer"] == {"id": customer["id"]}
    assert updated["delivery_zone"] == {"id": zone["id"]}


def test_update_with_null_clears_the_zone_and_the_optional_fields(api):
    address = api.make_address(
        api.make_customer()["id"], delivery_zone_id=api.make_zone()["id"], description="d", latitude="1", longitude="2"
    )

    updated = api.put(
        f"/addresses/{address['id']}",
        json={"delivery_zone_id": None, "description": None, "latitude": None, "longitude": ""},
    ).json()["data"]

    assert updated["delivery_zone"] is None
    assert (updated["description"], updated["latitude"], updated["longitude"]) == (None, None, None)


def test_updated_at_moves_only_when_a_stored_value_changes(api, stored_address):
    customer = api.make_customer()
    address = api.make_address(customer["id"], name="Same", latitude="24.5")
    created = stored_address(address["id"])["updated_at"]

    api.put(
        f"/addresses/{address['id']}",
        json={"name": "Same", "latitude": 24.5, "customer_id": customer["id"], "delivery_zone_id": None},
    )
    assert stored_address(address["id"])["updated_at"] == created

    api.put(f"/addresses/{address['id']}", json={"description": "now described"})
    assert stored_address(address["id"])["updated_at"] > created


def test_update_of_a_deleted_address_is_a_conflict_and_changes_nothing(api, stored_address):
    address = api.make_address(api.make_customer()["id"])
    api.delete(f"/addresses/{address['id']}")
    before = stored_address(address["id"])

    response = api.put(f"/addresses/{address['id']}", json={"name": "Back"})

    assert response.status_code == 409
    assert response.json()["message"] == "A deleted address cannot be updated."
    assert stored_address(address["id"]) == before


def test_delete_is_soft_and_answers_204_without_a_body(api):
    address = api.make_address(api.make_customer()["id"])

    response = api.delete(f"/addresses/{address['id']}")

    assert response.status_code == 204
    assert response.content == b""
    shown = api.get(f"/addresses/{address['id']}").json()["data"]
    assert shown["deleted_at"] is not None
    assert shown["name"] == address["name"]


def test_deleting_again_answers_204_and_keeps_the_first_deleted_at(api, stored_address):
    address = api.make_address(api.make_customer()["id"])
    api.delete(f"/addresses/{address['id']}")
    first = stored_address(address["id"])

    response = api.delete(f"/addresses/{address['id']}")

    assert response.status_code == 204
    assert stored_address(address["id"]) == first


def test_delete_moves_updated_at_so_a_sync_sees_it(api, stored_address):
    address = api.make_address(api.make_customer()["id"])
    before = stored_address(address["id"])["updated_at"]

    api.delete(f"/addresses/{address['id']}")

    after = stored_address(address["id"])
    assert after["updated_at"] > before
    assert after["updated_at"] == after["deleted_at"]


def test_a_deleted_customer_keeps_its_addresses_readable(api):
    customer = api.make_customer()
    address = api.make_address(customer["id"])
    api.delete(f"/customers/{customer['id']}")

    response = api.get(f"/addresses/{address['id']}")

    assert response.status_code == 200
    assert response.json()["data"]["deleted_at"] is None
