"""`PUT /tags/{id}/restore` (SPEC §8): 200 with the tag, idempotent, 409 when its name is taken."""

from clientele.auth import scopes as scope
from tests.customers.conftest import all_scopes_but, is_sentence


def deleted_tag(api, **fields):
    tag = api.make_tag(**fields)
    assert api.delete(f"/tags/{tag['id']}").status_code == 204
    return tag


def test_restore_is_200_with_the_tag_and_clears_deleted_at(api, stored_tag):
    tag = deleted_tag(api)
    deleted = stored_tag(tag["id"])

    response = api.put(f"/tags/{tag['id']}/restore")

    assert response.status_code == 200, response.text
    assert response.json()["data"]["deleted_at"] is None
    assert response.json()["data"] == api.get(f"/tags/{tag['id']}").json()["data"]
    restored = stored_tag(tag["id"])
    assert restored["deleted_at"] is None
    assert restored["updated_at"] > deleted["updated_at"]
    assert [listed["id"] for listed in api.get("/tags").json()["data"]] == [tag["id"]]


def test_restore_is_idempotent(api, stored_tag):
    tag = deleted_tag(api)
    first = api.put(f"/tags/{tag['id']}/restore")
    after_first = stored_tag(tag["id"])

    second = api.put(f"/tags/{tag['id']}/restore")

    assert second.status_code == 200
    assert second.json() == first.json()
    assert stored_tag(tag["id"]) == after_first


def test_restoring_an_active_tag_changes_nothing(api, stored_tag):
    tag = api.make_tag()
    before = stored_tag(tag["id"])

    response = api.put(f"/tags/{tag['id']}/restore")

    assert response.status_code == 200
    assert response.json()["data"] == tag
    assert stored_tag(tag["id"]) == before


def test_restore_is_409_when_an_active_tag_has_taken_the_name(api, stored_tag):
    tag = deleted_tag(api, name="VIP")
    api.make_tag(name="VIP")
    before = stored_tag(tag["id"])

    response = api.put(f"/tags/{tag['id']}/restore")

    assert response.status_code == 409, response.text
    assert is_sentence(response.json()["message"])
    assert "name" in response.json()["errors"]
    assert stored_tag(tag["id"]) == before


def test_a_deleted_tag_with_the_same_name_does_not_block_a_restore(api):
    first = deleted_tag(api, name="Gold")
    second = deleted_tag(api, name="Gold")

    assert api.put(f"/tags/{first['id']}/restore").status_code == 200
    assert api.put(f"/tags/{second['id']}/restore").status_code == 409


def test_restore_needs_general_write(api, api_with, stored_tag):
    tag = deleted_tag(api)
    before = stored_tag(tag["id"])

    for client in (api_with(*all_scopes_but(scope.GENERAL_WRITE)), api_with(scope.GENERAL_READ)):
        response = client.put(f"/tags/{tag['id']}/restore")
        assert response.status_code == 403
        assert scope.GENERAL_WRITE in response.json()["message"]
    assert stored_tag(tag["id"]) == before
    assert api_with(scope.GENERAL_WRITE).put(f"/tags/{tag['id']}/restore").status_code == 200


def test_restore_of_another_business_tag_is_404(api, other_api, stored_tag):
    theirs = deleted_tag(other_api)
    before = stored_tag(theirs["id"])

    response = api.put(f"/tags/{theirs['id']}/restore")

    assert response.status_code == 404
    assert stored_tag(theirs["id"]) == before


def test_customers_that_still_held_the_tag_hold_it_again(api):
    tag = api.make_tag()
    kept = api.make_customer(tags=[{"id": tag["id"]}])
    assert api.delete(f"/tags/{tag['id']}").status_code == 204
    assert api.get(f"/customers/{kept['id']}", params={"include": "tags"}).json()["data"]["tags"] == []

    assert api.put(f"/tags/{tag['id']}/restore").status_code == 200

    shown = api.get(f"/customers/{kept['id']}", params={"include": "tags"}).json()["data"]["tags"]
    assert [held["id"] for held in shown] == [tag["id"]]


def test_a_restored_tag_can_be_updated_again(api):
    tag = deleted_tag(api)
    assert api.put(f"/tags/{tag['id']}", json={"name": "Again"}).status_code == 409
    assert api.put(f"/tags/{tag['id']}/restore").status_code == 200

    response = api.put(f"/tags/{tag['id']}", json={"name": "Again"})

    assert response.status_code == 200
    assert response.json()["data"]["name"] == "Again"
