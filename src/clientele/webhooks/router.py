"""HTTP routes for webhook endpoints, their delivery log and replays (SPEC §10)."""

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from clientele.auth import scopes as scope
from clientele.auth.service import Principal
from clientele.listing.body import Page, page_body
from clientele.listing.openapi import list_parameters
from clientele.listing.pages import fetch_page
from clientele.listing.query import ListQuery
from clientele.web.authentication import Authenticated, require_scope
from clientele.web.errors import error_responses
from clientele.web.idempotency import CREATE_RESPONSES, Idempotency
from clientele.web.list_requests import list_query_dependency
from clientele.web.transaction import Connection
from clientele.web.validation import json_object, request_body_docs
from clientele.web.versions import ETAG_DOCS, record_response, require_version
from clientele.web.wire import Data, JSONResponse
from clientele.webhooks import service
from clientele.webhooks.models import webhook_attempts
from clientele.webhooks.schemas import (
    REQUIRED_ON_CREATE,
    AttemptOut,
    EndpointInput,
    EndpointOut,
    EndpointWithSecret,
    ReplayInput,
    ReplayOut,
)

router = APIRouter(prefix="/webhook_endpoints", tags=["webhooks"])

Body = Annotated[dict[str, Any], Depends(json_object)]
Manager = Annotated[Principal, Depends(require_scope(scope.WEBHOOKS_MANAGE))]
SCOPE = "Scope: `webhooks.manage`."


async def existing_endpoint(
    request: Request, endpoint_id: str, principal: Authenticated, connection: Connection
) -> Any:
    """The endpoint named in the path, or 404; 412 if `If-Match` names another version of it."""
    row = await service.find_endpoint(
        connection=connection,
        business_id=principal.business_id,
        endpoint_id=endpoint_id,
        for_update=request.method != "GET",
    )
    require_version(request, row)
    return row


Endpoint = Annotated[Any, Depends(existing_endpoint)]


def allow_private(request: Request) -> bool:
    return bool(request.app.state.settings.webhook_allow_private_networks)


@router.get(
    "",
    summary="List webhook endpoints",
    description=SCOPE,
    response_model=Page[EndpointOut],
    responses=error_responses(400, 401, 403, 503),
    openapi_extra={"parameters": list_parameters(service.LIST_SPEC)},
)
async def list_webhook_endpoints(
    request: Request,
    principal: Manager,
    query: Annotated[ListQuery, Depends(list_query_dependency(service.LIST_SPEC))],
    connection: Connection,
) -> Response:
    fetched = await fetch_page(connection=connection, query=query)
    data = [service.endpoint_body(row) for row in fetched.rows]
    return JSONResponse(page_body(url=str(request.url), data=data, fetched=fetched, query=query))


@router.get(
    "/{endpoint_id}",
    summary="Get a webhook endpoint",
    description=f"{SCOPE} The secret is not shown: it is in the answers to create and rotate_secret only.",
    response_model=Data[EndpointOut],
    responses=error_responses(400, 401, 403, 404, 412, 503) | ETAG_DOCS,
)
async def get_webhook_endpoint(principal: Manager, endpoint: Endpoint) -> Response:
    return record_response(endpoint, service.endpoint_body(endpoint))


@router.post(
    "",
    summary="Create a webhook endpoint",
    status_code=201,
    description=f"{SCOPE} The endpoint keeps the read scopes of this token: its payloads show what they show. "
    "The answer holds the `secret`, shown only here.",
    response_model=Data[EndpointWithSecret],
    responses=error_responses(400, 401, 403, 413, 422, 503) | CREATE_RESPONSES,
    openapi_extra=request_body_docs(EndpointInput, required=REQUIRED_ON_CREATE),
)
async def create_webhook_endpoint(
    request: Request, principal: Manager, idempotency: Idempotency, body: Body, connection: Connection
) -> Response:
    if idempotency.replay is not None:
        return idempotency.replay
    row, secret = await service.create_endpoint(
        connection=connection, principal=principal, body=body, allow_private=allow_private(request)
    )
    response = JSONResponse(
        {"data": service.endpoint_body(row) | {"secret": secret}},
        status_code=201,
        headers={"Location": f"{request.url.replace(query='')}/{row.id}"},
    )
    return await idempotency.remember(response)


@router.patch(
    "/{endpoint_id}",
    summary="Update a webhook endpoint",
    description=f"{SCOPE} Only the fields sent change. `enabled: false` fails the pending deliveries "
    "(replay them later); `enabled: true` clears `disabled_reason`.",
    response_model=Data[EndpointOut],
    responses=error_responses(400, 401, 403, 404, 412, 413, 422, 503) | ETAG_DOCS,
    openapi_extra=request_body_docs(EndpointInput),
)
async def update_webhook_endpoint(
    request: Request, principal: Manager, body: Body, endpoint: Endpoint, connection: Connection
) -> Response:
    row = await service.update_endpoint(
        connection=connection, row=endpoint, body=body, allow_private=allow_private(request)
    )
    return record_response(row, service.endpoint_body(row))


@router.delete(
    "/{endpoint_id}",
    summary="Delete a webhook endpoint",
    status_code=204,
    response_class=Response,
    description=f"{SCOPE} The endpoint, its pending deliveries and its log are deleted at once: nothing more is "
    "sent to it (a delivery already on its way may still arrive).",
    responses=error_responses(401, 403, 404, 412, 503),
)
async def delete_webhook_endpoint(principal: Manager, endpoint: Endpoint, connection: Connection) -> Response:
    await service.delete_endpoint(connection=connection, row=endpoint)
    return Response(status_code=204)


@router.post(
    "/{endpoint_id}/rotate_secret",
    summary="Rotate a webhook endpoint's secret",
    description=f"{SCOPE} A new secret, shown only in this answer. For 24 hours every delivery is signed with "
    "the secret it replaced too, so receivers can switch at their pace.",
    response_model=Data[EndpointWithSecret],
    responses=error_responses(401, 403, 404, 412, 503),
)
async def rotate_webhook_endpoint_secret(principal: Manager, endpoint: Endpoint, connection: Connection) -> Response:
    row, secret = await service.rotate_secret(connection=connection, row=endpoint)
    return record_response(row, service.endpoint_body(row) | {"secret": secret})


@router.post(
    "/{endpoint_id}/replay",
    summary="Send events to a webhook endpoint again",
    status_code=202,
    description=f"{SCOPE} `since`: every event of the endpoint's types made at or after that time; `event_ids`: "
    "those events. Each is sent as a new delivery, with its retries; 409 while the endpoint is disabled.",
    response_model=Data[ReplayOut],
    responses=error_responses(400, 401, 403, 404, 409, 412, 413, 422, 503),
    openapi_extra=request_body_docs(ReplayInput),
)
async def replay_webhook_endpoint(
    principal: Manager, body: Body, endpoint: Endpoint, connection: Connection
) -> Response:
    queued = await service.replay(connection=connection, row=endpoint, body=body)
    return JSONResponse({"data": {"queued": queued}}, status_code=202)


@router.get(
    "/{endpoint_id}/deliveries",
    summary="List a webhook endpoint's delivery attempts",
    description=f"{SCOPE} Every attempt to send an event to the endpoint, oldest first (`sort=-created_at`: "
    "newest first): its time, the receiver's status or the error, how long it took, and when the next retry is due.",
    response_model=Page[AttemptOut],
    responses=error_responses(400, 401, 403, 404, 412, 503),
    openapi_extra={"parameters": list_parameters(service.ATTEMPTS_SPEC)},
)
async def list_webhook_endpoint_deliveries(
    request: Request,
    principal: Manager,
    endpoint: Endpoint,
    query: Annotated[ListQuery, Depends(list_query_dependency(service.ATTEMPTS_SPEC))],
    connection: Connection,
) -> Response:
    of_endpoint = dataclasses.replace(
        query, conditions=[*query.conditions, webhook_attempts.c.endpoint_id == endpoint.id]
    )
    fetched = await fetch_page(connection=connection, query=of_endpoint)
    data = [service.attempt_body(row) for row in fetched.rows]
    return JSONResponse(page_body(url=str(request.url), data=data, fetched=fetched, query=of_endpoint))
