"""A tag's name: required, 1–255 characters, unique among the business's active tags."""

import pytest
from sqlalchemy.exc import IntegrityError

from clientele.db.clock import utcnow


def name_errors(response) -> list[str]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body["errors"]) == {"name"}
    assert body["message"] == body["errors"]["name"][0]
    return body["errors"]["name"]


def test_name_is_required_on_create(api):
    assert name_errors(api.post("/tags", json={"name_localized": "x"})) == ["The name field is required."]


@pytest.mark.parametrize("name", ["", "   ", None])
def test_blank_name_is_refused(api, name):
    tag = api.make_tag()

    assert name_errors(api.post("/tags", json={"name": name})) == ["The name field is required."]
    assert name_errors(api.put(f"/tags/{tag['id']}", json={"name": name})) == ["The name field is required."]


@pytest.mark.parametrize("name", [123, True, ["VIP"], {"en": "VIP"}])
def test_name_that_is_not_a_string_is_refused(api, name):
    name_errors(api.post("/tags", json={"name": name}))


def test_name_of_255_characters_is_accepted(api):
    assert api.create("/tags", {"name": "n" * 255})["name"] == "n" * 255


def test_name_over_255_characters_is_refused(api):
    tag = api.make_tag()

    assert name_errors(api.post("/tags", json={"name": "n" * 256})) == [
        "The name field must not be greater than 255 characters."
    ]
    name_errors(api.put(f"/tags/{tag['id']}", json={"name": "n" * 256}))


def test_name_is_trimmed(api):
    assert api.create("/tags", {"name": "  VIP \n"})["name"] == "VIP"


def test_name_localized_over_255_characters_is_refused(api):
    response = api.post("/tags", json={"name": "VIP", "name_localized": "n" * 256})

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"name_localized"}


def test_name_is_unique_among_active_tags(api):
    api.make_tag(name="VIP")

    assert name_errors(api.post("/tags", json={"name": "VIP"})) == ["The name has already been taken."]
    assert name_errors(api.post("/tags", json={"name": " VIP "})) == ["The name has already been taken."]
    assert len(api.get("/tags").json()["data"]) == 1


def test_update_to_a_taken_name_is_refused(api, stored_tag):
    api.make_tag(name="VIP")
    gold = api.make_tag(name="Gold")
    before = stored_tag(gold["id"])

    assert name_errors(api.put(f"/tags/{gold['id']}", json={"name": "VIP"})) == ["The name has already been taken."]
    assert stored_tag(gold["id"]) == before


def test_update_keeping_its_own_name_is_accepted(api):
    tag = api.make_tag(name="VIP")

    assert api.put(f"/tags/{tag['id']}", json={"name": "VIP", "name_localized": "x"}).status_code == 200


def test_deleted_tag_frees_its_name(api):
    old = api.make_tag(name="VIP")
    api.delete(f"/tags/{old['id']}")

    new = api.create("/tags", {"name": "VIP"})

    assert new["id"] != old["id"]
    assert api.get(f"/tags/{old['id']}").json()["data"]["name"] == "VIP"


def test_another_business_may_use_the_same_name(api, other_api):
    other_api.make_tag(name="VIP")

    assert api.create("/tags", {"name": "VIP"})["name"] == "VIP"


def test_the_database_refuses_a_racing_duplicate(api, insert_tag):
    # Two requests that both pass validation at once must not both store the name:
    # the partial unique index, not a look-up before the insert, decides.
    api.make_tag(name="VIP")

    with pytest.raises(IntegrityError):
        insert_tag(api.business_id, "VIP")


def test_the_database_allows_deleted_duplicates(api, insert_tag):
    api.make_tag(name="VIP")

    insert_tag(api.business_id, "VIP", deleted_at=utcnow())
    insert_tag(api.business_id, "VIP", deleted_at=utcnow())

    assert api.get("/tags", params={"filter[is_deleted]": "true"}).json()["meta"]["total"] == 2
