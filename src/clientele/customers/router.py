"""HTTP routes for customers (SPEC §5): parse, call the service, answer."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from clientele.auth import scopes as scope
from clientele.auth.dependencies import Authenticated, require_scope
from clientele.auth.service import Principal
from clientele.customers import service
from clientele.customers.schemas import REQUIRED_ON_CREATE, CustomerInput, CustomerOut
from clientele.database import Connection
from clientele.errors import error_responses
from clientele.idempotency import CREATE_RESPONSES, Idempotency
from clientele.listing import ListQuery, Page, include_dependency, list_query_dependency, openapi_parameters
from clientele.validation import json_object, request_body_docs
from clientele.versions import ETAG_DOCS, record_response, require_version
from clientele.wire import Data, JSONResponse

router = APIRouter(prefix="/customers", tags=["customers"])

Includes = Annotated[frozenset[str], Depends(include_dependency(service.LIST_SPEC))]
Body = Annotated[dict[str, Any], Depends(json_object)]
INCLUDE_DOCS = {"parameters": openapi_parameters(service.LIST_SPEC, listing=False)}


async def existing_customer(request: Request, customer_id: str, principal: Authenticated,
                            connection: Connection) -> Any:
    """The customer named in the path, or 404; 412 if `If-Match` names another version of it."""
    row = await service.find_customer(connection=connection, business_id=principal.business_id,
                                      customer_id=customer_id, for_update=request.method != "GET")
    require_version(request, row)
    return row


Customer = Annotated[Any, Depends(existing_customer)]


@router.get("", summary="List customers", description="Scope: `customers.list`.",
            response_model=Page[CustomerOut], responses=error_responses(400, 401, 403, 503),
            openapi_extra={"parameters": openapi_parameters(service.LIST_SPEC)})
async def list_customers(
    request: Request,
    principal: Annotated[Principal, Depends(require_scope(scope.CUSTOMERS_LIST))],
    query: Annotated[ListQuery, Depends(list_query_dependency(service.LIST_SPEC))],
    connection: Connection,
) -> Response:
    return JSONResponse(await service.list_customers(connection=connection, request=request, principal=principal,
                                                     query=query))


@router.get("/{customer_id}", summary="Get a customer",
            description="Scope: `customers.get`. Deleted customers are returned too, with `deleted_at`.",
            response_model=Data[CustomerOut], responses=error_responses(400, 401, 403, 404, 412, 503) | ETAG_DOCS,
            openapi_extra=INCLUDE_DOCS)
async def get_customer(
    principal: Annotated[Principal, Depends(require_scope(scope.CUSTOMERS_GET))],
    includes: Includes,
    customer: Customer,
    connection: Connection,
) -> Response:
    body = await service.one_customer(connection=connection, principal=principal, row=customer, includes=includes)
    return record_response(customer, body)


@router.post("", summary="Create a customer", status_code=201,
             description="Scope: `customers.write`; guarded fields need their write scope.",
             response_model=Data[CustomerOut],
             responses=error_responses(400, 401, 403, 413, 422, 503) | CREATE_RESPONSES,
             openapi_extra=INCLUDE_DOCS | request_body_docs(CustomerInput, required=REQUIRED_ON_CREATE))
async def create_customer(
    request: Request,
    principal: Annotated[Principal, Depends(require_scope(scope.CUSTOMERS_WRITE))],
    includes: Includes,
    idempotency: Idempotency,
    body: Body,
    connection: Connection,
) -> Response:
    if idempotency.replay is not None:
        return idempotency.replay
    data = await service.create_customer(connection=connection, principal=principal, body=body, includes=includes)
    response = JSONResponse({"data": data}, status_code=201,
                            headers={"Location": f"{request.url.replace(query='')}/{data['id']}"})
    return await idempotency.remember(response)


@router.put("/{customer_id}", summary="Update a customer",
            description="Scope: `customers.write`. Only the fields sent change; 409 on a deleted customer.",
            response_model=Data[CustomerOut],
            responses=error_responses(400, 401, 403, 404, 409, 412, 413, 422, 503) | ETAG_DOCS,
            openapi_extra=INCLUDE_DOCS | request_body_docs(CustomerInput))
async def update_customer(
    principal: Annotated[Principal, Depends(require_scope(scope.CUSTOMERS_WRITE))],
    includes: Includes,
    body: Body,
    customer: Customer,
    connection: Connection,
) -> Response:
    stored = await service.update_customer(connection=connection, principal=principal, row=customer, body=body,
                                           includes=includes)
    return record_response(stored.row, stored.body)


@router.delete("/{customer_id}", summary="Delete a customer", status_code=204,
               description="Scope: `admin.write`. Soft delete; deleting again changes nothing.",
               response_class=Response, responses=error_responses(401, 403, 404, 412, 503))
async def delete_customer(
    principal: Annotated[Principal, Depends(require_scope(scope.ADMIN_WRITE))],
    customer: Customer,
    connection: Connection,
) -> Response:
    await service.delete_customer(connection=connection, row=customer)
    return Response(status_code=204)


@router.put("/{customer_id}/restore", summary="Restore a customer",
            description="Scope: `admin.restore`. Idempotent; 409 if an active customer now has its phone.",
            response_model=Data[CustomerOut],
            responses=error_responses(400, 401, 403, 404, 409, 412, 503) | ETAG_DOCS,
            openapi_extra=INCLUDE_DOCS)
async def restore_customer(
    principal: Annotated[Principal, Depends(require_scope(scope.ADMIN_RESTORE))],
    includes: Includes,
    customer: Customer,
    connection: Connection,
) -> Response:
    stored = await service.restore_customer(connection=connection, principal=principal, row=customer,
                                            includes=includes)
    return record_response(stored.row, stored.body)
