"""Errors (SPEC §3): which status wins, and that every error is a JSON body with a message."""

import dataclasses
import uuid
from collections.abc import Callable, Iterator

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient

from clientele.app import create_app
from clientele.config import Settings
from tests.conftest import Api, next_phone

MIB = 1024 * 1024
UNKNOWN = str(uuid.uuid4())


def oversized_body() -> bytes:
    """A valid JSON object one byte over the limit."""
    return b'{"name": "' + b"x" * (MIB - 11) + b'"}'


def assert_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert isinstance(response.json()["message"], str)


# --- precedence: 401, 403 (route scope), 400, 413, 404, 409, 422, 403 (guarded field) -----


def test_no_token_wins_over_a_bad_query_and_body(anonymous: Api) -> None:
    assert_error(anonymous.get("/customers", params={"filter[nope]": "1"}), 401)
    assert_error(anonymous.put(f"/customers/{UNKNOWN}", params={"include": "nope"}, content=oversized_body()), 401)


def test_a_missing_route_scope_wins_over_a_bad_query_and_body(api_with: Callable[..., Api]) -> None:
    reader = api_with("customers.list", "customers.get")

    assert_error(reader.post("/customers", params={"include": "nope"}, content=b"not json"), 403)
    assert_error(reader.put(f"/customers/{UNKNOWN}", content=oversized_body()), 403)
    assert_error(api_with("customers.get").get("/customers", params={"sort": "nope"}), 403)


def test_a_bad_query_wins_over_an_unknown_id(api: Api) -> None:
    assert_error(api.get(f"/customers/{UNKNOWN}", params={"include": "nope"}), 400)


def test_a_bad_query_wins_over_an_oversized_body(api: Api) -> None:
    assert_error(api.put(f"/customers/{UNKNOWN}", params={"include": "nope"}, content=oversized_body()), 400)


def test_a_body_that_is_not_a_json_object_wins_over_an_unknown_id(api: Api) -> None:
    assert_error(api.put(f"/customers/{UNKNOWN}", content=b"not json"), 400)
    assert_error(api.put(f"/customers/{UNKNOWN}", json=["a", "list"]), 400)


def test_an_oversized_body_wins_over_an_unknown_id(api: Api) -> None:
    assert_error(api.put(f"/customers/{UNKNOWN}", content=oversized_body()), 413)


def test_an_unknown_id_wins_over_an_invalid_body(api: Api) -> None:
    assert_error(api.put(f"/customers/{UNKNOWN}", json={"name": "", "dial_code": "x"}), 404)
    assert_error(api.put(f"/tags/{UNKNOWN}", json={"name": ""}), 404)


def test_an_unknown_id_wins_over_a_guarded_field(api_with: Callable[..., Api]) -> None:
    writer = api_with("customers.write")

    assert_error(writer.put(f"/customers/{UNKNOWN}", json={"is_loyalty_enabled": True}), 404)


def test_a_deleted_record_wins_over_an_invalid_body(api: Api) -> None:
    customer, tag = api.make_customer(), api.make_tag()
    api.delete(f"/customers/{customer['id']}")
    api.delete(f"/tags/{tag['id']}")

    assert_error(api.put(f"/customers/{customer['id']}", json={"name": "", "dial_code": "x"}), 409)
    assert_error(api.put(f"/tags/{tag['id']}", json={"name": ""}), 409)


def test_a_deleted_record_wins_over_a_guarded_field(api: Api, api_with: Callable[..., Api]) -> None:
    customer = api.make_customer()
    api.delete(f"/customers/{customer['id']}")

    response = api_with("customers.write").put(f"/customers/{customer['id']}", json={"is_loyalty_enabled": True})

    assert_error(response, 409)


def test_an_invalid_field_wins_over_a_guarded_field(api: Api, api_with: Callable[..., Api]) -> None:
    customer = api.make_customer()
    writer = api_with("customers.write")

    response = writer.put(f"/customers/{customer['id']}", json={"email": "not an email", "is_loyalty_enabled": True})

    assert_error(response, 422)
    assert "email" in response.json()["errors"]
    assert_error(writer.post("/customers", json={"name": "", "is_house_account_enabled": True}), 422)


# --- the body size limit ----------------------------------------------------------------


def test_a_body_of_exactly_one_mebibyte_is_read(api: Api) -> None:
    body = b'{"name": "A tag"' + b" " * (MIB - 17) + b"}"
    assert len(body) == MIB

    assert api.post("/tags", content=body).status_code == 201


def test_a_body_over_one_mebibyte_is_refused(api: Api) -> None:
    assert_error(api.post("/tags", content=oversized_body()), 413)


def test_a_streamed_body_over_one_mebibyte_is_refused_without_a_content_length(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        body = oversized_body()
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    assert_error(api.post("/tags", content=chunks()), 413)
    assert api.get("/tags").json()["data"] == []


# --- every error is JSON ---------------------------------------------------------------


def test_an_unknown_route_is_a_json_404(api: Api) -> None:
    for path in ("/nothing-here", "/v5/nothing-here", "/customers/1/2/3"):
        response = api.get(path)
        assert_error(response, 404)
        assert response.json() == {"message": "Not Found."}


def test_a_path_with_a_trailing_slash_is_served_as_the_path_without_it(api: Api, anonymous: Api) -> None:
    # As the platform's router does; a redirect has no JSON body, and not every client follows one.
    created = api.post(
        "/customers/", json={"name": "Slash", "dial_code": 966, "phone": next_phone()}, follow_redirects=False
    )
    assert created.status_code == 201, created.text
    customer_id = created.json()["data"]["id"]

    read = api.get(f"/v5/customers/{customer_id}/", follow_redirects=False)
    listed = api.get("/customers/", params={"filter[name]": "slash"}, follow_redirects=False)

    assert (read.status_code, read.json()["data"]["id"]) == (200, customer_id)
    assert [customer["id"] for customer in listed.json()["data"]] == [customer_id]
    assert listed.json()["meta"]["path"].endswith("/customers")
    assert_error(anonymous.get("/customers/", follow_redirects=False), 401)
    assert_error(api.get("/nothing-here/", follow_redirects=False), 404)


def test_a_wrong_method_is_a_json_405(api: Api) -> None:
    response = api.request("PATCH", "/customers")

    assert_error(response, 405)
    assert response.json() == {"message": "Method Not Allowed."}
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_every_client_error_is_json_with_a_message(api: Api, anonymous: Api, api_with: Callable[..., Api]) -> None:
    customer = api.make_customer()
    api.make_customer(phone="500000001")
    api.delete(f"/customers/{customer['id']}")
    errors = [
        (anonymous.get("/customers"), 401),
        (api_with("general.read").get("/customers"), 403),
        (api.get("/customers", params={"per_page": "0"}), 400),
        (api.post("/customers", content=b"{"), 400),
        (api.get(f"/customers/{UNKNOWN}"), 404),
        (api.put(f"/customers/{customer['id']}", json={"name": "New"}), 409),
        (api.post("/customers", content=oversized_body()), 413),
        (api.post("/customers", json={"dial_code": 966, "phone": "500000001"}), 422),
        (api.request("PATCH", "/tags"), 405),
    ]
    for response, status in errors:
        assert_error(response, status)
        assert set(response.json()) <= {"message", "errors"}


@pytest.mark.parametrize(
    "path, name",
    [
        ("/customers", "name"),
        ("/customers", "email"),
        ("/tags", "name"),
        ("/delivery_zones", "name"),
        ("/delivery_zones", "reference"),
    ],
)
def test_a_nul_character_in_a_filter_is_a_400_naming_the_filter(api: Api, path: str, name: str) -> None:
    response = api.get(path, params={f"filter[{name}]": "a\x00b"})

    assert_error(response, 400)
    assert f"filter[{name}]" in response.json()["errors"]


# --- failures on the server's side -----------------------------------------------------


def test_an_unreachable_database_gives_503_with_retry_after() -> None:
    settings = Settings(database_url="postgresql://postgres@127.0.0.1:1/nothing", redis_url=None)

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.get("/customers", headers={"Authorization": "Bearer clt_anything"})

    assert_error(response, 503)
    assert response.json() == {"message": "Service Unavailable."}
    assert int(response.headers["Retry-After"]) > 0


def test_a_request_that_waits_out_its_pool_gives_503_with_retry_after(settings: Settings, api: Api) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite opens a connection per request: there is no pool to wait for")
    customer = api.make_customer()
    one_busy_connection = dataclasses.replace(settings, database_pool_size=1, database_pool_timeout_seconds=0.2)

    with TestClient(create_app(one_busy_connection), raise_server_exceptions=False) as client:
        release = client.portal.call(anyio.Event)
        held = client.portal.call(anyio.Event)

        async def hold_the_only_connections() -> None:
            state = client.app.state  # type: ignore[attr-defined]
            # The routes' pool, and the fast paths' own (GET by id and create use it).
            async with state.engine.connect(), state.key_pool.acquire():
                held.set()
                await release.wait()

        holding = client.portal.start_task_soon(hold_the_only_connections)

        async def wait_until_held() -> None:
            # A holder that could not get the connections fails here, not by hanging the suite.
            with anyio.fail_after(10):
                await held.wait()

        client.portal.call(wait_until_held)
        caller = Api(client, api.token, api.business_id)
        responses = [
            caller.get("/customers"),
            caller.get(f"/customers/{customer['id']}"),
            caller.post("/customers", json={"name": "Waits", "dial_code": 966, "phone": next_phone()}),
        ]
        client.portal.call(release.set)
        holding.result(timeout=10)
        after = caller.get(f"/customers/{customer['id']}")

    for response in responses:
        assert_error(response, 503)
        assert response.json() == {"message": "Service Unavailable."}
        assert int(response.headers["Retry-After"]) > 0
    assert after.status_code == 200


def test_an_unexpected_exception_is_a_bare_500_and_is_logged(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)

    @app.get("/explode")
    async def explode() -> None:
        raise RuntimeError("secret internal detail")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/explode")

    assert_error(response, 500)
    assert response.json() == {"message": "Server Error."}
    assert "secret internal detail" not in response.text
    assert any(record.exc_info and "secret internal detail" in str(record.exc_info[1]) for record in caplog.records)


def test_a_client_that_leaves_mid_body_is_no_server_error(
    client: TestClient, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """wrk and impatient clients hang up during a POST: logged as a 499, no traceback, nothing stored."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/tags",
        "raw_path": b"/tags",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {api.token}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", b"64"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    messages = iter(
        [{"type": "http.request", "body": b'{"name": "half', "more_body": True}, {"type": "http.disconnect"}]
    )
    sent: list[dict] = []

    async def receive() -> dict:
        return next(messages)

    async def send(message: dict) -> None:
        sent.append(message)

    async def call() -> None:
        await client.app(scope, receive, send)

    client.portal.call(call)  # type: ignore[union-attr]

    assert sent[0]["status"] == 499
    assert not [record for record in caplog.records if record.levelname in ("ERROR", "CRITICAL")]
    assert api.get("/tags").json()["meta"]["total"] == 0
