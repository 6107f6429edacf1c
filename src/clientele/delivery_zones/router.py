"""HTTP routes for delivery zones (SPEC §6)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from clientele.auth import scopes as scope
from clientele.auth.service import Principal
from clientele.delivery_zones import service
from clientele.delivery_zones.schemas import REQUIRED_ON_CREATE, DeliveryZoneInput, DeliveryZoneOut, zone_body
from clientele.listing.body import Page, page_body
from clientele.listing.openapi import list_parameters
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
# A zone has nothing to include: any `include` is refused (400), as on the list.
NoIncludes = Annotated[frozenset[str], Depends(include_dependency(service.LIST_SPEC))]


async def existing_zone(request: Request, zone_id: str, principal: Authenticated, connection: Connection) -> Any:
    """The delivery zone named in the path, or 404; 412 if `If-Match` names another version of it."""
    row = await service.find_zone(
        connection=connection, business_id=principal.business_id, zone_id=zone_id, for_update=request.method != "GET"
    )
    require_version(request, row)
    return row


Zone = Annotated[Any, Depends(existing_zone)]


@router.get(
    "",
    summary="List delivery zones",
    description="Scope: `general.read`. `filter[name]` matches a case-insensitive substring; "
    "`filter[reference]` matches the exact reference only.",
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
    data = [zone_body(row) for row in fetched.rows]
    return JSONResponse(page_body(url=str(request.url), data=data, fetched=fetched, query=query))


@router.get(
    "/{zone_id}",
    summary="Get a delivery zone",
    description="Scope: `general.read`. Deleted zones are returned too, with `deleted_at`.",
    response_model=Data[DeliveryZoneOut],
    responses=error_responses(400, 401, 403, 404, 412, 503) | ETAG_DOCS,
)
async def get_zone(principal: Reader, _: NoIncludes, zone: Zone) -> Response:
    return record_response(zone, zone_body(zone))


@router.post(
    "",
    summary="Create a delivery zone",
    status_code=201,
    description="Scope: `general.write`. `reference` is unique among the business's non-deleted zones.",
    response_model=Data[DeliveryZoneOut],
    responses=error_responses(400, 401, 403, 413, 422, 503) | CREATE_RESPONSES,
    openapi_extra=request_body_docs(DeliveryZoneInput, required=REQUIRED_ON_CREATE),
)
async def create_zone(
    request: Request, principal: Writer, _: NoIncludes, idempotency: Idempotency, body: Body, connection: Connection
) -> Response:
    if idempotency.replay is not None:
        return idempotency.replay
    row = await service.create_zone(connection=connection, principal=principal, body=body)
    response = JSONResponse(
        {"data": zone_body(row)}, status_code=201, headers={"Location": f"{request.url.replace(query='')}/{row.id}"}
    )
    return await idempotency.remember(response)


@router.put(
    "/{zone_id}",
    summary="Update a delivery zone",
    description="Scope: `general.write`. Only the fields sent change; 409 on a deleted zone.",
    response_model=Data[DeliveryZoneOut],
    responses=error_responses(400, 401, 403, 404, 409, 412, 413, 422, 503) | ETAG_DOCS,
    openapi_extra=request_body_docs(DeliveryZoneInput),
)
async def update_zone(principal: Writer, _: NoIncludes, body: Body, zone: Zone, connection: Connection) -> Response:
    row = await service.update_zone(connection=connection, row=zone, body=body)
    return record_response(row, zone_body(row))


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
