"""HTTP routes for addresses (SPEC §6): parse, call the service, answer."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.addresses import service
from clientele.addresses.schemas import REQUIRED_ON_CREATE, AddressInput, AddressOut
from clientele.auth import scopes as scope
from clientele.auth.service import Principal
from clientele.includes import address_bodies
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

router = APIRouter(prefix="/addresses", tags=["addresses"])

Includes = Annotated[frozenset[str], Depends(include_dependency(service.LIST_SPEC))]
Body = Annotated[dict[str, Any], Depends(json_object)]
Writer = Annotated[Principal, Depends(require_scope(scope.CUSTOMERS_WRITE))]
INCLUDE_DOCS = {"parameters": include_parameter(service.LIST_SPEC)}


async def existing_address(request: Request, address_id: str, principal: Authenticated, connection: Connection) -> Any:
    """The address named in the path, or 404; 412 if `If-Match` names another version of it."""
    row = await service.find_address(
        connection=connection,
        business_id=principal.business_id,
        address_id=address_id,
        for_update=request.method != "GET",
    )
    require_version(request, row)
    return row


Address = Annotated[Any, Depends(existing_address)]


async def address_response(
    *, connection: AsyncConnection, principal: Principal, row: Row[Any], includes: frozenset[str]
) -> JSONResponse:
    """One address's `{"data": …}` with its includes, and its ETag."""
    [body] = await address_bodies(connection=connection, principal=principal, rows=[row], includes=includes)
    return record_response(row, body)


@router.get(
    "",
    summary="List addresses",
    description="Scope: `customers.list`.",
    response_model=Page[AddressOut],
    responses=error_responses(400, 401, 403, 503),
    openapi_extra={"parameters": list_parameters(service.LIST_SPEC)},
)
async def list_addresses(
    request: Request,
    principal: Annotated[Principal, Depends(require_scope(scope.CUSTOMERS_LIST))],
    query: Annotated[ListQuery, Depends(list_query_dependency(service.LIST_SPEC))],
    connection: Connection,
) -> Response:
    fetched = await fetch_page(connection=connection, query=query)
    data = await address_bodies(connection=connection, principal=principal, rows=fetched.rows, includes=query.includes)
    return JSONResponse(page_body(url=str(request.url), data=data, fetched=fetched, query=query))


@router.get(
    "/{address_id}",
    summary="Get an address",
    description="Scope: `customers.get`. Deleted addresses are returned too, with `deleted_at`.",
    response_model=Data[AddressOut],
    responses=error_responses(400, 401, 403, 404, 412, 503) | ETAG_DOCS,
    openapi_extra=INCLUDE_DOCS,
)
async def get_address(
    principal: Annotated[Principal, Depends(require_scope(scope.CUSTOMERS_GET))],
    includes: Includes,
    address: Address,
    connection: Connection,
) -> Response:
    return await address_response(connection=connection, principal=principal, row=address, includes=includes)


@router.post(
    "",
    summary="Create an address",
    status_code=201,
    description="Scope: `customers.write`. `customer_id` must be a non-deleted customer of the business; "
    "`delivery_zone_id`, if sent, a non-deleted delivery zone of it.",
    response_model=Data[AddressOut],
    responses=error_responses(400, 401, 403, 413, 422, 503) | CREATE_RESPONSES,
    openapi_extra=INCLUDE_DOCS | request_body_docs(AddressInput, required=REQUIRED_ON_CREATE),
)
async def create_address(
    request: Request,
    principal: Writer,
    includes: Includes,
    idempotency: Idempotency,
    body: Body,
    connection: Connection,
) -> Response:
    if idempotency.replay is not None:
        return idempotency.replay
    row = await service.create_address(connection=connection, principal=principal, body=body)
    [data] = await address_bodies(connection=connection, principal=principal, rows=[row], includes=includes)
    response = JSONResponse(
        {"data": data}, status_code=201, headers={"Location": f"{request.url.replace(query='')}/{row.id}"}
    )
    return await idempotency.remember(response)


@router.put(
    "/{address_id}",
    summary="Update an address",
    description="Scope: `customers.write`. Only the fields sent change; 409 on a deleted address.",
    response_model=Data[AddressOut],
    responses=error_responses(400, 401, 403, 404, 409, 412, 413, 422, 503) | ETAG_DOCS,
    openapi_extra=INCLUDE_DOCS | request_body_docs(AddressInput),
)
async def update_address(
    principal: Writer, includes: Includes, body: Body, address: Address, connection: Connection
) -> Response:
    row = await service.update_address(connection=connection, principal=principal, row=address, body=body)
    return await address_response(connection=connection, principal=principal, row=row, includes=includes)


@router.delete(
    "/{address_id}",
    summary="Delete an address",
    status_code=204,
    response_class=Response,
    description="Scope: `customers.write`. Soft delete: the address leaves its customer's includes; "
    "deleting again changes nothing.",
    responses=error_responses(401, 403, 404, 412, 503),
)
async def delete_address(principal: Writer, address: Address, connection: Connection) -> Response:
    await service.delete_address(connection=connection, row=address)
    return Response(status_code=204)
