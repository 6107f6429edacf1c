"""HTTP routes for change events (SPEC §10): the outbox, read by cursor."""

from types import SimpleNamespace
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from clientele.auth import scopes as scope
from clientele.auth.service import Principal
from clientele.db.records import find_record
from clientele.errors import NotFound
from clientele.events import service
from clientele.events.models import events
from clientele.events.schemas import EventOut
from clientele.listing.body import Page, page_body
from clientele.listing.openapi import list_parameters
from clientele.listing.pages import fetch_page
from clientele.listing.query import ListQuery
from clientele.web.authentication import require_scope
from clientele.web.errors import error_responses
from clientele.web.list_requests import list_query_dependency
from clientele.web.transaction import Connection
from clientele.web.versions import ETAG_DOCS, record_response, require_version
from clientele.web.wire import Data, JSONResponse

router = APIRouter(prefix="/events", tags=["events"])

Reader = Annotated[Principal, Depends(require_scope(scope.EVENTS_READ))]
MISSING = "Event not found."
SHOWN = (
    "An event is shown to a token that could GET its record (`customers.get` for customers and addresses, "
    "`general.read` for tags and delivery zones, each ledger's read scope for its entries, `customers.list` for "
    "`customers.imported`), with the fields that GET would show it."
)


@router.get(
    "",
    summary="List events",
    description=f"Scope: `events.read`. Oldest first. To follow changes, poll with `cursor`: `meta.next_cursor` "
    f"is given after the last event even when none follows yet (an empty page gives back the cursor it was sent). "
    f"An event is listed once every change written before it has committed or rolled back, so a reader never "
    f"steps past one that commits late. Kept 30 days. {SHOWN}",
    response_model=Page[EventOut],
    responses=error_responses(400, 401, 403, 503),
    openapi_extra={"parameters": list_parameters(service.LIST_SPEC)},
)
async def list_events(
    request: Request,
    principal: Reader,
    query: Annotated[ListQuery, Depends(list_query_dependency(service.LIST_SPEC))],
    connection: Connection,
) -> Response:
    shown = await service.readable_settled(connection=connection, query=query, scopes=principal.scopes)
    fetched = await fetch_page(connection=connection, query=shown)
    data = [service.event_payload(row, scopes=principal.scopes) for row in fetched.rows]
    return JSONResponse(page_body(url=str(request.url), data=data, fetched=fetched, query=query))


@router.get(
    "/{event_id}",
    summary="Get an event",
    description=f"Scope: `events.read`. {SHOWN}",
    response_model=Data[EventOut],
    responses=error_responses(401, 403, 404, 412, 503) | ETAG_DOCS,
)
async def get_event(request: Request, event_id: str, principal: Reader, connection: Connection) -> Response:
    row = await find_record(
        connection=connection, table=events, business_id=principal.business_id, record_id=event_id, missing=MISSING
    )
    # An event the reader may not see is as missing as another business's (SPEC §2).
    if row.type not in service.readable_types(principal.scopes):
        raise NotFound(MISSING)
    # An event never changes: its one version is the moment it was written.
    version = SimpleNamespace(updated_at=row.created_at)
    require_version(request, version)
    return record_response(version, service.event_payload(row, scopes=principal.scopes))
