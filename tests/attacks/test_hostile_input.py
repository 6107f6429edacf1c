"""Hostile input (issue 4 §4): injection in every query parameter and body field, and bodies and
requests built to break parsers.

What a client must see: a documented 4xx with a JSON error body (400 malformed query or body,
404 unknown id, 412 stale If-Match, 413 body too large, 422 invalid field), never a 5xx, and
nothing changed in either business. Injection text sent where any text is allowed (a name, a
description) is not an attack on anything: it is stored and read back exactly as sent, and a
filter treats it as plain text. HTTP that uvicorn itself cannot parse never reaches the
application; what the client sees then is tested against a real server process at the end.
"""

import json
import re
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from clientele.addresses import service as addresses
from clientele.addresses.schemas import AddressInput
from clientele.customers import service as customers
from clientele.customers.schemas import CustomerInput
from clientele.delivery_zones import service as delivery_zones
from clientele.delivery_zones.schemas import DeliveryZoneInput
from clientele.ledgers.schemas import HouseAccountTransactionInput, LedgerEntryInput
from clientele.ledgers.service import HOUSE_ACCOUNT, LOYALTY
from clientele.listing.spec import ListSpec
from clientele.tags import service as tags
from clientele.tags.schemas import TagInput
from clientele.web.protocol import MAX_REQUEST_HEAD_BYTES
from tests.attacks.conftest import stored_snapshot
from tests.cli.processes import Server, serving
from tests.conftest import Api, new_business, new_token, next_phone

MIB = 1024 * 1024
SQL_INJECTIONS = (
    "' OR '1'='1",
    "'; DROP TABLE customers; --",
    "1 OR 1=1",
    "' UNION SELECT token_hash, scopes FROM tokens --",
    "%' OR name LIKE '%",
    "%",
    "_",
    "\\",
    "$1",
    "*/ OR 1=1 /*",
)
JSON_INJECTIONS = (
    '{"$ne": null}',
    '"}, "deleted_at": null, "x": {"',
)
INJECTIONS = SQL_INJECTIONS + JSON_INJECTIONS
# Values of the wrong JSON type, as a NoSQL-style injection would send them.
INJECTED_VALUES: tuple[Any, ...] = ({"$ne": None}, ["' OR 1=1 --"], [{"id": {"__proto__": {"admin": True}}}])
# Fields that hold any text up to their length: injection text there is data.
FREE_TEXT = {
    "name",
    "name_localized",
    "reference",
    "description",
    "city_id",
    "notes",
    "order_id",
    "user_id",
    "payment_method_id",
}
MAX_LENGTH = {
    "description": 65_535,
    "city_id": 64,
    "notes": 10_000,
    "order_id": 64,
    "user_id": 64,
    "payment_method_id": 64,
}
# Fields that hold any JSON object or array: injection there is data, and only another JSON type is refused.
FREE_JSON = {"meta"}
# Fields that hold a list of any texts: injection text is data in an entry, not in place of the list.
FREE_TEXT_LINES = {"details"}
# Nested beyond every parser's comfort, and still well under the 1 MiB limit.
DEEP = 100_000
# Within orjson's depth limit (1024), so the value reaches the field rules.
DEEP_BUT_PARSED = 1_000


def with_raw_field(body: dict[str, Any], field: str, raw: bytes) -> bytes:
    """`body` as JSON with `field` set to JSON text too deep for any encoder to write."""
    members = [
        json.dumps(name).encode() + b": " + json.dumps(value).encode() for name, value in body.items() if name != field
    ]
    return b"{" + b", ".join([*members, json.dumps(field).encode() + b": " + raw]) + b"}"


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@dataclass(frozen=True)
class ListRoute:
    path: str
    spec: ListSpec

    @property
    def parameters(self) -> list[str]:
        return [*(f"filter[{name}]" for name in self.spec.filters), "sort", "include", "page", "per_page", "cursor"]


LISTS = [
    ListRoute("/customers", customers.LIST_SPEC),
    ListRoute("/tags", tags.LIST_SPEC),
    ListRoute("/delivery_zones", delivery_zones.LIST_SPEC),
    ListRoute("/addresses", addresses.LIST_SPEC),
    ListRoute(HOUSE_ACCOUNT.path, HOUSE_ACCOUNT.list_spec),
    ListRoute(LOYALTY.path, LOYALTY.list_spec),
]


@dataclass(frozen=True)
class WriteRoute:
    """A route that takes a body: its fields, and a valid body to put one hostile value into."""

    method: str
    path: str
    model: type[BaseModel]
    valid_body: Callable[[dict[str, str]], dict[str, Any]]

    @property
    def fields(self) -> list[str]:
        return list(self.model.model_fields)

    @property
    def success(self) -> int:
        return 201 if self.method == "POST" else 200

    def url(self, targets: dict[str, str]) -> str:
        return self.path.format_map(targets)

    def param(self) -> Any:
        return pytest.param(self, id=f"{self.method} {self.path}")


WRITES = [
    WriteRoute(
        "POST", "/customers", CustomerInput, lambda _: {"name": "Hostile", "dial_code": 966, "phone": next_phone()}
    ),
    WriteRoute("PUT", "/customers/{customer}", CustomerInput, lambda _: {}),
    WriteRoute("POST", "/tags", TagInput, lambda _: {"name": f"hostile-{uuid.uuid4().hex}"}),
    WriteRoute("PUT", "/tags/{tag}", TagInput, lambda _: {}),
    WriteRoute("POST", "/delivery_zones", DeliveryZoneInput, lambda _: {"name": "Hostile zone"}),
    WriteRoute("PUT", "/delivery_zones/{zone}", DeliveryZoneInput, lambda _: {}),
    WriteRoute(
        "POST", "/addresses", AddressInput, lambda targets: {"name": "Hostile", "customer_id": targets["customer"]}
    ),
    WriteRoute("PUT", "/addresses/{address}", AddressInput, lambda _: {}),
    # A payment and an earning, which the account holder always takes.
    WriteRoute(
        "POST",
        HOUSE_ACCOUNT.path,
        HouseAccountTransactionInput,
        lambda targets: {"customer_id": targets["account_holder"], "amount": 1},
    ),
    WriteRoute(
        "POST", LOYALTY.path, LedgerEntryInput, lambda targets: {"customer_id": targets["account_holder"], "amount": 1}
    ),
]
RECORD_ROUTES = ["/customers/{customer}", "/tags/{tag}", "/delivery_zones/{zone}", "/addresses/{address}"]
# Single records with relations to include; the others take no `include` and ignore it.
INCLUDING_ROUTES = {"/customers/{customer}", "/addresses/{address}"}


def business_with_records(client: TestClient, name: str) -> tuple[Api, dict[str, str]]:
    """A business with a customer (tagged, with an address in a zone) and a customer whose house
    account and loyalty are open, and its all-scope client."""
    business_id = new_business(client, name)
    api = Api(client, new_token(client, business_id).token, business_id)
    tag, zone = api.make_tag(), api.make_zone()
    customer = api.make_customer(tags=[{"id": tag["id"]}])
    address = api.make_address(customer["id"], delivery_zone_id=zone["id"])
    holder = api.make_customer(is_house_account_enabled=True, is_loyalty_enabled=True)
    return api, {
        "customer": customer["id"],
        "tag": tag["id"],
        "zone": zone["id"],
        "address": address["id"],
        "account_holder": holder["id"],
    }


@pytest.fixture(scope="module")
def attacker(client: TestClient) -> tuple[Api, dict[str, str]]:
    return business_with_records(client, "Attacking business")


@pytest.fixture(scope="module")
def bystander(client: TestClient) -> tuple[Api, dict[str, str]]:
    return business_with_records(client, "Bystander business")


@pytest.fixture
def api(attacker: tuple[Api, dict[str, str]]) -> Api:
    """The attacking business's all-scope client: one business for the whole module."""
    return attacker[0]


@pytest.fixture
def targets(attacker: tuple[Api, dict[str, str]]) -> dict[str, str]:
    return attacker[1]


@pytest.fixture
def nothing_changes(
    client: TestClient, attacker: tuple[Api, dict[str, str]], bystander: tuple[Api, dict[str, str]]
) -> Iterator[None]:
    """Both businesses hold exactly the rows they held before the test."""
    businesses = [attacker[0].business_id, bystander[0].business_id]
    before = [stored_snapshot(client, business_id) for business_id in businesses]
    yield
    assert [stored_snapshot(client, business_id) for business_id in businesses] == before


@pytest.fixture
def bystander_untouched(client: TestClient, bystander: tuple[Api, dict[str, str]]) -> Iterator[None]:
    """For tests whose own business may change: the other business holds exactly the rows it held."""
    before = stored_snapshot(client, bystander[0].business_id)
    yield
    assert stored_snapshot(client, bystander[0].business_id) == before


def assert_error(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """A documented client error with the JSON error body; the body."""
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert isinstance(body["message"], str) and set(body) <= {"message", "errors"}
    return body


def send(api: Api, route: WriteRoute, targets: dict[str, str], **kwargs: Any) -> httpx.Response:
    return api.request(route.method, route.url(targets), **kwargs)


# --- the query string ------------------------------------------------------------------


@pytest.mark.parametrize("route", LISTS, ids=[route.path for route in LISTS])
def test_injection_in_any_list_parameter_is_a_400_naming_it_or_matches_nothing(
    client: TestClient, route: ListRoute, bystander_untouched: None
) -> None:
    # A business of its own: the module's other tests store injection text as names.
    api, _ = business_with_records(client, "Listing business")
    before = stored_snapshot(client, api.business_id)
    for parameter in route.parameters:
        for value in INJECTIONS:
            response = api.get(route.path, params={parameter: value})

            if response.status_code == 200:
                assert response.json()["data"] == [], (parameter, value)
            else:
                assert parameter in assert_error(response, 400)["errors"], (parameter, value)
    assert stored_snapshot(client, api.business_id) == before


@pytest.mark.parametrize("route", LISTS, ids=[route.path for route in LISTS])
def test_any_text_in_any_list_parameter_is_a_400_naming_it_or_only_the_callers_records(
    api: Api, bystander: tuple[Api, dict[str, str]], route: ListRoute
) -> None:
    others = set(bystander[1].values())

    @settings(
        max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(parameter=st.sampled_from(route.parameters), value=st.text(max_size=40) | st.sampled_from(INJECTIONS))
    def check(parameter: str, value: str) -> None:
        response = api.get(route.path, params={parameter: value})

        if response.status_code == 200:
            assert not {record["id"] for record in response.json()["data"]} & others
        else:
            assert parameter in assert_error(response, 400)["errors"]

    check()


def test_percent_encoded_bytes_that_are_not_utf8_are_read_as_replacement_characters(api: Api) -> None:
    assert api.get("/customers?filter[name]=%FF%FE").json()["data"] == []
    assert_error(api.get("/customers?sort=%FF"), 400)
    assert_error(api.get("/customers?filter[%FF]=1"), 400)


@pytest.mark.parametrize("path", RECORD_ROUTES)
def test_injection_in_a_record_id_is_a_404_and_in_include_a_400(
    api: Api, targets: dict[str, str], path: str, nothing_changes: None
) -> None:
    for value in INJECTIONS:
        record_path = path.format_map(targets)
        for method in ("GET", "PUT", "DELETE"):
            # An id holding "/" reaches no route at all: still a JSON 404 (or 405 for the method).
            assert_error(
                api.request(method, path.format_map({name: value for name in targets}), json={"name": "Never stored"}),
                404,
                405,
            )
        if path in INCLUDING_ROUTES:
            assert_error(api.get(record_path, params={"include": value}), 400)
    for value in INJECTIONS:
        assert_error(api.put(f"/customers/{value}/restore"), 404, 405)


@pytest.mark.parametrize("value", [*INJECTIONS, "x" * 10_000, "clt_" + "A" * 43])
def test_injection_in_the_token_is_a_401(anonymous: Api, value: str) -> None:
    for authorization in (f"Bearer {value}", value):
        response = anonymous.get("/customers", headers={"Authorization": authorization})

        assert assert_error(response, 401) == {"message": "Unauthenticated."}
        assert response.headers["www-authenticate"] == "Bearer"


# --- body fields -----------------------------------------------------------------------


def hostile_values(field: str) -> tuple[Any, ...]:
    """Injection text and values of the wrong JSON type that `field` must refuse."""
    if field in FREE_TEXT:
        return INJECTED_VALUES
    if field in FREE_JSON:
        return INJECTIONS
    values = (*INJECTIONS, *INJECTED_VALUES)
    if field in FREE_TEXT_LINES:
        return tuple(value for value in values if not is_text_list(value))
    return values


def is_text_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


@pytest.mark.parametrize("route", [route.param() for route in WRITES])
def test_injection_in_a_field_that_is_not_free_text_is_a_422_naming_it(
    api: Api, targets: dict[str, str], route: WriteRoute, nothing_changes: None
) -> None:
    for field in route.fields:
        for value in hostile_values(field):
            response = send(api, route, targets, json=route.valid_body(targets) | {field: value})

            assert field in assert_error(response, 422).get("errors", {}), (field, value, response.text)


TEXT_FILTERS = {
    ("/customers", "name"): "name",
    ("/tags", "name"): "name",
    ("/delivery_zones", "name"): "name",
    ("/delivery_zones", "reference"): "reference",
}


@pytest.mark.parametrize("route", [route.param() for route in WRITES if route.method == "POST"])
def test_injection_text_in_a_free_text_field_is_stored_exactly_and_filters_as_plain_text(
    api: Api, targets: dict[str, str], route: WriteRoute, bystander_untouched: None
) -> None:
    for field in FREE_TEXT & set(route.fields):
        for value in INJECTIONS:
            created = api.post(route.path, json=route.valid_body(targets) | {field: value})

            assert created.status_code == 201, (field, value, created.text)
            record = created.json()["data"]
            assert api.get(f"{route.path}/{record['id']}").json()["data"] == record
            assert record[field] == value
            if (route.path, field) in TEXT_FILTERS:
                listed = api.get(
                    route.path, params={f"filter[{TEXT_FILTERS[route.path, field]}]": value, "per_page": 1000}
                ).json()["data"]
                assert record["id"] in {found["id"] for found in listed}
                assert all(value.casefold() in found[field].casefold() for found in listed), (field, value)
    for field in FREE_TEXT_LINES & set(route.fields):
        created = api.post(route.path, json=route.valid_body(targets) | {field: list(INJECTIONS)})

        assert created.status_code == 201, (field, created.text)
        assert created.json()["data"][field] == list(INJECTIONS)
        assert api.get(f"{route.path}/{created.json()['data']['id']}").json()["data"] == created.json()["data"]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=300)
    | st.sampled_from(INJECTIONS),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@pytest.mark.parametrize("route", [route.param() for route in WRITES])
def test_any_json_value_in_any_field_is_stored_as_answered_or_a_422_that_changes_nothing(
    api: Api, targets: dict[str, str], route: WriteRoute, bystander_untouched: None
) -> None:

    def current() -> Any:
        if route.method == "POST":
            return api.get(route.path, params={"per_page": 1}).json()["meta"]["total"]
        return api.get(route.url(targets)).json()

    @settings(
        max_examples=20, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(field=st.sampled_from(route.fields), value=json_values)
    def check(field: str, value: Any) -> None:
        before = current()

        response = send(api, route, targets, json=route.valid_body(targets) | {field: value})

        if response.status_code == route.success:
            record = response.json()["data"]
            assert api.get(f"/{route.path.split('/')[1]}/{record['id']}").json()["data"] == record
        else:
            assert_error(response, 422)
            assert current() == before

    check()


@pytest.mark.parametrize("route", [route.param() for route in WRITES])
def test_nul_characters_and_overlong_text_are_a_422_naming_the_field(
    api: Api, targets: dict[str, str], route: WriteRoute, nothing_changes: None
) -> None:
    for field in FREE_TEXT & set(route.fields):
        limit = MAX_LENGTH.get(field, 255)
        for value in ("a\x00b", "\x00", "x" * (limit + 1), "x" * (MIB - 100)):
            response = send(api, route, targets, json=route.valid_body(targets) | {field: value})

            assert field in assert_error(response, 422)["errors"], (field, len(value))


OUT_OF_RANGE: dict[str, tuple[Any, ...]] = {
    "amount": (0, -0.0, 10**9, -(10**9), 2**64, 1e308, 0.0001, 5e-324, "1e999", "NaN", "Infinity", "0x1A", True),
    "dial_code": (0, -966, 2**31, 2**63 - 1, -(2**63), 2**64 - 1, 2**64, 1e308, 966.5, "9" * 30, True),
    "phone": ("9" * 21, 10**20, 5.65445254e8, "٥" * 21, "+" + "9" * 21),
    "gender": (0, 3, -1, 2**63, 1.5, True),
    "house_account_limit": (-1, 2**31, 2**64, 1e308, -0.5),
    "is_blacklisted": (2, -1, 0.5, "true"),
    "is_loyalty_enabled": (2, "1"),
    "is_house_account_enabled": (2, "0"),
    "birth_date": ("0000-00-00", "9999-12-31", "1899-12-31", "2024-02-30", "2024-1-1", 20240101),
    "latitude": (90.0000001, -91, "1e999", "NaN", "-Infinity", 1e308, "1e-999999999", "0x1A"),
    "longitude": (180.0000001, -181, "Infinity", "1" * 40),
    "details": (["x"] * 21, ["x" * 256], [""], [" "], [1], [None], ["a\x00b"]),
    "branches": ([{"id": "x" * 65}], [{"id": ""}], [{"id": 1}], [{"id": "a\x00b"}], [{}]),
    "coordinates": (
        [[0, 0], [1e308, 0], [1, 1], [0, 0]],
        [[0, 0]] * 3,
        [[0, 91], [1, 0], [1, 1], [0, 91]],
        [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 0, 0]],
        [[True, 0], [1, 0], [1, 1], [True, 0]],
    ),
}


@pytest.mark.parametrize("route", [route.param() for route in WRITES])
def test_numbers_and_dates_out_of_range_are_a_422_naming_the_field(
    api: Api, targets: dict[str, str], route: WriteRoute, nothing_changes: None
) -> None:
    for field in set(OUT_OF_RANGE) & set(route.fields):
        for value in OUT_OF_RANGE[field]:
            response = send(api, route, targets, json=route.valid_body(targets) | {field: value})

            assert field in assert_error(response, 422).get("errors", {}), (field, value, response.text)


@pytest.mark.parametrize("route", [route.param() for route in WRITES if route.method == "POST"])
def test_injection_in_an_idempotency_key_is_only_a_key(
    api: Api, targets: dict[str, str], route: WriteRoute, bystander_untouched: None
) -> None:
    def total() -> int:
        return api.get(route.path, params={"per_page": 1}).json()["meta"]["total"]

    before = total()
    for value in INJECTIONS:
        body, headers = route.valid_body(targets), {"Idempotency-Key": f"{value} {uuid.uuid4().hex}"}

        first, again = (
            api.post(route.path, json=body, headers=headers),
            api.post(route.path, json=body, headers=headers),
        )

        assert first.status_code == 201, (value, first.text)
        assert (again.status_code, again.json(), again.headers["idempotent-replayed"]) == (201, first.json(), "true")
    assert total() == before + len(INJECTIONS)


@pytest.mark.parametrize("path", RECORD_ROUTES)
def test_injection_in_if_match_is_a_412_that_changes_nothing(
    api: Api, targets: dict[str, str], path: str, nothing_changes: None
) -> None:
    for value in INJECTIONS:
        for method, body in (("PUT", {"name": "Never stored"}), ("DELETE", None)):
            response = api.request(method, path.format_map(targets), json=body, headers={"If-Match": value})

            assert_error(response, 412)


# --- whole bodies ----------------------------------------------------------------------


def prefixes(body: bytes) -> list[bytes]:
    return [body[:end] for end in range(len(body))]


NOT_A_JSON_OBJECT = [
    *prefixes(b'{"n": [{}]}'),
    b"null",
    b"[]",
    b"1",
    b'"text"',
    b"true",
    b"[" * DEEP + b"]" * DEEP,
    b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    b'{"name": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    b'{"name": "\xff\xfe"}',
    b'{"name": "\xc0\xaf"}',
    b'{"name": "\xed\xa0\x80"}',
    b'{"name": "\\ud800"}',
    b'\xef\xbb\xbf{"name": "BOM"}',
    b'{"name": "raw \x00 NUL"}',
    b'{"name": "trailing"}\x00',
    b'{"name": "one"} {"name": "two"}',
    b'{"house_account_limit": NaN}',
    b'{"house_account_limit": Infinity}',
    b'{"house_account_limit": 1e999}',
    b"{'name': 'single quotes'}",
    b'{"name": "comment" /* x */}',
    b'{"name": "trailing comma",}',
    b"name=form+encoded&dial_code=966",
    b'--boundary\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--boundary--\r\n',
]


@pytest.mark.parametrize("route", [route.param() for route in WRITES])
def test_a_body_that_is_not_one_json_object_is_a_400(
    api: Api, targets: dict[str, str], route: WriteRoute, nothing_changes: None
) -> None:
    for body in NOT_A_JSON_OBJECT:
        response = send(api, route, targets, content=body, headers={"Content-Type": "application/json"})

        assert_error(response, 400)


@pytest.mark.parametrize("route", [route.param() for route in WRITES])
def test_a_body_over_one_mebibyte_is_a_413(
    api: Api, targets: dict[str, str], route: WriteRoute, nothing_changes: None
) -> None:
    oversized = b'{"name": "' + b"x" * MIB + b'"}'

    assert_error(send(api, route, targets, content=oversized), 413)


@pytest.mark.parametrize("route", [route.param() for route in WRITES])
def test_deep_nesting_the_parser_accepts_is_a_422_in_a_field_and_ignored_elsewhere(
    api: Api, targets: dict[str, str], route: WriteRoute, bystander_untouched: None
) -> None:
    deep = nested(DEEP_BUT_PARSED)
    for field in route.fields:
        response = send(api, route, targets, content=with_raw_field(route.valid_body(targets), field, deep))

        assert field in assert_error(response, 422)["errors"], field

    ignored = send(api, route, targets, content=with_raw_field(route.valid_body(targets), "unknown", deep))

    assert ignored.status_code == route.success, ignored.text


def test_deep_nesting_is_ignored_in_an_unknown_field_with_an_idempotency_key_too(api: Api) -> None:
    body = with_raw_field({"name": f"deep-{uuid.uuid4().hex}"}, "unknown", nested(300))

    response = api.post("/tags", content=body, headers={"Idempotency-Key": uuid.uuid4().hex})

    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "application/xml", None]
)
def test_a_json_object_is_read_whatever_content_type_it_is_labelled(api: Api, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    body = f'{{"name": "labelled {content_type}-{uuid.uuid4().hex}"}}'.encode()

    response = api.post("/tags", content=body, headers=headers)

    assert response.status_code == 201, response.text
    assert api.get(f"/tags/{response.json()['data']['id']}").json()["data"] == response.json()["data"]


# --- HTTP that uvicorn answers itself, against a real server ------------------------------

UVICORN_REFUSAL = b"Invalid HTTP request received."
HEADER_FLOOD = 500
ENDLESS_HEADER_BYTES = 32 * MIB


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(database_url, tmp_path_factory.mktemp("serve")) as [running]:
        yield running


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def connect(server: Server) -> socket.socket:
    host, port = server.base_url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def exchange(server: Server, sent: bytes) -> bytes:
    """Send bytes as they are (no client library would send most of these) and read all the server answers."""
    with connect(server) as connection:
        connection.sendall(sent)
        received = b""
        while chunk := connection.recv(MIB):
            received += chunk
    return received


def raw_request(server: Server, head: bytes, body: bytes = b"") -> RawResponse:
    """One request as it is, closing the connection, and its answer."""
    received = exchange(server, head + b"Connection: close\r\n\r\n" + body)
    status_line, *header_lines = received.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in header_lines)
    return RawResponse(int(status_line.split()[1]), headers, received.partition(b"\r\n\r\n")[2])


def request_head(method: str, target: bytes, *headers: bytes) -> bytes:
    return (
        method.encode()
        + b" "
        + target
        + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + b"".join(header + b"\r\n" for header in headers)
    )


def bearer(api: Api) -> bytes:
    return f"Authorization: Bearer {api.token}".encode()


def test_hundreds_of_headers_are_read_like_any_others(server: Server, api: Api) -> None:
    flood = [f"X-Flood-{number}: {number}".encode() for number in range(HEADER_FLOOD)]

    response = raw_request(server, request_head("GET", b"/customers?per_page=1", bearer(api), *flood))

    assert response.status == 200
    assert response.headers["content-type"] == "application/json"


def test_a_long_header_within_the_head_bound_is_read_like_any_other(server: Server, api: Api) -> None:
    long_value = b"X-Long: " + b"a" * (MAX_REQUEST_HEAD_BYTES - 1024)

    response = raw_request(server, request_head("GET", b"/customers?per_page=1", bearer(api), long_value))

    assert response.status == 200
    assert response.headers["content-type"] == "application/json"


def refused_head(response: RawResponse) -> tuple[int, str, str, str]:
    return (
        response.status,
        response.headers["content-type"],
        response.headers["connection"],
        json.loads(response.body)["message"],
    )


@pytest.mark.parametrize(
    "target, padding",
    [
        (b"/customers", [b"X-Long: " + b"a" * (MAX_REQUEST_HEAD_BYTES + 1)]),
        (b"/customers", [b"X-Token: " + b"a" * MIB]),
        (b"/customers", [b"X-Flood: " + b"a" * 1000] * 70),
        (b"/customers?filter[name]=" + b"a" * (64 * 1024), []),
    ],
    ids=["one header just over", "a 1 MiB header", "many headers", "a 64 KiB URL"],
)
def test_a_head_over_the_bound_is_a_431_where_the_route_would_answer(
    server: Server, api: Api, target: bytes, padding: list[bytes]
) -> None:
    response = raw_request(server, request_head("GET", target, bearer(api), *padding))

    assert refused_head(response) == (
        431,
        "application/json",
        "close",
        "The request head (request line and headers) must not be greater than 65536 bytes.",
    )
    assert httpx.get(f"{server.base_url}/healthz").status_code == 200


def test_a_refused_head_carries_a_request_id_the_log_names_and_the_security_headers(server: Server, api: Api) -> None:
    over = b"X-Long: " + b"a" * (MAX_REQUEST_HEAD_BYTES + 1)

    first, second = (raw_request(server, request_head("GET", b"/customers", bearer(api), over)) for _ in range(2))

    assert (first.status, second.status) == (431, 431)
    assert re.fullmatch("[0-9a-f]{32}", first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert (first.headers["x-content-type-options"], first.headers["cache-control"]) == ("nosniff", "no-store")
    assert f"request_id={first.headers['x-request-id']}" in server.stdout()


def test_a_head_over_the_bound_behind_a_request_on_the_same_connection_is_a_431(server: Server, api: Api) -> None:
    first = request_head("GET", b"/customers?per_page=1", bearer(api)) + b"\r\n"
    behind = request_head(
        "GET", b"/customers?per_page=1", bearer(api), b"X-Long: " + b"a" * (MAX_REQUEST_HEAD_BYTES + 1)
    )

    received = exchange(server, first + behind + b"\r\n")

    status_lines = [line for line in received.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]
    assert status_lines[-1] == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert b"HTTP/1.1 200 OK" not in status_lines[1:]
    assert "Traceback" not in server.stdout()


def test_a_head_that_does_not_end_is_refused_once_it_passes_the_bound(server: Server) -> None:
    # Never ended: no line break after it, no empty line.
    received = exchange(server, request_head("GET", b"/healthz") + b"X-Endless: " + b"a" * (MAX_REQUEST_HEAD_BYTES + 1))

    assert received.split(b"\r\n", 1)[0] == b"HTTP/1.1 431 Request Header Fields Too Large"


def test_a_refused_client_that_goes_on_sending_is_cut_off(server: Server) -> None:
    with connect(server) as connection:
        sent = 0
        try:
            connection.sendall(request_head("GET", b"/healthz") + b"X-Endless: ")
            while sent < ENDLESS_HEADER_BYTES:
                connection.sendall(b"a" * MIB)
                sent += MIB
        except (BrokenPipeError, ConnectionResetError):
            pass

    assert sent < ENDLESS_HEADER_BYTES
    assert httpx.get(f"{server.base_url}/healthz").status_code == 200


@pytest.mark.parametrize(
    "head",
    [
        request_head("GET", b"/customers", b"X-Nul: a\x00b"),
        request_head("GET", b"/customers/\xff\xfe"),
        request_head("GET", "/customers?filter[name]=οδος".encode()),
        request_head("POST", b"/tags", b"Content-Length: twelve"),
        request_head("POST", b"/tags", b"Content-Length: 2", b"Transfer-Encoding: chunked"),
        request_head("POST", b"/tags", b"Content-Length: 2", b"Content-Length: 20"),
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 32 + b"\r\n",
        b"GET /customers HTTP/9.9\r\nHost: 127.0.0.1\r\n",
    ],
    ids=[
        "NUL in a header",
        "raw non-UTF-8 path",
        "raw UTF-8 query",
        "Content-Length not a number",
        "Content-Length and chunked",
        "two Content-Lengths",
        "TLS handshake",
        "unknown HTTP version",
    ],
)
def test_http_uvicorn_cannot_parse_is_its_plain_text_400_and_the_server_stays_up(server: Server, head: bytes) -> None:
    response = raw_request(server, head, b"{}")

    assert (response.status, response.body) == (400, UVICORN_REFUSAL)
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert httpx.get(f"{server.base_url}/healthz").status_code == 200


def test_a_declared_body_over_one_mebibyte_is_a_413_before_it_is_sent(server: Server, api: Api) -> None:
    response = raw_request(server, request_head("POST", b"/tags", bearer(api), b"Content-Length: 99999999999"))

    assert response.status == 413
    assert response.headers["content-type"] == "application/json"


def test_a_body_uvicorn_refused_is_never_stored(
    server: Server, client: TestClient, bystander: tuple[Api, dict[str, str]]
) -> None:
    before = stored_snapshot(client, bystander[0].business_id)

    smuggled = raw_request(
        server,
        request_head("POST", b"/tags", bearer(bystander[0]), b"Content-Length: 2", b"Transfer-Encoding: chunked"),
        b'{"name": "smuggled"}',
    )

    assert smuggled.status == 400
    assert stored_snapshot(client, bystander[0].business_id) == before
