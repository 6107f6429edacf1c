"""Who may do what with delivery zones, whose zones they see, and which error wins."""

import uuid

import pytest

from clientele.auth.scopes import ALL_SCOPES

ROUTES = [
    ("GET", "/delivery_zones", None, "general.read"),
    ("GET", "/delivery_zones/{id}", None, "general.read"),
    ("POST", "/delivery_zones", {"name": "new"}, "general.write"),
    ("PUT", "/delivery_zones/{id}", {"name": "renamed"}, "general.write"),
    ("DELETE", "/delivery_zones/{id}", None, "general.write"),
    ("PUT", "/delivery_zones/{id}/restore", None, "general.write"),
]
ROUTE_IDS = [f"{method} {path}" for method, path, _, _ in ROUTES]


@pytest.mark.parametrize(("method", "path", "body", "scope"), ROUTES, ids=ROUTE_IDS)
def test_each_route_needs_its_scope_and_the_403_names_it(api, api_with, stored_zone, method, path, body, scope):
    zone = api.make_zone(name="guarded")
    before = stored_zone(zone["id"])
    without = api_with(*(other for other in ALL_SCOPES if other != scope))

    response = without.request(method, path.format(id=zone["id"]), json=body)

    assert response.status_code == 403
    assert scope in response.json()["message"]
    assert stored_zone(zone["id"]) == before


@pytest.mark.parametrize(("method", "path", "body", "scope"), ROUTES, ids=ROUTE_IDS)
def test_each_route_works_with_only_its_scope(api, api_with, method, path, body, scope):
    zone = api.make_zone()

    response = api_with(scope).request(method, path.format(id=zone["id"]), json=body)

    assert response.status_code in (200, 201, 204)


@pytest.mark.parametrize(("method", "path", "body", "scope"), ROUTES, ids=ROUTE_IDS)
def test_a_request_without_a_token_is_401(api, anonymous, method, path, body, scope):
    zone = api.make_zone()

    response = anonymous.request(method, path.format(id=zone["id"]), json=body)

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "body"), [("GET", None), ("PUT", {"name": "hijacked"}), ("DELETE", None)])
def test_another_business_zone_is_404_and_untouched(api, other_api, stored_zone, method, body):
    theirs = other_api.make_zone(name="theirs")
    before = stored_zone(theirs["id"])

    response = api.request(method, f"/delivery_zones/{theirs['id']}", json=body)

    assert response.status_code == 404
    assert response.json() == {"message": "Delivery zone not found."}
    assert stored_zone(theirs["id"]) == before


@pytest.mark.parametrize("zone_id", ["not-a-uuid", "123", str(uuid.uuid4())])
def test_a_malformed_or_unknown_id_is_404(api, zone_id):
    response = api.get(f"/delivery_zones/{zone_id}")

    assert response.status_code == 404
    assert response.json() == {"message": "Delivery zone not found."}


def test_missing_scope_wins_over_a_malformed_query(api_with):
    response = api_with("general.write").get("/delivery_zones", params={"filter[colour]": "red"})

    assert response.status_code == 403


def test_a_malformed_body_wins_over_a_missing_zone(api):
    response = api.put(
        f"/delivery_zones/{uuid.uuid4()}", content=b"{broken", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400


def test_a_missing_zone_wins_over_an_invalid_body(api):
    response = api.put(f"/delivery_zones/{uuid.uuid4()}", json={"name": ""})

    assert response.status_code == 404


def test_a_deleted_zone_conflict_wins_over_an_invalid_body(api):
    zone = api.make_zone()
    api.delete(f"/delivery_zones/{zone['id']}")

    response = api.put(f"/delivery_zones/{zone['id']}", json={"name": ""})

    assert response.status_code == 409


def test_every_route_is_documented_with_its_scope_and_errors(client):
    paths = client.get("/openapi.json").json()["paths"]

    for method, path, _, scope in ROUTES:
        operation = paths[path.replace("{id}", "{zone_id}")][method.lower()]
        assert scope in operation["description"]
        assert {"401", "403"} <= set(operation["responses"])
    assert "requestBody" in paths["/delivery_zones"]["post"]
    assert "422" in paths["/delivery_zones/{zone_id}"]["put"]["responses"]
