"""Creating, reading, updating and soft-deleting delivery zones."""

ZONE_FIELDS = {"id", "name", "name_localized", "reference", "coordinates", "created_at", "updated_at", "deleted_at"}


def test_create_returns_the_zone_with_every_field_and_its_location(api, ring):
    response = api.post(
        "/delivery_zones", json={"name": "Olaya", "name_localized": "العليا", "reference": "OL-1", "coordinates": ring}
    )

    assert response.status_code == 201
    zone = response.json()["data"]
    assert set(zone) == ZONE_FIELDS
    assert zone["name"] == "Olaya"
    assert zone["name_localized"] == "العليا"
    assert zone["reference"] == "OL-1"
    assert zone["coordinates"] == ring
    assert zone["deleted_at"] is None
    assert zone["created_at"] == zone["updated_at"]
    assert response.headers["Location"] == f"http://testserver/delivery_zones/{zone['id']}"


def test_optional_fields_default_to_null(api):
    zone = api.create("/delivery_zones", {"name": "Malaz"})

    assert zone["name_localized"] is None
    assert zone["reference"] is None
    assert zone["coordinates"] is None


def test_created_zone_reads_back_the_same(api, ring):
    created = api.make_zone(reference="R-1", coordinates=ring)

    response = api.get(f"/delivery_zones/{created['id']}")

    assert response.status_code == 200
    assert response.json() == {"data": created}


def test_routes_are_served_under_v5_too(api):
    response = api.post("/v5/delivery_zones", json={"name": "Nakheel"})

    assert response.status_code == 201
    zone_id = response.json()["data"]["id"]
    assert response.headers["Location"] == f"http://testserver/v5/delivery_zones/{zone_id}"
    assert api.get(f"/v5/delivery_zones/{zone_id}").json()["data"]["name"] == "Nakheel"


def test_texts_are_trimmed_and_empty_optional_texts_are_null(api):
    zone = api.create("/delivery_zones", {"name": "  Sulaimaniyah ", "name_localized": "", "reference": "  "})

    assert zone["name"] == "Sulaimaniyah"
    assert zone["name_localized"] is None
    assert zone["reference"] is None


def test_integer_coordinates_read_back_as_numbers_of_the_same_value(api):
    square = [[46, 24], [47, 24], [47, 25], [46, 25], [46, 24]]

    zone = api.create("/delivery_zones", {"name": "Square", "coordinates": square})

    assert zone["coordinates"] == square
    assert api.get(f"/delivery_zones/{zone['id']}").json()["data"]["coordinates"] == square


def test_unknown_and_read_only_fields_in_a_body_are_ignored(api):
    response = api.post(
        "/delivery_zones",
        json={
            "name": "Wurud",
            "id": "mine",
            "created_at": "2000-01-01 00:00:00",
            "deleted_at": "2000-01-01 00:00:00",
            "colour": "red",
        },
    )

    assert response.status_code == 201
    zone = response.json()["data"]
    assert zone["id"] != "mine"
    assert zone["created_at"] != "2000-01-01 00:00:00"
    assert zone["deleted_at"] is None
    assert "colour" not in zone


def test_update_changes_only_the_fields_sent(api, ring):
    zone = api.make_zone(name="Before", name_localized="قبل", reference="R-2", coordinates=ring)

    response = api.put(f"/delivery_zones/{zone['id']}", json={"name": "After"})

    assert response.status_code == 200
    updated = response.json()["data"]
    assert updated["name"] == "After"
    assert {key: updated[key] for key in ("name_localized", "reference", "coordinates")} == {
        "name_localized": "قبل",
        "reference": "R-2",
        "coordinates": ring,
    }
    assert api.get(f"/delivery_zones/{zone['id']}").json()["data"] == updated


def test_update_with_null_clears_the_optional_fields(api, ring):
    zone = api.make_zone(name_localized="x", reference="R-3", coordinates=ring)

    updated = api.put(
        f"/delivery_zones/{zone['id']}", json={"name_localized": None, "reference": None, "coordinates": None}
    ).json()["data"]

    assert (updated["name_localized"], updated["reference"], updated["coordinates"]) == (None, None, None)


def test_a_get_body_can_be_put_back_unchanged(api, ring, stored_zone):
    zone = api.make_zone(reference="R-4", coordinates=ring)
    before = stored_zone(zone["id"])

    response = api.put(f"/delivery_zones/{zone['id']}", json=zone)

    assert response.status_code == 200
    assert response.json()["data"] == zone
    assert stored_zone(zone["id"]) == before


def test_updated_at_moves_only_when_a_stored_value_changes(api, ring, stored_zone):
    zone = api.make_zone(name="Same", coordinates=ring)
    created = stored_zone(zone["id"])["updated_at"]

    api.put(f"/delivery_zones/{zone['id']}", json={"name": "Same", "coordinates": ring, "reference": None})
    assert stored_zone(zone["id"])["updated_at"] == created

    api.put(f"/delivery_zones/{zone['id']}", json={"reference": "NEW"})
    assert stored_zone(zone["id"])["updated_at"] > created


def test_update_of_a_deleted_zone_is_a_conflict_and_changes_nothing(api, stored_zone):
    zone = api.make_zone(name="Gone")
    api.delete(f"/delivery_zones/{zone['id']}")
    before = stored_zone(zone["id"])

    response = api.put(f"/delivery_zones/{zone['id']}", json={"name": "Back"})

    assert response.status_code == 409
    assert response.json()["message"] == "A deleted delivery zone cannot be updated."
    assert stored_zone(zone["id"]) == before


def test_delete_is_soft_and_answers_204_without_a_body(api):
    zone = api.make_zone()

    response = api.delete(f"/delivery_zones/{zone['id']}")

    assert response.status_code == 204
    assert response.content == b""
    shown = api.get(f"/delivery_zones/{zone['id']}").json()["data"]
    assert shown["deleted_at"] is not None
    assert shown["name"] == zone["name"]


def test_deleting_again_answers_204_and_keeps_the_first_deleted_at(api, stored_zone):
    zone = api.make_zone()
    api.delete(f"/delivery_zones/{zone['id']}")
    first = stored_zone(zone["id"])

    response = api.delete(f"/delivery_zones/{zone['id']}")

    assert response.status_code == 204
    assert stored_zone(zone["id"]) == first


def test_delete_moves_updated_at_so_a_sync_sees_it(api, stored_zone):
    zone = api.make_zone()
    before = stored_zone(zone["id"])["updated_at"]

    api.delete(f"/delivery_zones/{zone['id']}")

    after = stored_zone(zone["id"])
    assert after["updated_at"] > before
    assert after["updated_at"] == after["deleted_at"]


def test_a_zone_without_coordinates_stores_sql_null_not_json_null(api, ring, stored):
    cleared = api.make_zone(coordinates=ring)
    api.put(f"/delivery_zones/{cleared['id']}", json={"coordinates": None})
    never = api.make_zone()

    rows = stored(
        "SELECT name FROM delivery_zones WHERE name IN (:cleared, :never) AND coordinates IS NULL",
        cleared=cleared["name"],
        never=never["name"],
    )

    assert sorted(row["name"] for row in rows) == sorted([cleared["name"], never["name"]])
