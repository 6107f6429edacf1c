"""HTTP routes for delivery zones (SPEC §6, §8)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.auth import scopes as scope
from clientele.auth.service import Principal
from clientele.delivery_zones import service
from clientele.delivery_zones.schemas import REQUIRED_ON_CREATE, DeliveryZoneInput, DeliveryZoneOut
from clientele.includes import zone_bodies
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

router = APIRouter(prefix="/delivery_zones", tags=["delivery zones"])

Body = Annotated[dict[str, Any], Depends(json_object)]
Reader = Annotated[Principal, Depends(require_scope(scope.GENERAL_READ))]
Writer = Annotated[Principal, Depends(require_scope(scope.GENERAL_WRITE))]
Includes = Annotated[frozenset[str], Depends(include_dependency(service.LIST_SPEC))]
INCLUDE_DOCS = {"parameters": include_parameter(service.LIST_SPEC)}


async def existing_zone(request: Request, zone_id: str, principal: Authenticated, connection: Connection) -> Any:
    """The delivery zone named in the path, or 404; 412 if `If-Match` names another version of it."""
    row = await service.find_zone(
        connection=connection, business_id=principal.business_id, zone_id=zone_id, for_update=request.method != "GET"
    )
    require_version(request, row)
    return row


Zone = Annotated[Any, Depends(existing_zone)]


async def zone_response(
    *, connection: AsyncConnection, principal: Principal, row: Row[Any], includes: frozenset[str]
) -> JSONResponse:
    """One zone's `{"data": …}` with its includes, and its ETag."""
    [body] = await zone_bodies(connection=connection, principal=principal, rows=[row], includes=includes)
    return record_response(row, body)


@router.get(
    "",
    summary="List delivery zones",
    description="Scope: `general.read`. `filter[name]` and `filter[name_localized]` match a case-insensitive "
    "substring; `filter[reference]` matches the exact reference only; `filter[branches.id]` any of the branches.",
    response_model=Page[DeliveryZoneOut],
    responses=error_responses(400, 401, 403, 503),
    openapi_extra={"parameters": list_parameters(service.LIST_SPEC)},
)
async def list_zones(
    request: Request,
    principal: Reader,
    query: Annotated[ListQuery, Depends(list_query_dependency(service.LIST_SPEC))],
    connection: Connection,
) -> Response:
    fetched = await fetch_page(connection=connection, query=query)
    data = await zone_bodies(connection=connection, principal=principal, rows=fetched.rows, includes=query.includes)
    return JSONResponse(page_body(url=str(request.url), data=data, fetched=fetched, query=query))


@router.get(
    "/{zone_id}",
    summary="Get a delivery zone",
    description="Scope: `general.read`. Deleted zones are returned too, with `deleted_at`.",
    response_model=Data[DeliveryZoneOut],
    responses=error_responses(400, 401, 403, 404, 412, 503) | ETAG_DOCS,
    openapi_extra=INCLUDE_DOCS,
)
async def get_zone(principal: Reader, includes: Includes, zone: Zone, connection: Connection) -> Response:
    return await zone_response(connection=connection, principal=principal, row=zone, includes=includes)


@router.post(
    "",
    summary="Create a delivery zone",
    status_code=201,
    description="Scope: `general.write`. `reference` is unique among the business's non-deleted zones.",
    response_model=Data[DeliveryZoneOut],
    responses=error_responses(400, 401, 403, 413, 422, 503) | CREATE_RESPONSES,
    openapi_extra=INCLUDE_DOCS | request_body_docs(DeliveryZoneInput, required=REQUIRED_ON_CREATE),
)
async def create_zone(
    request: Request,
    principal: Writer,
    includes: Includes,
    idempotency: Idempotency,
    body: Body,
    connection: Connection,
) -> Response:
    if idempotency.replay is not None:
        return idempotency.replay
    row = await service.create_zone(connection=connection, principal=principal, body=body)
    [data] = await zone_bodies(connection=connection, principal=principal, rows=[row], includes=includes)
    response = JSONResponse(
        {"data": data}, status_code=201, headers={"Location": f"{request.url.replace(query='')}/{row.id}"}
    )
    return await idempotency.remember(response)


@router.put(
    "/{zone_id}",
    summary="Update a delivery zone",
    description="Scope: `general.write`. Only the fields sent change (`branches` replaces the whole set); "
    "409 on a deleted zone.",
    response_model=Data[DeliveryZoneOut],
    responses=error_responses(400, 401, 403, 404, 409, 412, 413, 422, 503) | ETAG_DOCS,
    openapi_extra=INCLUDE_DOCS | request_body_docs(DeliveryZoneInput),
)
async def update_zone(
    principal: Writer, includes: Includes, body: Body, zone: Zone, connection: Connection
) -> Response:
    row = await service.update_zone(connection=connection, row=zone, body=body)
    return await zone_response(connection=connection, principal=principal, row=row, includes=includes)


@router.delete(
    "/{zone_id}",
    summary="Delete a delivery zone",
    status_code=204,
    response_class=Response,
    description="Scope: `general.write`. Soft delete: the zone frees its reference and shows as null "
    "in addresses' includes; deleting again changes nothing.",
    responses=error_responses(401, 403, 404, 412, 503),
)
async def delete_zone(principal: Writer, zone: Zone, connection: Connection) -> Response:
    await service.delete_zone(connection=connection, row=zone)
    return Response(status_code=204)


@router.put(
    "/{zone_id}/restore",
    summary="Restore a delivery zone",
    description="Scope: `general.write`. Idempotent; 409 if an active zone now has its reference.",
    response_model=Data[DeliveryZoneOut],
    responses=error_responses(400, 401, 403, 404, 409, 412, 503) | ETAG_DOCS,
    openapi_extra=INCLUDE_DOCS,
)
async def restore_zone(principal: Writer, includes: Includes, zone: Zone, connection: Connection) -> Response:
    row = await service.restore_zone(connection=connection, row=zone)
    return await zone_response(connection=connection, principal=principal, row=row, includes=includes)
