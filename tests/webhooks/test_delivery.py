"""Delivery (SPEC §10): each event reaches the endpoints that want it, signed as Standard Webhooks asks
(verified here with its reference library, as a receiver would), shown as the endpoint's scopes show it."""

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import trustme
from standardwebhooks import WebhookVerificationError

from clientele.auth.scopes import ALL_SCOPES
from clientele.webhooks import destinations
from tests.conftest import Api
from tests.webhooks.conftest import Clock, Delivering, make_endpoint
from tests.webhooks.receiver import Receiver


def subscribe(api: Api, receiver: Receiver, **fields: Any) -> dict[str, Any]:
    return make_endpoint(api, url=receiver.url, **fields)


def test_a_change_is_delivered_signed_with_the_event_as_body(
    local_api: Api, receiver: Receiver, delivering: Delivering
) -> None:
    endpoint = subscribe(local_api, receiver)
    customer = local_api.make_customer(name="Hooked")

    delivering.until_idle()

    [received] = receiver.received
    payload = received.verify(endpoint["secret"])
    assert payload["type"] == "customer.created"
    assert payload["data"]["id"] == customer["id"]
    assert payload["data"]["name"] == "Hooked"
    assert received.headers["webhook-id"] == payload["id"]
    assert received.headers["content-type"] == "application/json"
    assert received.path == "/hooks"


def test_another_secret_does_not_verify(local_api: Api, receiver: Receiver, delivering: Delivering) -> None:
    subscribe(local_api, receiver)
    other = subscribe(local_api, receiver, event_types=["tag.*"])
    local_api.make_customer()

    delivering.until_idle()

    [received] = receiver.received
    with pytest.raises(WebhookVerificationError):
        received.verify(other["secret"])


def test_each_endpoint_gets_the_types_it_asked_for(local_api: Api, receiver: Receiver, delivering: Delivering) -> None:
    tags_only = subscribe(local_api, receiver, event_types=["tag.*"])
    local_api.make_customer()
    tag = local_api.make_tag()
    local_api.put(f"/tags/{tag['id']}", json={"name": "renamed"})

    delivering.until_idle()

    payloads = [received.verify(tags_only["secret"]) for received in receiver.received]
    assert [payload["type"] for payload in payloads] == ["tag.created", "tag.updated"]
    assert payloads[1]["changes"] == {"name": tag["name"]}


def test_the_payload_shows_what_the_endpoint_scopes_show(
    local_api: Api, local_api_with: Callable[..., Api], receiver: Receiver, delivering: Delivering
) -> None:
    without_balances = subscribe(
        local_api_with(*(scope for scope in ALL_SCOPES if scope != "customers.accounts.read")), receiver
    )
    local_api.make_customer()

    delivering.until_idle()

    [received] = receiver.received
    data = received.verify(without_balances["secret"])["data"]
    assert "house_account_balance" not in data
    assert "loyalty_balance" in data


def test_events_the_endpoint_scopes_cannot_read_are_not_sent(
    local_api: Api, local_api_with: Callable[..., Api], receiver: Receiver, delivering: Delivering
) -> None:
    subscribe(local_api_with("webhooks.manage", "general.read"), receiver)
    local_api.make_customer()
    local_api.make_tag()

    delivering.until_idle()

    assert [received.payload["type"] for received in receiver.received] == ["tag.created"]


def test_events_made_before_the_endpoint_are_not_sent(
    local_api: Api, receiver: Receiver, delivering: Delivering
) -> None:
    local_api.make_customer()
    subscribe(local_api, receiver)

    delivering.until_idle()

    assert receiver.received == []


def test_after_a_rotation_both_secrets_verify_for_a_day(
    local_api: Api, receiver: Receiver, delivering: Delivering, clock: Clock
) -> None:
    endpoint = subscribe(local_api, receiver)
    rotated = local_api.post(f"/webhook_endpoints/{endpoint['id']}/rotate_secret").json()["data"]
    local_api.make_customer()

    delivering.until_idle()

    [during] = receiver.received
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    during.verify(endpoint["secret"])
    during.verify(rotated["secret"])

    clock.advance(hours=24, seconds=1)
    local_api.make_customer()
    delivering.until_idle()

    after = receiver.received[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    after.verify(rotated["secret"])
    with pytest.raises(WebhookVerificationError):
        after.verify(endpoint["secret"])


def test_a_deleted_endpoint_gets_nothing_more(local_api: Api, receiver: Receiver, delivering: Delivering) -> None:
    endpoint = subscribe(local_api, receiver)
    local_api.make_customer()
    delivering.call(delivering.deliverer.hand_out)

    assert local_api.delete(f"/webhook_endpoints/{endpoint['id']}").status_code == 204
    delivering.until_idle()

    assert receiver.received == []


def test_a_private_address_is_refused_when_the_delivery_resolves_it(
    local_api: Api, local_client: Any, receiver: Receiver, clock: Clock
) -> None:
    endpoint = subscribe(local_api, receiver)
    local_api.make_customer()
    strict = Delivering(local_client, clock, allow_private=False)

    strict.until_idle()

    assert receiver.received == []
    [attempt] = local_api.get(f"/webhook_endpoints/{endpoint['id']}/deliveries").json()["data"]
    assert attempt["status_code"] is None
    assert "127.0.0.1" in attempt["error"] and "not a public address" in attempt["error"]
    assert attempt["result"] == "retrying"
    strict.call(strict.deliverer.aclose)


@pytest.mark.parametrize(("certified", "delivered"), [("localhost", True), ("other.example", False)])
def test_https_deliveries_check_the_certificate_against_the_url_host(
    local_api: Api,
    local_client: Any,
    clock: Clock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    certified: str,
    delivered: bool,
) -> None:
    authority = trustme.CA()
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(certified).configure_cert(tls)
    with Receiver(tls=tls) as receiver:
        endpoint = subscribe(local_api, receiver)
        local_api.make_customer()
        trusting = Delivering(local_client, clock)

        trusting.until_idle()
        trusting.call(trusting.deliverer.aclose)

    [attempt] = local_api.get(f"/webhook_endpoints/{endpoint['id']}/deliveries").json()["data"]
    if delivered:
        assert receiver.received[0].verify(endpoint["secret"])["type"] == "customer.created"
        assert receiver.received[0].headers["host"] == receiver.url.split("/")[2]
        assert attempt["status_code"] == 200
    else:
        assert receiver.received == []
        assert "certificate" in attempt["error"].lower()


def test_an_address_that_refuses_the_connection_gives_way_to_the_next(
    local_api: Api, receiver: Receiver, delivering: Delivering, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def two_addresses(url: str, *, allow_private: bool) -> destinations.Destination:
        # Nothing listens on 127.0.0.2 (the receiver is bound to 127.0.0.1): that connection is refused.
        return destinations.Destination(
            host="127.0.0.1", port=urlsplit(url).port or 80, addresses=("127.0.0.2", "127.0.0.1")
        )

    monkeypatch.setattr(destinations, "resolve", two_addresses)
    endpoint = subscribe(local_api, receiver)
    local_api.make_customer()

    delivering.until_idle()

    [received] = receiver.received
    assert received.verify(endpoint["secret"])["type"] == "customer.created"
