"""HTTP routes for customers (SPEC §5): parse, call the service, answer."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.auth import scopes as scope
from clientele.auth.service import Principal
from clientele.customers import service
from clientele.customers.schemas import REQUIRED_ON_CREATE, CustomerInput, CustomerOut
from clientele.includes import customer_bodies
from clientele.listing.body import Page, page_body
from clientele.listing.openapi import include_parameter, list_parameters
from clientele.listing.pages import fetch_page
from clientele.listing.query import ListQuery
from clientele.web.authentication import Authenticated, require_scope
from clientele.web.errors import error_responses
from clientele.web.idempotency import CREATE_RESPONSES, Idempotency
from clientele.web.list_requests import include_dependency, list_query_dependency
from clientele.web.transaction import Connection
from clientele.web.validation import json_object, request_body_docs
from clientele.web.versions import ETAG_DOCS, record_response, require_version
from clientele.web.wire import Data, JSONResponse

router = APIRouter(prefix="/customers", tags=["customers"])

Includes = Annotated[frozenset[str], Depends(include_dependency(service.LIST_SPEC))]
Body = Annotated[dict[str, Any], Depends(json_object)]
INCLUDE_DOCS = {"parameters": include_parameter(service.LIST_SPEC)}


async def existing_customer(
    request: Request, customer_id: str, principal: Authenticated, connection: Connection
) -> Any:
    """The customer named in the path, or 404; 412 if `If-Match` names another version of it."""
    row = await service.find_customer(
        connection=connection,
        business_id=principal.business_id,
        customer_id=customer_id,
        for_update=request.method != "GET",
    )
    require_version(request, row)
    return row


Customer = Annotated[Any, Depends(existing_customer)]


async def customer_response(
    *, connection: AsyncConnection, principal: Principal, row: Row[Any], includes: frozenset[str]
) -> JSONResponse:
    """One customer's `{"data": …}` with its includes, and its ETag."""
    [body] = await customer_bodies(connection=connection, principal=principal, rows=[row], includes=includes)
    return record_response(row, body)


@router.get(
    "",
    summary="List customers",
    description="Scope: `customers.list`.",
    response_model=Page[CustomerOut],
    responses=error_responses(400, 401, 403, 503),
    openapi_extra={"parameters": list_parameters(service.LIST_SPEC)},
)
async def list_customers(
    request: Request,
    principal: Annotated[Principal, Depends(require_scope(scope.CUSTOMERS_LIST))],
    query: Annotated[ListQuery, Depends(list_query_dependency(service.LIST_SPEC))],
    connection: Connection,
) -> Response:
    fetched = await fetch_page(connection=connection, query=query)
    data = await customer_bodies(connection=connection, principal=principal, rows=fetched.rows, includes=query.includes)
    return JSONResponse(page_body(url=str(request.url), data=data, fetched=fetched, query=query))


@router.get(
    "/{customer_id}",
    summary="Get a customer",
    description="Scope: `customers.get`. Deleted customers are returned too, with `deleted_at`.",
    response_model=Data[CustomerOut],
    responses=error_responses(400, 401, 403, 404, 412, 503) | ETAG_DOCS,
    openapi_extra=INCLUDE_DOCS,
)
async def get_customer(
    principal: Annotated[Principal, Depends(require_scope(scope.CUSTOMERS_GET))],
    includes: Includes,
    customer: Customer,
    connection: Connection,
) -> Response:
    return await customer_response(connection=connection, principal=principal, row=customer, includes=includes)


@router.post(
    "",
    summary="Create a customer",
    status_code=201,
    description="Scope: `customers.write`; guarded fields need their write scope.",
    response_model=Data[CustomerOut],
    responses=error_responses(400, 401, 403, 413, 422, 503) | CREATE_RESPONSES,
    openapi_extra=INCLUDE_DOCS | request_body_docs(CustomerInput, required=REQUIRED_ON_CREATE),
)
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
    row = await service.create_customer(connection=connection, principal=principal, body=body)
    [data] = await customer_bodies(connection=connection, principal=principal, rows=[row], includes=includes)
    response = JSONResponse(
        {"data": data}, status_code=201, headers={"Location": f"{request.url.replace(query='')}/{row.id}"}
    )
    return await idempotency.remember(response)


@router.put(
    "/{customer_id}",
    summary="Update a customer",
    description="Scope: `customers.write`. Only the fields sent change; 409 on a deleted customer.",
    response_model=Data[CustomerOut],
    responses=error_responses(400, 401, 403, 404, 409, 412, 413, 422, 503) | ETAG_DOCS,
    openapi_extra=INCLUDE_DOCS | request_body_docs(CustomerInput),
)
async def update_customer(
    principal: Annotated[Principal, Depends(require_scope(scope.CUSTOMERS_WRITE))],
    includes: Includes,
    body: Body,
    customer: Customer,
    connection: Connection,
) -> Response:
    row = await service.update_customer(connection=connection, principal=principal, row=customer, body=body)
    return await customer_response(connection=connection, principal=principal, row=row, includes=includes)


@router.delete(
    "/{customer_id}",
    summary="Delete a customer",
    status_code=204,
    description="Scope: `admin.write`. Soft delete; deleting again changes nothing.",
    response_class=Response,
    responses=error_responses(401, 403, 404, 412, 503),
)
async def delete_customer(
    principal: Annotated[Principal, Depends(require_scope(scope.ADMIN_WRITE))],
    customer: Customer,
    connection: Connection,
) -> Response:
    await service.delete_customer(connection=connection, row=customer)
    return Response(status_code=204)


@router.put(
    "/{customer_id}/restore",
    summary="Restore a customer",
    description="Scope: `admin.restore`. Idempotent; 409 if an active customer now has its phone.",
    response_model=Data[CustomerOut],
    responses=error_responses(400, 401, 403, 404, 409, 412, 503) | ETAG_DOCS,
    openapi_extra=INCLUDE_DOCS,
)
async def restore_customer(
    principal: Annotated[Principal, Depends(require_scope(scope.ADMIN_RESTORE))],
    includes: Includes,
    customer: Customer,
    connection: Connection,
) -> Response:
    row = await service.restore_customer(connection=connection, row=customer)
    return await customer_response(connection=connection, principal=principal, row=row, includes=includes)
