"""The wire format (SPEC §1): JSON everywhere, seed-style timestamps, UUIDv7 ids, the /v5
prefix, and an OpenAPI description of every route, parameter, scope and error."""

import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from tests.auth.routes import ROUTES, Records, Route
from tests.conftest import Api

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
TIMESTAMP_FIELDS = ("created_at", "updated_at", "deleted_at", "last_order_at")
FILTERS = {
    "/customers": {
        "name",
        "email",
        "phone",
        "dial_code",
        "tags.id",
        "is_blacklisted",
        "is_house_account_enabled",
        "is_loyalty_enabled",
        "has_orders",
        "updated_after",
        "is_deleted",
    },
    "/tags": {"id", "name", "name_localized", "updated_after", "created_on", "updated_on", "deleted_on", "is_deleted"},
    "/delivery_zones": {
        "id",
        "name",
        "name_localized",
        "reference",
        "branches.id",
        "updated_after",
        "created_on",
        "updated_on",
        "deleted_on",
        "is_deleted",
    },
    "/addresses": {
        "id",
        "customer_id",
        "name",
        "updated_after",
        "created_on",
        "updated_on",
        "deleted_on",
        "is_deleted",
    },
    "/house_account_transactions": {
        "id",
        "customer_id",
        "order_id",
        "user_id",
        "payment_method_id",
        "updated_after",
        "created_on",
        "updated_on",
    },
    "/loyalty_transactions": {"id", "customer_id", "order_id", "updated_after", "created_on", "updated_on"},
}
INCLUDING = {
    "/customers",
    "/tags",
    "/delivery_zones",
    "/addresses",
    "/house_account_transactions",
    "/loyalty_transactions",
}


@pytest.fixture
def records(api: Api) -> Records:
    return Records(api)


@pytest.fixture(scope="module")
def openapi(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def template(path: str) -> str:
    """A path with every `{placeholder}` made anonymous, to compare ours with the document's."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def operation(openapi: dict[str, Any], route: Route) -> dict[str, Any]:
    paths = {template(path): operations for path, operations in openapi["paths"].items()}
    return paths[template(route.path)][route.method.lower()]


def collection(route: Route) -> str:
    return "/" + route.path.split("/")[1]


def walk(value: Any) -> list[tuple[str, Any]]:
    """Every (key, value) pair in a JSON document, at any depth."""
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in [(key, item), *walk(item)]]
    if isinstance(value, list):
        return [pair for item in value for pair in walk(item)]
    return []


@pytest.mark.parametrize("route", [route.param() for route in ROUTES])
def test_every_route_is_also_served_under_v5(route: Route, records: Records, api: Api) -> None:
    response = route.send(api, records, prefix="/v5")

    assert response.status_code == route.success, response.text


def test_timestamps_are_shown_to_the_second_and_dates_are_plain(api: Api) -> None:
    customer = api.make_customer(birth_date="1990-04-30", tags=[{"id": api.make_tag()["id"]}])
    api.make_address(customer["id"], delivery_zone_id=api.make_zone()["id"])
    api.delete(f"/customers/{customer['id']}")

    body = api.get(f"/customers/{customer['id']}", params={"include": "tags,addresses.delivery_zone"}).json()

    stamps = [value for key, value in walk(body) if key in TIMESTAMP_FIELDS and value is not None]
    assert len(stamps) >= 9
    assert all(TIMESTAMP.fullmatch(stamp) for stamp in stamps), stamps
    assert body["data"]["birth_date"] == "1990-04-30"


def test_ids_are_server_made_uuid_version_7(api: Api) -> None:
    customer = api.make_customer(id="chosen-by-client", tags=[{"id": api.make_tag()["id"]}])
    api.make_address(customer["id"], delivery_zone_id=api.make_zone()["id"])

    body = api.get(f"/customers/{customer['id']}", params={"include": "tags,addresses.delivery_zone"}).json()

    ids = {value for key, value in walk(body) if key == "id"}
    assert len(ids) == 4
    for value in ids:
        parsed = uuid.UUID(value)
        assert str(parsed) == value
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122


def test_responses_are_json_and_a_204_has_no_body(api: Api, anonymous: Api) -> None:
    customer = api.make_customer()
    for response in (
        api.get("/customers"),
        api.get(f"/customers/{customer['id']}"),
        anonymous.get("/tags"),
        api.get("/healthz"),
    ):
        assert response.headers["content-type"] == "application/json"
        response.json()

    deleted = api.delete(f"/customers/{customer['id']}")

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert "content-type" not in deleted.headers


@pytest.mark.parametrize("prefix", ["", "/v5"])
def test_the_description_and_docs_need_no_token(client: TestClient, prefix: str) -> None:
    description = client.get(f"{prefix}/openapi.json")
    docs = client.get(f"{prefix}/docs")

    assert description.status_code == 200
    assert description.headers["content-type"] == "application/json"
    assert description.json() == client.get("/openapi.json").json()
    assert docs.status_code == 200
    assert "/openapi.json" in docs.text


@pytest.mark.parametrize("path", ["/v5/healthz", "/v5/readyz"])
def test_the_probes_are_also_served_under_v5(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 200
    assert response.json() == client.get(path.removeprefix("/v5")).json()


@pytest.mark.parametrize("route", [route.param() for route in ROUTES])
def test_every_route_is_documented_with_its_scope_and_bearer_security(route: Route, openapi: dict[str, Any]) -> None:
    documented = operation(openapi, route)

    assert route.scope in documented["description"]
    assert documented["security"] == [{"bearer": []}]


def test_the_bearer_security_scheme_is_documented(openapi: dict[str, Any]) -> None:
    scheme = openapi["components"]["securitySchemes"]["bearer"]

    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


def errors_to_document(route: Route) -> set[int]:
    """What SPEC §3 lets this route answer besides success (429 aside)."""
    statuses = {401, 403, 503}
    if "{" in route.path:
        statuses.add(404)
    elif route.method == "GET":
        statuses.add(400)
    if route.body is not None:
        statuses |= {400, 413, 422}
    if route.method == "PUT":
        statuses.add(409)
    return statuses


@pytest.mark.parametrize("route", [route.param() for route in ROUTES])
def test_every_route_documents_its_errors_with_the_error_body(route: Route, openapi: dict[str, Any]) -> None:
    responses = operation(openapi, route)["responses"]

    statuses = {int(status) for status in responses if status[0] in "45"}
    assert errors_to_document(route) <= statuses
    for status in statuses:
        schema = responses[str(status)]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (status, schema)


def test_the_error_body_is_documented(openapi: dict[str, Any]) -> None:
    error_body = openapi["components"]["schemas"]["ErrorBody"]

    assert error_body["required"] == ["message"]
    assert set(error_body["properties"]) == {"message", "errors"}


@pytest.mark.parametrize("path", sorted(FILTERS))
def test_every_list_documents_its_filters_sort_and_paging(path: str, openapi: dict[str, Any]) -> None:
    parameters = {parameter["name"] for parameter in openapi["paths"][path]["get"]["parameters"]}

    assert {f"filter[{name}]" for name in FILTERS[path]} | {"sort", "page", "per_page"} <= parameters


@pytest.mark.parametrize(
    "route", [route.param() for route in ROUTES if collection(route) in INCLUDING and route.method != "DELETE"]
)
def test_routes_that_return_a_record_with_relations_document_include(route: Route, openapi: dict[str, Any]) -> None:
    parameters = {parameter["name"] for parameter in operation(openapi, route).get("parameters", [])}

    assert "include" in parameters


@pytest.mark.parametrize("route", [route.param() for route in ROUTES if route.body is not None])
def test_every_write_documents_its_json_body(route: Route, openapi: dict[str, Any]) -> None:
    body = operation(openapi, route)["requestBody"]["content"]["application/json"]["schema"]

    # Records have a name; ledger entries, an amount; webhook endpoints, a url.
    assert {"name", "amount", "url"} & set(body["properties"])


def test_the_probes_are_documented_without_security(openapi: dict[str, Any]) -> None:
    for path in ("/healthz", "/readyz"):
        assert "security" not in openapi["paths"][path]["get"]


def test_the_v5_copies_are_not_documented_twice(openapi: dict[str, Any]) -> None:
    assert not [path for path in openapi["paths"] if path.startswith("/v5")]


def test_the_description_is_valid_openapi(openapi: dict[str, Any]) -> None:
    validate(openapi)


def test_every_operation_has_an_id_of_its_own_that_says_what_it_does(openapi: dict[str, Any]) -> None:
    ids = {
        f"{method.upper()} {path}": described["operationId"]
        for path, operations in openapi["paths"].items()
        for method, described in operations.items()
    }

    assert len(set(ids.values())) == len(ids)
    assert {route: ids[route] for route in ids if route.split()[1].startswith("/customers")} == {
        "GET /customers": "listCustomers",
        "POST /customers": "createCustomer",
        "GET /customers/{customer_id}": "getCustomer",
        "PUT /customers/{customer_id}": "updateCustomer",
        "DELETE /customers/{customer_id}": "deleteCustomer",
        "PUT /customers/{customer_id}/restore": "restoreCustomer",
    }
    assert ids["GET /delivery_zones/{zone_id}"] == "getDeliveryZone"
    assert ids["POST /addresses"] == "createAddress"
    assert {route: ids[route] for route in ids if "transactions" in route} == {
        "GET /house_account_transactions": "listHouseAccountTransactions",
        "POST /house_account_transactions": "createHouseAccountTransaction",
        "GET /house_account_transactions/{transaction_id}": "getHouseAccountTransaction",
        "GET /loyalty_transactions": "listLoyaltyTransactions",
        "POST /loyalty_transactions": "createLoyaltyTransaction",
        "GET /loyalty_transactions/{transaction_id}": "getLoyaltyTransaction",
    }


@pytest.mark.parametrize("route", [route.param() for route in ROUTES if "{" in route.path])
def test_every_single_record_route_declares_if_match_and_a_uuid_id(route: Route, openapi: dict[str, Any]) -> None:
    parameters = {parameter["name"]: parameter for parameter in operation(openapi, route)["parameters"]}
    [path_id] = [parameter for parameter in parameters.values() if parameter["in"] == "path"]

    assert parameters["If-Match"]["in"] == "header"
    assert parameters["If-Match"]["schema"] == {"type": "string"}
    assert path_id["schema"] == {"type": "string", "format": "uuid"}


@pytest.mark.parametrize("route", [route.param() for route in ROUTES if route.method == "POST"])
def test_every_create_declares_its_idempotency_key_header(route: Route, openapi: dict[str, Any]) -> None:
    parameters = {parameter["name"]: parameter for parameter in operation(openapi, route)["parameters"]}

    assert parameters["Idempotency-Key"]["in"] == "header"
    assert parameters["Idempotency-Key"]["schema"]["type"] == "string"


def test_every_enum_is_one_component_that_names_each_value(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    customer_includes = [
        parameter["schema"]["items"]
        for path, operations in openapi["paths"].items()
        if path.startswith("/customers")
        for described in operations.values()
        for parameter in described.get("parameters", [])
        if parameter["name"] == "include"
    ]

    assert [key for key, _value in walk(openapi["paths"]) if key == "enum"] == []
    assert dict(zip(schemas["Gender"]["enum"], schemas["Gender"]["x-enum-varnames"], strict=True)) == {
        1: "MALE",
        2: "FEMALE",
    }
    sorts = dict(zip(schemas["CustomerSort"]["enum"], schemas["CustomerSort"]["x-enum-varnames"], strict=True))
    assert sorts["-created_at"] == "CREATED_AT_DESC"
    assert len(customer_includes) == 5
    assert all(items == {"$ref": "#/components/schemas/CustomerInclude"} for items in customer_includes)


@pytest.mark.parametrize("path", sorted(FILTERS))
def test_no_list_parameter_has_a_default_that_a_generated_client_would_send(path: str, openapi: dict[str, Any]) -> None:
    """A generated client sends a documented default as if the caller chose it: `page=1` beside a
    cursor is a 400."""
    parameters = openapi["paths"][path]["get"]["parameters"]

    assert [parameter["name"] for parameter in parameters if "default" in parameter["schema"]] == []


def test_no_framework_validation_error_is_documented_as_it_is_never_sent(openapi: dict[str, Any]) -> None:
    assert not set(openapi["components"]["schemas"]) & {"HTTPValidationError", "ValidationError"}
