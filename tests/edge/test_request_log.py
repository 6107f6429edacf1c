"""The request log: one line per request with its time, id, method, route path, status and duration,
and nothing a client sent in a query string, a path or a token."""

import json
import logging
import re
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from clientele.app import create_app
from clientele.config import Settings
from tests.cli.processes import serving
from tests.conftest import Api

NAME = "Fatima Zahra"
PHONE = "565443322"
EMAIL = "fatima.zahra@example.com"


def requests_with_personal_data(http: httpx.Client, token: str) -> list[httpx.Response]:
    """A run of requests whose query strings, bodies and paths hold a name, a phone and an email."""
    headers = {"Authorization": f"Bearer {token}"}
    created = http.post(
        "/customers", headers=headers, json={"name": NAME, "dial_code": 966, "phone": PHONE, "email": EMAIL}
    )
    return [
        created,
        http.get(
            "/customers", headers=headers, params={"filter[name]": NAME, "filter[phone]": PHONE, "filter[email]": EMAIL}
        ),
        http.get(f"/v5/customers/{created.json()['data']['id']}", headers=headers, params={"include": "tags"}),
        http.get(f"/customers/{PHONE}", headers=headers),
        http.get(f"/customers/{EMAIL}/{PHONE}", headers=headers, params={"q": NAME}),
        http.get("/customers", params={"filter[phone]": PHONE}),
        http.get("/customers", headers={"Authorization": f"Bearer {token}x"}, params={"filter[email]": EMAIL}),
    ]


def secrets_of(token: str) -> list[str]:
    return [token, NAME, NAME.replace(" ", "+"), NAME.replace(" ", "%20"), PHONE, EMAIL, EMAIL.replace("@", "%40")]


def request_lines(text: str) -> dict[str, str]:
    """The request log's lines, by request id."""
    return {found.group(1): found.group(0) for found in re.finditer(r"request_id=(\S+) method=.*", text)}


def test_each_request_is_logged_once_with_its_route_and_no_personal_data(
    settings: Settings, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="clientele")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        responses = requests_with_personal_data(client, api.token)

    logged = "\n".join(record.getMessage() for record in caplog.records if record.name.startswith("clientele"))
    lines = request_lines(logged)
    assert [response.status_code for response in responses] == [201, 200, 200, 404, 404, 401, 401]
    assert [
        lines[response.headers["X-Request-Id"]].split(" duration_ms=")[0].split(" ", 1)[1] for response in responses
    ] == [
        "method=POST path=/customers status=201",
        "method=GET path=/customers status=200",
        "method=GET path=/v5/customers/{customer_id} status=200",
        "method=GET path=/customers/{customer_id} status=404",
        "method=GET path=- status=404",
        "method=GET path=/customers status=401",
        "method=GET path=/customers status=401",
    ]
    assert len(lines) == len(responses)
    for secret in secrets_of(api.token):
        assert secret not in logged


def test_serve_writes_a_timestamped_request_line_without_personal_data_by_default(
    database_url: str, tmp_path: Path, api: Api
) -> None:
    with serving(database_url, tmp_path) as [server], httpx.Client(base_url=server.base_url) as http:
        responses = requests_with_personal_data(http, api.token)
        health = http.get("/healthz")

    output = server.stdout()
    lines = request_lines(output)
    # serving() itself polls /healthz until the server answers, so there are more lines than these.
    assert {response.headers["X-Request-Id"] for response in [*responses, health]} <= set(lines)
    assert "path=/v5/customers/{customer_id} status=200" in lines[responses[2].headers["X-Request-Id"]]
    filtered = [line for line in output.splitlines() if responses[1].headers["X-Request-Id"] in line]
    assert len(filtered) == 1
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z request_id=\S+ method=GET path=/customers status=200 "
        r"duration_ms=\d+\.\d\d",
        filtered[0],
    )
    for secret in secrets_of(api.token):
        assert secret not in output
    assert "filter" not in output and "?" not in output


def test_serve_with_no_access_log_writes_no_request_lines(database_url: str, tmp_path: Path, api: Api) -> None:
    with serving(database_url, tmp_path, "--no-access-log") as [server], httpx.Client(base_url=server.base_url) as http:
        responses = requests_with_personal_data(http, api.token)

    output = server.stdout()
    assert [response.status_code for response in responses] == [201, 200, 200, 404, 404, 401, 401]
    assert request_lines(output) == {}
    for secret in secrets_of(api.token):
        assert secret not in output


def test_with_log_format_json_every_line_the_server_writes_is_a_json_object(
    database_url: str, tmp_path: Path, api: Api
) -> None:
    with (
        serving(database_url, tmp_path, settings={"LOG_FORMAT": "json"}) as [server],
        httpx.Client(base_url=server.base_url) as http,
    ):
        responses = requests_with_personal_data(http, api.token)

    output = server.stdout()
    logged = [json.loads(line) for line in output.splitlines()]
    by_request = {line["request_id"]: line for line in logged if line["logger"] == "clientele.requests"}
    filtered = by_request[responses[1].headers["X-Request-Id"]]
    assert {key: filtered[key] for key in ("level", "method", "path", "status")} == {
        "level": "INFO",
        "method": "GET",
        "path": "/customers",
        "status": 200,
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", filtered["timestamp"])
    assert isinstance(filtered["duration_ms"], float)
    assert any(line["message"].startswith("Serving on ") for line in logged)
    assert all({"timestamp", "level", "logger", "message"} <= set(line) for line in logged)
    for secret in secrets_of(api.token):
        assert secret not in output


def test_a_database_error_does_not_carry_the_values_it_was_binding(client: TestClient) -> None:
    """What a 500's logged traceback would show of a failed statement: never the customer data bound to it."""

    async def fail_with_personal_data() -> str:
        async with client.app.state.engine.connect() as connection:  # type: ignore[attr-defined]
            try:
                await connection.execute(
                    text("SELECT no_such_column FROM customers WHERE phone = :phone"), {"phone": PHONE}
                )
            except DBAPIError as error:
                return str(error)
        raise AssertionError("the statement did not fail")

    message = client.portal.call(fail_with_personal_data)  # type: ignore[union-attr]

    assert "no_such_column" in message
    assert PHONE not in message
