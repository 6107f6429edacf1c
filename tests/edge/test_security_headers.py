"""Every response carries `X-Content-Type-Options: nosniff`, `Cache-Control: no-store` and an
`X-Request-Id` (the client's when it is sane); a 500 is logged with its request id; a token is
never echoed."""

import logging
import re
import uuid
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Api, next_phone
from tests.edge.conftest import AppWith

GENERATED_ID = re.compile(r"[0-9a-f]{32}")

Call = Callable[[Api, Api, TestClient], httpx.Response]

RESPONSES: dict[str, Call] = {
    "200 list": lambda api, _anonymous, _client: api.get("/customers"),
    "201 create": lambda api, _anonymous, _client: api.post(
        "/customers", json={"name": "Headers", "dial_code": 966, "phone": next_phone()}
    ),
    "400 unknown filter": lambda api, _anonymous, _client: api.get("/customers", params={"filter[nope]": "1"}),
    "401 no token": lambda _api, anonymous, _client: anonymous.get("/customers"),
    "404 unknown record": lambda api, _anonymous, _client: api.get(f"/v5/customers/{uuid.uuid4()}"),
    "404 unknown path": lambda _api, _anonymous, client: client.get("/no/such/path"),
    "405 method": lambda _api, _anonymous, client: client.delete("/customers"),
    "413 body": lambda api, _anonymous, _client: api.post("/customers", content=b"{" + b" " * (1024 * 1024 + 1)),
    "422 invalid body": lambda api, _anonymous, _client: api.post("/customers", json={}),
    "200 healthz": lambda _api, _anonymous, client: client.get("/healthz"),
    "200 readyz": lambda _api, _anonymous, client: client.get("/readyz"),
    "200 openapi": lambda _api, _anonymous, client: client.get("/openapi.json"),
    "200 docs": lambda _api, _anonymous, client: client.get("/docs"),
}


def assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert GENERATED_ID.fullmatch(response.headers["X-Request-Id"])


@pytest.mark.parametrize("kind", RESPONSES)
def test_every_kind_of_response_carries_the_security_headers_and_a_request_id(
    kind: str, api: Api, anonymous: Api, client: TestClient
) -> None:
    response = RESPONSES[kind](api, anonymous, client)

    assert response.status_code == int(kind.split()[0])
    assert_security_headers(response)


def test_a_429_carries_the_security_headers(app_with: AppWith, api: Api) -> None:
    limited = app_with(rate_limit=1)
    limited.get("/customers", headers={"Authorization": f"Bearer {api.token}"})

    refused = limited.get("/customers", headers={"Authorization": f"Bearer {api.token}"})

    assert refused.status_code == 429
    assert_security_headers(refused)


def test_a_503_carries_the_security_headers(app_with: AppWith) -> None:
    unreachable = app_with(database_url="postgresql://postgres@127.0.0.1:1/nothing")

    response = unreachable.get("/readyz")

    assert response.status_code == 503
    assert_security_headers(response)


def failing_app(app_with: AppWith) -> TestClient:
    """An app with one more route, which fails as a bug would."""
    client = app_with()

    async def broken() -> None:
        raise RuntimeError("a bug")

    client.app.add_api_route("/broken", broken)  # type: ignore[attr-defined]
    return client


def test_a_500_carries_the_security_headers_and_is_logged_with_its_request_id(
    app_with: AppWith, caplog: pytest.LogCaptureFixture
) -> None:
    client = failing_app(app_with)

    response = client.get("/broken", headers={"X-Request-Id": "trace-500"})

    assert response.status_code == 500
    assert response.json() == {"message": "Server Error."}
    assert response.headers["X-Request-Id"] == "trace-500"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert any(
        record.levelno == logging.ERROR
        and "request_id=trace-500" in record.getMessage()
        and "RuntimeError" in record.getMessage()
        for record in caplog.records
    )


def test_a_500_is_logged_once_with_its_traceback_and_not_raised_on_to_the_server(
    app_with: AppWith, caplog: pytest.LogCaptureFixture
) -> None:
    # This client raises whatever the app raises on to it, as the server would log it.
    server = TestClient(failing_app(app_with).app)

    response = server.get("/broken", headers={"X-Request-Id": "once-500"})

    assert response.status_code == 500
    [logged] = [record for record in caplog.records if record.exc_info]
    assert logged.exc_info[0] is RuntimeError
    assert "request_id=once-500" in logged.getMessage()


@pytest.mark.parametrize("sent", ["abc", "client.req-42_X", "x" * 128, str(uuid.uuid4())])
def test_a_sane_client_request_id_is_echoed(client: TestClient, sent: str) -> None:
    response = client.get("/healthz", headers={"X-Request-Id": sent})

    assert response.headers["X-Request-Id"] == sent


@pytest.mark.parametrize(
    "sent",
    ["", "x" * 129, "has space", "<script>", "a/b", 'quote"d', "caf\xe9"],
    ids=["empty", "too long", "space", "markup", "slash", "quote", "latin-1"],
)
def test_any_other_request_id_is_replaced_by_a_generated_one(client: TestClient, sent: str) -> None:
    response = client.get("/healthz", headers={"X-Request-Id": sent.encode("latin-1")})

    assert GENERATED_ID.fullmatch(response.headers["X-Request-Id"])


def test_each_request_gets_its_own_generated_id(client: TestClient) -> None:
    ids = {client.get("/healthz").headers["X-Request-Id"] for _ in range(20)}

    assert len(ids) == 20


@pytest.mark.parametrize("authorization", ["Bearer clt_" + "s" * 43, "bearer clt_" + "s" * 43, "Basic c2VjcmV0"])
def test_a_401_never_echoes_the_credentials(
    client: TestClient, authorization: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="clientele")
    credentials = authorization.split()[1]

    response = client.get("/customers", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}
    assert not any(credentials in value for value in response.headers.values())
    assert credentials not in caplog.text
