"""Who may use `/tags`: `general.read` to read, `general.write` to write (SPEC §2, §6)."""

import uuid

import pytest

READS = [("GET", "/tags"), ("GET", "/tags/{id}")]
WRITES = [("POST", "/tags"), ("PUT", "/tags/{id}"), ("DELETE", "/tags/{id}")]
OTHER_SCOPES = ["customers.list", "customers.get", "customers.write", "admin.write", "admin.restore"]


@pytest.mark.parametrize(("method", "path"), READS + WRITES)
def test_no_token_is_unauthenticated(anonymous, api, method, path):
    tag = api.make_tag()

    response = anonymous.request(method, path.format(id=tag["id"]), json={"name": "x"})

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), READS)
def test_reading_needs_general_read(api, api_with, method, path):
    tag = api.make_tag()

    assert api_with("general.read").request(method, path.format(id=tag["id"])).status_code == 200
    for scopes in (["general.write"], OTHER_SCOPES):
        response = api_with(*scopes).request(method, path.format(id=tag["id"]))
        assert response.status_code == 403
        assert "general.read" in response.json()["message"]


@pytest.mark.parametrize(
    ("method", "path", "status"), [("POST", "/tags", 201), ("PUT", "/tags/{id}", 200), ("DELETE", "/tags/{id}", 204)]
)
def test_writing_needs_general_write(api, api_with, stored_tag, method, path, status):
    tag = api.make_tag()
    before = stored_tag(tag["id"])

    for scopes in (["general.read"], OTHER_SCOPES):
        response = api_with(*scopes).request(method, path.format(id=tag["id"]), json={"name": "Changed"})
        assert response.status_code == 403
        assert "general.write" in response.json()["message"]
    assert stored_tag(tag["id"]) == before
    assert len(api.get("/tags").json()["data"]) == 1

    response = api_with("general.write").request(method, path.format(id=tag["id"]), json={"name": "Changed"})
    assert response.status_code == status, response.text


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_missing_scope_comes_before_a_bad_body_or_a_missing_tag(api_with, method, path):
    response = api_with("general.read").request(method, path.format(id=uuid.uuid4()), content=b"not json")

    assert response.status_code == 403
