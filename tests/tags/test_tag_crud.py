"""Tags: create, read, update, soft delete (SPEC §6), and the bodies and statuses a client sees."""

import uuid

import pytest

TAG_FIELDS = {"id", "name", "name_localized", "created_at", "updated_at", "deleted_at"}


def test_create_returns_the_tag_with_its_location(api):
    response = api.post("/tags", json={"name": "VIP", "name_localized": "كبار الشخصيات"})

    assert response.status_code == 201, response.text
    tag = response.json()["data"]
    assert set(tag) == TAG_FIELDS
    assert (tag["name"], tag["name_localized"], tag["deleted_at"]) == ("VIP", "كبار الشخصيات", None)
    assert uuid.UUID(tag["id"])
    assert tag["created_at"] == tag["updated_at"]
    assert response.headers["location"] == f"http://testserver/tags/{tag['id']}"


def test_create_without_name_localized_stores_null(api):
    tag = api.create("/tags", {"name": "Regular"})

    assert tag["name_localized"] is None


def test_create_ignores_unknown_and_read_only_fields(api):
    tag = api.create(
        "/tags", {"name": "VIP", "id": str(uuid.uuid4()), "deleted_at": "2020-01-01 00:00:00", "colour": "gold"}
    )

    assert tag["deleted_at"] is None
    assert api.get(f"/tags/{tag['id']}").status_code == 200


def test_get_returns_the_stored_tag(api):
    tag = api.make_tag(name="VIP")

    response = api.get(f"/tags/{tag['id']}")

    assert response.status_code == 200
    assert response.json() == {"data": tag}


def test_routes_are_served_under_v5_too(api):
    tag = api.create("/v5/tags", {"name": "VIP"})

    assert api.get(f"/v5/tags/{tag['id']}").json()["data"] == tag
    assert api.get("/v5/tags").json()["data"] == [tag]


def test_update_changes_only_the_fields_sent(api):
    tag = api.make_tag(name="VIP", name_localized="Important")

    response = api.put(f"/tags/{tag['id']}", json={"name": "Gold"})

    assert response.status_code == 200, response.text
    updated = response.json()["data"]
    assert (updated["name"], updated["name_localized"]) == ("Gold", "Important")
    assert api.get(f"/tags/{tag['id']}").json()["data"] == updated


def test_update_can_clear_name_localized(api):
    tag = api.make_tag(name_localized="Important")

    updated = api.put(f"/tags/{tag['id']}", json={"name_localized": None}).json()["data"]

    assert updated["name_localized"] is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "VIP"},
        {"name": "  VIP  "},
        {"name_localized": None},
        {"name": "VIP", "name_localized": None, "unknown": 1},
    ],
)
def test_updated_at_moves_only_when_a_stored_value_changes(api, stored_tag, body):
    tag = api.make_tag(name="VIP")
    before = stored_tag(tag["id"])

    response = api.put(f"/tags/{tag['id']}", json=body)

    assert response.status_code == 200, response.text
    assert stored_tag(tag["id"]) == before


def test_updated_at_moves_when_the_name_changes(api, stored_tag):
    tag = api.make_tag(name="VIP")
    before = stored_tag(tag["id"])

    api.put(f"/tags/{tag['id']}", json={"name": "Gold"})

    after = stored_tag(tag["id"])
    assert after["updated_at"] > before["updated_at"]
    assert after["created_at"] == before["created_at"]


def test_delete_is_soft(api):
    tag = api.make_tag()

    response = api.delete(f"/tags/{tag['id']}")

    assert response.status_code == 204
    assert response.content == b""
    shown = api.get(f"/tags/{tag['id']}").json()["data"]
    assert shown["deleted_at"] is not None
    assert shown["name"] == tag["name"]


def test_delete_twice_is_204_and_keeps_the_first_deleted_at(api, stored_tag):
    tag = api.make_tag()
    api.delete(f"/tags/{tag['id']}")
    first = stored_tag(tag["id"])

    response = api.delete(f"/tags/{tag['id']}")

    assert response.status_code == 204
    assert stored_tag(tag["id"]) == first


def test_deleted_tag_leaves_the_list(api):
    kept, gone = api.make_tag(), api.make_tag()
    api.delete(f"/tags/{gone['id']}")

    assert [tag["id"] for tag in api.get("/tags").json()["data"]] == [kept["id"]]


def test_update_of_a_deleted_tag_is_a_conflict(api, stored_tag):
    tag = api.make_tag(name="VIP")
    api.delete(f"/tags/{tag['id']}")
    before = stored_tag(tag["id"])

    response = api.put(f"/tags/{tag['id']}", json={"name": "Gold"})

    assert response.status_code == 409, response.text
    assert response.json()["message"]
    assert stored_tag(tag["id"]) == before


def test_conflict_comes_before_field_errors(api):
    tag = api.make_tag()
    api.delete(f"/tags/{tag['id']}")

    assert api.put(f"/tags/{tag['id']}", json={"name": ""}).status_code == 409


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_another_business_tag_is_not_found(api, other_api, stored_tag, method):
    theirs = other_api.make_tag(name="Theirs")
    before = stored_tag(theirs["id"])

    response = api.request(method, f"/tags/{theirs['id']}", json={"name": "Mine now"})

    assert response.status_code == 404
    assert response.json() == {"message": "Tag not found."}
    assert stored_tag(theirs["id"]) == before


@pytest.mark.parametrize("tag_id", ["not-a-uuid", "123", str(uuid.uuid4())])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_missing_or_malformed_id_is_not_found(api, method, tag_id):
    response = api.request(method, f"/tags/{tag_id}", json={"name": "x"})

    assert response.status_code == 404
    assert response.json() == {"message": "Tag not found."}


@pytest.mark.parametrize("content", [b"not json", b"[1, 2]", b'"VIP"', b"null"])
def test_body_that_is_not_a_json_object_is_refused(api, content):
    tag = api.make_tag()
    headers = {"Content-Type": "application/json"}

    assert api.post("/tags", content=content, headers=headers).status_code == 400
    assert api.put(f"/tags/{tag['id']}", content=content, headers=headers).status_code == 400


def test_malformed_body_is_refused_before_the_tag_is_looked_up(api):
    response = api.put(f"/tags/{uuid.uuid4()}", content=b"{", headers={"Content-Type": "application/json"})

    assert response.status_code == 400


def test_body_over_one_mebibyte_is_refused(api):
    response = api.post("/tags", json={"name": "VIP", "padding": "x" * (1024 * 1024)})

    assert response.status_code == 413
