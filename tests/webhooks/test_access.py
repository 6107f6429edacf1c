"""Webhook endpoints need `webhooks.manage` (403 naming it), a token (401), and are the business's own (404)."""

from collections.abc import Callable
from typing import Any

import pytest

from clientele.auth.scopes import ALL_SCOPES, WEBHOOKS_MANAGE
from tests.conftest import Api
from tests.webhooks.conftest import PUBLIC_URL, make_endpoint

ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "", None),
    ("POST", "", {"url": PUBLIC_URL}),
    ("GET", "/{id}", None),
    ("PATCH", "/{id}", {"description": "changed"}),
    ("DELETE", "/{id}", None),
    ("POST", "/{id}/rotate_secret", None),
    ("POST", "/{id}/replay", {"since": "2020-01-01"}),
    ("GET", "/{id}/deliveries", None),
]
SUCCESS = {("POST", ""): 201, ("DELETE", "/{id}"): 204, ("POST", "/{id}/replay"): 202}


def send(api: Api, method: str, suffix: str, body: dict[str, Any] | None, endpoint_id: str) -> Any:
    return api.request(method, "/webhook_endpoints" + suffix.format(id=endpoint_id), json=body)


@pytest.mark.parametrize(("method", "suffix", "body"), ROUTES)
def test_every_route_works_with_webhooks_manage_alone(
    api: Api, api_with: Callable[..., Api], method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    endpoint = make_endpoint(api)

    # A read scope for the endpoint it creates: one that could be sent nothing is refused.
    response = send(api_with(WEBHOOKS_MANAGE, "general.read"), method, suffix, body, endpoint["id"])

    assert response.status_code == SUCCESS.get((method, suffix), 200), response.text


@pytest.mark.parametrize(("method", "suffix", "body"), ROUTES)
def test_every_route_refuses_a_token_without_webhooks_manage(
    api: Api, api_with: Callable[..., Api], method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    endpoint = make_endpoint(api)

    response = send(api_with(*(s for s in ALL_SCOPES if s != WEBHOOKS_MANAGE)), method, suffix, body, endpoint["id"])

    assert response.status_code == 403
    assert WEBHOOKS_MANAGE in response.json()["message"]
    assert api.get(f"/webhook_endpoints/{endpoint['id']}").json()["data"]["description"] is None


@pytest.mark.parametrize(("method", "suffix", "body"), ROUTES)
def test_every_route_refuses_a_request_without_a_token(
    api: Api, anonymous: Api, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    response = send(anonymous, method, suffix, body, make_endpoint(api)["id"])

    assert response.status_code == 401


@pytest.mark.parametrize(("method", "suffix", "body"), [route for route in ROUTES if route[1]])
def test_another_business_endpoint_is_not_found(
    api: Api, other_api: Api, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    endpoint = make_endpoint(api)

    response = send(other_api, method, suffix, body, endpoint["id"])

    assert response.status_code == 404
    assert response.json() == {"message": "Webhook endpoint not found."}
    assert api.get(f"/webhook_endpoints/{endpoint['id']}").json()["data"]["description"] is None


def test_the_list_holds_only_the_business_endpoints(api: Api, other_api: Api) -> None:
    make_endpoint(api)

    assert other_api.get("/webhook_endpoints").json()["data"] == []
