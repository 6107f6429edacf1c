"""Webhook endpoints (SPEC §10): create, read, list, change, delete, rotate the secret; fields and rules."""

import base64
import uuid
from collections.abc import Callable

import pytest

from clientele.auth.scopes import ALL_SCOPES, WEBHOOKS_MANAGE
from clientele.webhooks.models import webhook_endpoints
from tests.conftest import Api
from tests.webhooks.conftest import PUBLIC_URL, make_endpoint

FIELDS = {"id", "url", "event_types", "description", "enabled", "disabled_reason", "scopes", "created_at", "updated_at"}


def test_a_created_endpoint_is_answered_with_its_secret_once(api: Api) -> None:
    response = api.post("/webhook_endpoints", json={"url": PUBLIC_URL, "description": "ERP sync"})

    assert response.status_code == 201, response.text
    created = response.json()["data"]
    assert set(created) == FIELDS | {"secret"}
    assert response.headers["location"].endswith(f"/webhook_endpoints/{created['id']}")
    assert created["url"] == PUBLIC_URL
    assert created["event_types"] == ["*"]
    assert created["description"] == "ERP sync"
    assert created["enabled"] is True
    assert created["disabled_reason"] is None
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) >= 24
    shown = api.get(f"/webhook_endpoints/{created['id']}")
    assert shown.status_code == 200
    assert shown.json()["data"] == {name: value for name, value in created.items() if name != "secret"}
    assert "secret" not in api.get("/webhook_endpoints").json()["data"][0]


def test_every_endpoint_has_its_own_secret(api: Api) -> None:
    assert make_endpoint(api)["secret"] != make_endpoint(api)["secret"]


def test_the_endpoint_keeps_the_read_scopes_of_the_token_that_made_it(api_with: Callable[..., Api]) -> None:
    creator = api_with(WEBHOOKS_MANAGE, "customers.get", "customers.write", "customers.loyalty.read")

    created = make_endpoint(creator)

    assert created["scopes"] == ["customers.get", "customers.loyalty.read"]
    assert make_endpoint(api_with(*ALL_SCOPES))["scopes"] == [
        "customers.list",
        "customers.get",
        "customers.accounts.read",
        "customers.loyalty.read",
        "general.read",
    ]


def test_event_types_take_types_families_and_every_event_each_once(api: Api) -> None:
    created = make_endpoint(api, event_types=["customer.*", "tag.created", "customer.*", "customers.imported"])

    assert created["event_types"] == ["customer.*", "tag.created", "customers.imported"]


@pytest.mark.parametrize(
    "event_types",
    [[], ["customer.exploded"], ["nothing.*"], ["customer"], [1], "customer.*", ["*.created"], ["customer.*.x"]],
)
def test_event_types_must_be_known(api: Api, event_types: object) -> None:
    response = api.post("/webhook_endpoints", json={"url": PUBLIC_URL, "event_types": event_types})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["event_types"]


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.215.14/hooks",
        "ftp://93.184.215.14/hooks",
        "93.184.215.14/hooks",
        "https:///hooks",
        "https://exa mple.com/",
        "https://93.184.215.14:99999/",
        "https://" + "a" * 2048 + ".com/",
    ],
)
def test_the_url_must_be_an_https_url(api: Api, url: str) -> None:
    response = api.post("/webhook_endpoints", json={"url": url})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["url"]


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "[::1]",
        "[fe80::1]",
        "[fc00::1]",
        "[::ffff:127.0.0.1]",
        "[::]",
    ],
)
def test_the_url_may_not_point_inside_the_network(api: Api, host: str) -> None:
    response = api.post("/webhook_endpoints", json={"url": f"https://{host}/hooks"})

    assert response.status_code == 422, response.text
    assert list(response.json()["errors"]) == ["url"]


def test_a_host_that_does_not_resolve_is_refused(api: Api) -> None:
    response = api.post("/webhook_endpoints", json={"url": "https://no-such-host.invalid/hooks"})

    assert response.status_code == 422
    assert "could not be resolved" in response.json()["errors"]["url"][0]


def test_the_url_is_required(api: Api) -> None:
    for body in ({}, {"url": None}, {"url": ""}, {"url": 5}):
        response = api.post("/webhook_endpoints", json=body)
        assert response.status_code == 422
        assert list(response.json()["errors"]) == ["url"]


def test_an_update_changes_only_the_fields_sent(api: Api) -> None:
    created = make_endpoint(api, description="before")

    response = api.request("PATCH", f"/webhook_endpoints/{created['id']}", json={"event_types": ["tag.*"]})

    assert response.status_code == 200, response.text
    updated = response.json()["data"]
    assert updated["event_types"] == ["tag.*"]
    assert updated["description"] == "before"
    assert updated["url"] == PUBLIC_URL
    assert updated["updated_at"] >= created["updated_at"]
    assert "secret" not in updated


def test_an_update_checks_a_new_url_as_a_create_does(api: Api) -> None:
    created = make_endpoint(api)

    response = api.request("PATCH", f"/webhook_endpoints/{created['id']}", json={"url": "https://10.0.0.1/"})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["url"]
    assert api.get(f"/webhook_endpoints/{created['id']}").json()["data"]["url"] == PUBLIC_URL


def test_disabling_and_enabling_an_endpoint(api: Api) -> None:
    created = make_endpoint(api)
    path = f"/webhook_endpoints/{created['id']}"

    disabled = api.request("PATCH", path, json={"enabled": False}).json()["data"]
    enabled = api.request("PATCH", path, json={"enabled": True}).json()["data"]

    assert (disabled["enabled"], disabled["disabled_reason"]) == (False, None)
    assert (enabled["enabled"], enabled["disabled_reason"]) == (True, None)


def test_put_is_not_how_an_endpoint_changes(api: Api) -> None:
    created = make_endpoint(api)

    assert api.put(f"/webhook_endpoints/{created['id']}", json={"description": "x"}).status_code == 405


def test_a_deleted_endpoint_is_gone(api: Api) -> None:
    created = make_endpoint(api)
    path = f"/webhook_endpoints/{created['id']}"

    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404
    assert api.delete(path).status_code == 404
    assert api.get("/webhook_endpoints").json()["data"] == []


def test_rotating_the_secret_answers_a_new_one(api: Api) -> None:
    created = make_endpoint(api)

    response = api.post(f"/webhook_endpoints/{created['id']}/rotate_secret")

    assert response.status_code == 200, response.text
    rotated = response.json()["data"]
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != created["secret"]
    assert set(rotated) == FIELDS | {"secret"}


def test_the_list_is_paged_and_filtered(api: Api) -> None:
    first = make_endpoint(api)
    second = make_endpoint(api, enabled=False)

    listed = api.get("/webhook_endpoints", params={"per_page": 1})
    disabled = api.get("/webhook_endpoints", params={"filter[enabled]": "false"})

    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["data"]] == [first["id"]]
    assert listed.json()["meta"]["total"] == 2
    assert [item["id"] for item in disabled.json()["data"]] == [second["id"]]


def test_routes_are_served_under_v5_too(api: Api) -> None:
    created = api.post("/v5/webhook_endpoints", json={"url": PUBLIC_URL})

    assert created.status_code == 201
    assert api.get(f"/v5/webhook_endpoints/{created.json()['data']['id']}").status_code == 200


def test_an_unknown_or_malformed_id_is_not_found(api: Api) -> None:
    for endpoint_id in (str(uuid.uuid4()), "not-an-id"):
        assert api.get(f"/webhook_endpoints/{endpoint_id}").status_code == 404
        assert api.get(f"/webhook_endpoints/{endpoint_id}/deliveries").status_code == 404


def test_a_second_rotation_replaces_the_secret_before(api: Api, stored_row: Callable[..., dict[str, object]]) -> None:
    created = make_endpoint(api)
    first = api.post(f"/webhook_endpoints/{created['id']}/rotate_secret").json()["data"]
    second = api.post(f"/webhook_endpoints/{created['id']}/rotate_secret").json()["data"]

    stored = stored_row(webhook_endpoints, created["id"])
    assert (stored["secret"], stored["previous_secret"]) == (second["secret"], first["secret"])


def test_an_update_may_not_empty_the_url_or_the_event_types(api: Api) -> None:
    created = make_endpoint(api)

    for body, field in (({"url": None}, "url"), ({"event_types": None}, "event_types"), ({"enabled": "no"}, "enabled")):
        response = api.request("PATCH", f"/webhook_endpoints/{created['id']}", json=body)
        assert response.status_code == 422, body
        assert list(response.json()["errors"]) == [field]


def test_an_endpoint_that_would_be_sent_nothing_is_refused(api: Api, api_with: Callable[..., Api]) -> None:
    managing_only = api_with(WEBHOOKS_MANAGE)
    tags_only = api_with(WEBHOOKS_MANAGE, "general.read")

    nothing = managing_only.post("/webhook_endpoints", json={"url": PUBLIC_URL})
    customers = tags_only.post("/webhook_endpoints", json={"url": PUBLIC_URL, "event_types": ["customer.*"]})
    tags = make_endpoint(tags_only, event_types=["customer.*", "tag.*"])
    narrowed = api.request("PATCH", f"/webhook_endpoints/{tags['id']}", json={"event_types": ["customer.created"]})

    for refused in (nothing, customers, narrowed):
        assert refused.status_code == 422, refused.text
        assert list(refused.json()["errors"]) == ["event_types"]
