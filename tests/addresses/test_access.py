"""Who may do what with addresses, whose addresses they see, and which error wins."""

import uuid

import pytest

from clientele.auth.scopes import ALL_SCOPES

ROUTES = [
    ("GET", "/addresses", "customers.list"),
    ("GET", "/addresses/{id}", "customers.get"),
    ("POST", "/addresses", "customers.write"),
    ("PUT", "/addresses/{id}", "customers.write"),
    ("DELETE", "/addresses/{id}", "customers.write"),
]
ROUTE_IDS = [f"{method} {path}" for method, path, _ in ROUTES]


@pytest.fixture
def address(api):
    return api.make_address(api.make_customer()["id"])


def body_for(method: str, address: dict) -> dict | None:
    if method == "POST":
        return {"name": f"new-{uuid.uuid4().hex[:12]}", "customer_id": address["customer"]["id"]}
    if method == "PUT":
        return {"name": "Renamed"}
    return None


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES, ids=ROUTE_IDS)
def test_each_route_needs_its_scope_and_the_403_names_it(
    api_with, stored_address, addresses_named, address, method, path, scope
):
    before = stored_address(address["id"])
    without = api_with(*(other for other in ALL_SCOPES if other != scope))
    body = body_for(method, address)

    response = without.request(method, path.format(id=address["id"]), json=body)

    assert response.status_code == 403
    assert scope in response.json()["message"]
    assert stored_address(address["id"]) == before
    if method == "POST":
        assert addresses_named(body["name"]) == 0


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES, ids=ROUTE_IDS)
def test_each_route_works_with_only_its_scope(api_with, address, method, path, scope):
    response = api_with(scope).request(method, path.format(id=address["id"]), json=body_for(method, address))

    assert response.status_code in (200, 201, 204)


def test_deleting_an_address_needs_no_admin_scope(api_with, address):
    response = api_with("customers.write").delete(f"/addresses/{address['id']}")

    assert response.status_code == 204


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES, ids=ROUTE_IDS)
def test_a_request_without_a_token_is_401(anonymous, address, method, path, scope):
    response = anonymous.request(method, path.format(id=address["id"]), json=body_for(method, address))

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "body"), [("GET", None), ("PUT", {"name": "hijacked"}), ("DELETE", None)])
def test_another_business_address_is_404_and_untouched(api, other_api, stored_address, method, body):
    theirs = other_api.make_address(other_api.make_customer()["id"])
    before = stored_address(theirs["id"])

    response = api.request(method, f"/addresses/{theirs['id']}", json=body)

    assert response.status_code == 404
    assert response.json() == {"message": "Address not found."}
    assert stored_address(theirs["id"]) == before


@pytest.mark.parametrize("address_id", ["not-a-uuid", "0", str(uuid.uuid4())])
def test_a_malformed_or_unknown_id_is_404(api, address_id):
    response = api.get(f"/addresses/{address_id}")

    assert response.status_code == 404
    assert response.json() == {"message": "Address not found."}


def test_missing_scope_wins_over_a_malformed_query(api_with):
    response = api_with("customers.get").get("/addresses", params={"include": "nonsense"})

    assert response.status_code == 403


def test_a_malformed_include_wins_over_a_missing_address(api):
    response = api.get(f"/addresses/{uuid.uuid4()}", params={"include": "nonsense"})

    assert response.status_code == 400


def test_a_malformed_body_wins_over_a_missing_address(api):
    response = api.put(f"/addresses/{uuid.uuid4()}", content=b"[]", headers={"Content-Type": "application/json"})

    assert response.status_code == 400


def test_a_missing_address_wins_over_an_invalid_body(api):
    response = api.put(f"/addresses/{uuid.uuid4()}", json={"latitude": "north"})

    assert response.status_code == 404


def test_a_deleted_address_conflict_wins_over_an_invalid_body(api, address):
    api.delete(f"/addresses/{address['id']}")

    response = api.put(f"/addresses/{address['id']}", json={"customer_id": str(uuid.uuid4())})

    assert response.status_code == 409


def test_every_route_is_documented_with_its_scope_and_errors(client):
    paths = client.get("/openapi.json").json()["paths"]

    for method, path, scope in ROUTES:
        operation = paths[path.replace("{id}", "{address_id}")][method.lower()]
        assert scope in operation["description"]
        assert {"401", "403"} <= set(operation["responses"])
    assert "requestBody" in paths["/addresses"]["post"]
    assert {"filter[customer_id]", "filter[updated_after]", "filter[is_deleted]"} <= {
        parameter["name"] for parameter in paths["/addresses"]["get"]["parameters"]
    }
