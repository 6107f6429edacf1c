"""What a client generated from /openapi.json needs of the document beyond what FastAPI writes: an
operationId per route by one rule, path ids typed as UUIDs, `If-Match` declared where it is honoured,
and each named enum one component (docs/decisions.md, "Generated clients")."""

from typing import Any

from fastapi.routing import APIRoute

from clientele.listing.openapi import pascal_case, singular
from clientele.web.versions import IF_MATCH_PARAMETER

RECORD_VERBS = {"GET": "get", "PUT": "update", "PATCH": "update", "DELETE": "delete"}
COMPONENT_SCHEMAS = "#/components/schemas/"


def camel_case(name: str) -> str:
    first, *rest = name.split("_")
    return first + pascal_case("_".join(rest))


def is_parameter(segment: str) -> bool:
    return segment.startswith("{")


def operation_id(route: APIRoute) -> str:
    """`listCustomers`, `createCustomer`, `getCustomer`, `updateCustomer`, `deleteCustomer`; an action on a
    record is named by its last segment (`restoreCustomer`), a list under a record by both
    (`listWebhookEndpointDeliveries`).

    Read from the method and the path's last segments, so that a new route has its id without naming one,
    and the same route under `/v5` has the same id. A route outside this shape (a probe) names its own.
    """
    [method] = list(route.methods or ())  # every route here serves one method
    segments = route.path.strip("/").split("/")
    if is_parameter(segments[-1]):
        record = pascal_case(singular(segments[-2]))
        return RECORD_VERBS.get(method, method.lower()) + record
    if len(segments) >= 3 and is_parameter(segments[-2]):
        record, action = pascal_case(singular(segments[-3])), segments[-1]
        return f"list{record}{pascal_case(action)}" if method == "GET" else camel_case(action) + record
    collection = segments[-1]
    if method == "GET":
        return f"list{pascal_case(collection)}"
    if method == "POST":
        return f"create{pascal_case(singular(collection))}"
    return method.lower() + pascal_case(collection)


def shared_enums(value: Any, components: dict[str, Any]) -> Any:
    """`value` with each titled enum that names its values (`x-enum-varnames`) put in `components` under
    its title and referred to there, so that a generated client has one class for it, not one per use."""
    if isinstance(value, dict):
        if "title" in value and "x-enum-varnames" in value:
            if components.setdefault(value["title"], value) != value:
                raise ValueError(f"Two different enums are titled {value['title']}.")
            return {"$ref": COMPONENT_SCHEMAS + value["title"]}
        return {key: shared_enums(item, components) for key, item in value.items()}
    if isinstance(value, list):
        return [shared_enums(item, components) for item in value]
    return value


def for_generated_clients(document: dict[str, Any]) -> dict[str, Any]:
    """The document with every path parameter a UUID, `If-Match` on every operation that can answer 412,
    and each named enum a component.

    Every path parameter names a record by its id; one that is not a UUID is answered 404 like a missing
    record, so the type is documentation, never a new 400.
    """
    for operations in document["paths"].values():
        for operation in operations.values():
            parameters = operation.get("parameters", [])
            for parameter in parameters:
                if parameter["in"] == "path":
                    parameter["schema"] = {"type": "string", "format": "uuid"}
            if "412" in operation["responses"]:
                operation["parameters"] = [*parameters, IF_MATCH_PARAMETER]
    enums: dict[str, Any] = {}
    document["paths"] = shared_enums(document["paths"], enums)
    schemas = shared_enums(document["components"]["schemas"], enums)
    if set(enums) & set(schemas):
        raise ValueError(f"An enum has the name of a schema: {sorted(set(enums) & set(schemas))}.")
    document["components"]["schemas"] = schemas | enums
    return document
