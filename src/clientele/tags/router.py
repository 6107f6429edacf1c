"""HTTP routes for tags (SPEC §6, §8)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.auth import scopes as scope
from clientele.auth.service import Principal
from clientele.includes import tag_bodies
from clientele.listing.body import Page, page_body
from clientele.listing.openapi import include_parameter, list_parameters
from clientele.listing.pages import fetch_page
from clientele.listing.query import ListQuery
from clientele.tags import service
from clientele.tags.schemas import REQUIRED_ON_CREATE, TagInput, TagOut
from clientele.web.authentication import Authenticated, require_scope
from clientele.web.errors import error_responses
from clientele.web.idempotency import CREATE_RESPONSES, Idempotency
from clientele.web.list_requests import include_dependency, list_query_dependency
from clientele.web.transaction import Connection
from clientele.web.validation import json_object, request_body_docs
from clientele.web.versions import ETAG_DOCS, record_response, require_version
from clientele.web.wire import Data, JSONResponse

router = APIRouter(prefix="/tags", tags=["tags"])

Body = Annotated[dict[str, Any], Depends(json_object)]
Reader = Annotated[Principal, Depends(require_scope(scope.GENERAL_READ))]
Writer = Annotated[Principal, Depends(require_scope(scope.GENERAL_WRITE))]
Includes = Annotated[frozenset[str], Depends(include_dependency(service.LIST_SPEC))]
INCLUDES = (
    "`include=customersCount` adds `customers_count`; the platform's other count includes "
    "(any other name ending in `Count`, such as `branchesCount` or `productsCount`) are accepted and ignored."
)
INCLUDE_DOCS = {"parameters": include_parameter(service.LIST_SPEC)}


async def existing_tag(request: Request, tag_id: str, principal: Authenticated, connection: Connection) -> Any:
    """The tag named in the path, or 404; 412 if `If-Match` names another version of it."""
    row = await service.find_tag(
        connection=connection, business_id=principal.business_id, tag_id=tag_id, for_update=request.method != "GET"
    )
    require_version(request, row)
    return row


Tag = Annotated[Any, Depends(existing_tag)]


async def tag_response(
    *, connection: AsyncConnection, principal: Principal, row: Row[Any], includes: frozenset[str]
) -> JSONResponse:
    """One tag's `{"data": …}` with its includes, and its ETag."""
    [body] = await tag_bodies(connection=connection, principal=principal, rows=[row], includes=includes)
    return record_response(row, body)


@router.get(
    "",
    summary="List tags",
    description=f"Scope: `general.read`. {INCLUDES}",
    response_model=Page[TagOut],
    responses=error_responses(400, 401, 403, 503),
    openapi_extra={"parameters": list_parameters(service.LIST_SPEC)},
)
async def list_tags(
    request: Request,
    principal: Reader,
    query: Annotated[ListQuery, Depends(list_query_dependency(service.LIST_SPEC))],
    connection: Connection,
) -> Response:
    fetched = await fetch_page(connection=connection, query=query)
    data = await tag_bodies(connection=connection, principal=principal, rows=fetched.rows, includes=query.includes)
    return JSONResponse(page_body(url=str(request.url), data=data, fetched=fetched, query=query))


@router.get(
    "/{tag_id}",
    summary="Get a tag",
    description=f"Scope: `general.read`. Deleted tags are returned too, with `deleted_at`. {INCLUDES}",
    response_model=Data[TagOut],
    responses=error_responses(400, 401, 403, 404, 412, 503) | ETAG_DOCS,
    openapi_extra=INCLUDE_DOCS,
)
async def get_tag(principal: Reader, includes: Includes, tag: Tag, connection: Connection) -> Response:
    return await tag_response(connection=connection, principal=principal, row=tag, includes=includes)


@router.post(
    "",
    summary="Create a tag",
    status_code=201,
    description="Scope: `general.write`.",
    response_model=Data[TagOut],
    responses=error_responses(400, 401, 403, 413, 422, 503) | CREATE_RESPONSES,
    openapi_extra=INCLUDE_DOCS | request_body_docs(TagInput, required=REQUIRED_ON_CREATE),
)
async def create_tag(
    request: Request,
    principal: Writer,
    includes: Includes,
    idempotency: Idempotency,
    body: Body,
    connection: Connection,
) -> Response:
    if idempotency.replay is not None:
        return idempotency.replay
    row = await service.create_tag(connection=connection, principal=principal, body=body)
    [data] = await tag_bodies(connection=connection, principal=principal, rows=[row], includes=includes)
    response = JSONResponse(
        {"data": data}, status_code=201, headers={"Location": f"{request.url.replace(query='')}/{row.id}"}
    )
    return await idempotency.remember(response)


@router.put(
    "/{tag_id}",
    summary="Update a tag",
    description="Scope: `general.write`. 409 on a deleted tag.",
    response_model=Data[TagOut],
    responses=error_responses(400, 401, 403, 404, 409, 412, 413, 422, 503) | ETAG_DOCS,
    openapi_extra=INCLUDE_DOCS | request_body_docs(TagInput),
)
async def update_tag(principal: Writer, includes: Includes, body: Body, tag: Tag, connection: Connection) -> Response:
    row = await service.update_tag(connection=connection, row=tag, body=body)
    return await tag_response(connection=connection, principal=principal, row=row, includes=includes)


@router.delete(
    "/{tag_id}",
    summary="Delete a tag",
    status_code=204,
    response_class=Response,
    description="Scope: `general.write`. Soft delete: the tag leaves customers' includes and filters.",
    responses=error_responses(401, 403, 404, 412, 503),
)
async def delete_tag(principal: Writer, tag: Tag, connection: Connection) -> Response:
    await service.delete_tag(connection=connection, row=tag)
    return Response(status_code=204)


@router.put(
    "/{tag_id}/restore",
    summary="Restore a tag",
    description="Scope: `general.write`. Idempotent; 409 if an active tag now has its name. Customers that "
    "still held the tag when it was deleted hold it again.",
    response_model=Data[TagOut],
    responses=error_responses(400, 401, 403, 404, 409, 412, 503) | ETAG_DOCS,
    openapi_extra=INCLUDE_DOCS,
)
async def restore_tag(principal: Writer, includes: Includes, tag: Tag, connection: Connection) -> Response:
    row = await service.restore_tag(connection=connection, row=tag)
    return await tag_response(connection=connection, principal=principal, row=row, includes=includes)
