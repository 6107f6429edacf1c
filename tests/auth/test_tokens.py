"""Bearer tokens (SPEC §2): who may call at all, and what the database keeps of a token."""

import base64
import hmac
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from clientele.auth import service as auth
from clientele.auth.service import TOKEN_PREFIX
from tests.conftest import Api, new_token

UNAUTHENTICATED = {"message": "Unauthenticated."}


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_valid_token_is_accepted(api: Api) -> None:
    assert api.get("/customers").status_code == 200


def test_a_request_without_a_token_is_unauthenticated(anonymous: Api) -> None:
    assert_unauthenticated(anonymous.get("/customers"))


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNzd29yZA==",
        "Token clt_abc",
        "clt_abc",
    ],
)
def test_a_malformed_authorization_header_is_unauthenticated(client: TestClient, authorization: str) -> None:
    assert_unauthenticated(client.get("/customers", headers={"Authorization": authorization}))


def test_an_unknown_token_is_unauthenticated(client: TestClient) -> None:
    forged = TOKEN_PREFIX + "A" * 43
    assert_unauthenticated(client.get("/customers", headers={"Authorization": f"Bearer {forged}"}))


def test_a_token_with_anything_added_or_removed_is_unauthenticated(api: Api, client: TestClient) -> None:
    for altered in (api.token + "x", api.token[:-1], api.token.upper()):
        assert_unauthenticated(client.get("/customers", headers={"Authorization": f"Bearer {altered}"}))


def test_an_expired_token_is_unauthenticated(
    client: TestClient, business: uuid.UUID, expire_token: Callable[[uuid.UUID], None]
) -> None:
    issued = new_token(client, business, expires_days=30)
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert client.get("/customers", headers=headers).status_code == 200

    expire_token(issued.id)

    assert_unauthenticated(client.get("/customers", headers=headers))


def test_a_revoked_token_is_unauthenticated_at_once(
    client: TestClient, business: uuid.UUID, revoke_token: Callable[[uuid.UUID], None]
) -> None:
    issued = new_token(client, business)
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert client.get("/customers", headers=headers).status_code == 200

    revoke_token(issued.id)

    assert_unauthenticated(client.get("/customers", headers=headers))


def test_revoking_one_token_leaves_the_business_other_tokens_working(
    client: TestClient, business: uuid.UUID, revoke_token: Callable[[uuid.UUID], None]
) -> None:
    revoked, kept = new_token(client, business), new_token(client, business)

    revoke_token(revoked.id)

    assert client.get("/customers", headers={"Authorization": f"Bearer {kept.token}"}).status_code == 200


def test_the_unauthenticated_answer_is_the_same_on_every_kind_of_route(client: TestClient) -> None:
    for method, path in [
        ("GET", "/customers/0"),
        ("POST", "/customers"),
        ("PUT", "/tags/0"),
        ("DELETE", "/customers/0"),
        ("PUT", "/v5/customers/0/restore"),
    ]:
        assert_unauthenticated(client.request(method, path, headers={"Authorization": "Bearer nope"}))


def test_a_token_is_stored_only_as_a_hash(api: Api, stored: Callable[..., list[dict[str, Any]]]) -> None:
    rows = stored("SELECT * FROM tokens")

    assert rows
    secret = api.token.removeprefix(TOKEN_PREFIX)
    for row in rows:
        for value in row.values():
            assert secret not in str(value)


def test_a_token_carries_at_least_256_random_bits(client: TestClient, business: uuid.UUID) -> None:
    first, second = new_token(client, business).token, new_token(client, business).token

    assert first.startswith(TOKEN_PREFIX)
    secret = first.removeprefix(TOKEN_PREFIX)
    assert len(base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))) * 8 >= 256
    assert first != second


def test_the_stored_hash_is_compared_in_constant_time(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The secret-derived comparison goes through hmac.compare_digest, whose time does not depend
    on where the values first differ; a request is refused if that comparison fails."""
    compared: list[tuple[str, str]] = []

    def refusing_compare(left: str, right: str) -> bool:
        compared.append((left, right))
        return False

    monkeypatch.setattr(hmac, "compare_digest", refusing_compare)

    response = api.get("/customers")

    assert response.status_code == 401
    assert api.token is not None
    assert compared == [(auth.hash_token(api.token), auth.hash_token(api.token))]
