"""`PUT /delivery_zones/{id}/restore` (SPEC §8): 200 with the zone, idempotent, 409 when its reference
is taken."""

from clientele.auth import scopes as scope
from tests.customers.conftest import all_scopes_but, is_sentence


def deleted_zone(api, **fields):
    zone = api.make_zone(**fields)
    assert api.delete(f"/delivery_zones/{zone['id']}").status_code == 204
    return zone


def test_restore_is_200_with_the_zone_and_clears_deleted_at(api, stored_zone):
    zone = deleted_zone(api, reference="OL-1", branches=[{"id": "b-1"}])
    deleted = stored_zone(zone["id"])

    response = api.put(f"/delivery_zones/{zone['id']}/restore", params={"include": "branches"})

    assert response.status_code == 200, response.text
    shown = response.json()["data"]
    assert shown["deleted_at"] is None
    assert shown["branches"] == [{"id": "b-1"}]
    assert shown == api.get(f"/delivery_zones/{zone['id']}", params={"include": "branches"}).json()["data"]
    restored = stored_zone(zone["id"])
    assert restored["deleted_at"] is None
    assert restored["updated_at"] > deleted["updated_at"]
    assert [listed["id"] for listed in api.get("/delivery_zones").json()["data"]] == [zone["id"]]


def test_restore_is_idempotent(api, stored_zone):
    zone = deleted_zone(api)
    first = api.put(f"/delivery_zones/{zone['id']}/restore")
    after_first = stored_zone(zone["id"])

    second = api.put(f"/delivery_zones/{zone['id']}/restore")

    assert second.status_code == 200
    assert second.json() == first.json()
    assert stored_zone(zone["id"]) == after_first


def test_restoring_an_active_zone_changes_nothing(api, stored_zone):
    zone = api.make_zone()
    before = stored_zone(zone["id"])

    response = api.put(f"/delivery_zones/{zone['id']}/restore")

    assert response.status_code == 200
    assert response.json()["data"] == zone
    assert stored_zone(zone["id"]) == before


def test_restore_is_409_when_an_active_zone_has_taken_the_reference(api, stored_zone):
    zone = deleted_zone(api, reference="OL-1")
    api.make_zone(reference="OL-1")
    before = stored_zone(zone["id"])

    response = api.put(f"/delivery_zones/{zone['id']}/restore")

    assert response.status_code == 409, response.text
    assert is_sentence(response.json()["message"])
    assert "reference" in response.json()["errors"]
    assert stored_zone(zone["id"]) == before


def test_zones_without_a_reference_restore_side_by_side(api):
    first, second = deleted_zone(api, name="Same"), deleted_zone(api, name="Same")

    assert api.put(f"/delivery_zones/{first['id']}/restore").status_code == 200
    assert api.put(f"/delivery_zones/{second['id']}/restore").status_code == 200


def test_restore_needs_general_write(api, api_with, stored_zone):
    zone = deleted_zone(api)
    before = stored_zone(zone["id"])

    for client in (api_with(*all_scopes_but(scope.GENERAL_WRITE)), api_with(scope.GENERAL_READ)):
        response = client.put(f"/delivery_zones/{zone['id']}/restore")
        assert response.status_code == 403
        assert scope.GENERAL_WRITE in response.json()["message"]
    assert stored_zone(zone["id"]) == before


def test_restore_of_another_business_zone_is_404(api, other_api, stored_zone):
    theirs = deleted_zone(other_api)
    before = stored_zone(theirs["id"])

    response = api.put(f"/delivery_zones/{theirs['id']}/restore")

    assert response.status_code == 404
    assert response.json() == {"message": "Delivery zone not found."}
    assert stored_zone(theirs["id"]) == before


def test_a_restored_zone_shows_again_in_its_addresses_includes(api):
    zone = api.make_zone()
    address = api.make_address(api.make_customer()["id"], delivery_zone_id=zone["id"])
    assert api.delete(f"/delivery_zones/{zone['id']}").status_code == 204

    assert api.put(f"/delivery_zones/{zone['id']}/restore").status_code == 200

    included = api.get(f"/addresses/{address['id']}", params={"include": "delivery_zone"}).json()["data"]
    assert included["delivery_zone"]["id"] == zone["id"]
