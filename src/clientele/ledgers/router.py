"""HTTP routes of the ledgers (SPEC §9), one router per `Ledger`: parse, call the service, answer.

Entries are immutable: no PUT or DELETE is served, so those methods are answered 405 with `Allow`.
"""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Row

from clientele.auth.service import Principal
from clientele.includes import ledger_entry_bodies
from clientele.ledgers import service
from clientele.ledgers.schemas import REQUIRED_ON_CREATE
from clientele.ledgers.service import Ledger
from clientele.listing.body import Page, page_body
from clientele.listing.openapi import include_parameter, list_parameters
from clientele.listing.pages import fetch_page
from clientele.listing.query import ListQuery
from clientele.web.authentication import require_scope
from clientele.web.errors import error_responses
from clientele.web.idempotency import CREATE_RESPONSES, Idempotency
from clientele.web.list_requests import include_dependency, list_query_dependency
from clientele.web.transaction import Connection
from clientele.web.validation import json_object_with_exact_numbers, request_body_docs
from clientele.web.versions import ETAG_DOCS, record_response, require_version
from clientele.web.wire import Data, JSONResponse

ExactBody = Annotated[dict[str, Any], Depends(json_object_with_exact_numbers)]
EXAMPLE_CUSTOMER = "01939a6e-1f2b-7c3d-8e4f-5a6b7c8d9e0f"


@dataclass(frozen=True)
class CreateDocs:
    """What /openapi.json says of a ledger's create beside its schema: its rules, and example bodies."""

    rules: str
    examples: dict[str, dict[str, Any]]

    def request_body(self, ledger: Ledger) -> dict[str, Any]:
        docs = request_body_docs(ledger.input_model, required=REQUIRED_ON_CREATE)
        docs["requestBody"]["content"]["application/json"]["examples"] = self.examples
        return docs


CREATE_DOCS = {
    service.HOUSE_ACCOUNT.path: CreateDocs(
        rules="A negative `amount` is a charge: refused (422) when the customer's house account is not enabled, or "
        "when it would take the balance below `-house_account_limit` (a null limit is none). A positive `amount` is "
        "a payment, always accepted.",
        examples={
            "charge": {
                "summary": "An order charged to the account",
                "value": {"customer_id": EXAMPLE_CUSTOMER, "amount": -120.5, "order_id": "order-8841", "user_id": "7"},
            },
            "payment": {
                "summary": "A payment in cash",
                "value": {"customer_id": EXAMPLE_CUSTOMER, "amount": "100.000", "payment_method_id": "cash"},
            },
        },
    ),
    service.LOYALTY.path: CreateDocs(
        rules="A positive `amount` is earned: refused (422) when the customer's loyalty is not enabled. A negative "
        "`amount` is redeemed: refused (422) when it would take the balance below 0.",
        examples={
            "earning": {
                "summary": "Points earned on an order",
                "value": {"customer_id": EXAMPLE_CUSTOMER, "amount": 12, "order_id": "order-8841"},
            },
            "redemption": {
                "summary": "Points spent",
                "value": {"customer_id": EXAMPLE_CUSTOMER, "amount": -10, "meta": {"reward": "free coffee"}},
            },
        },
    ),
}
INCLUDE_SCOPE = " `include=customer` also needs `customers.get`."


def ledger_router(ledger: Ledger) -> APIRouter:
    """The list, one entry and create routes of `ledger`."""
    router = APIRouter(prefix=ledger.path, tags=[f"{ledger.noun}s"])
    spec = ledger.list_spec
    entries = f"{ledger.noun}s"
    Reader = Annotated[Principal, Depends(require_scope(ledger.read_scope))]
    Writer = Annotated[Principal, Depends(require_scope(ledger.write_scope))]
    Includes = Annotated[frozenset[str], Depends(include_dependency(spec))]
    include_docs = {"parameters": include_parameter(spec)}
    create_docs = CREATE_DOCS[ledger.path]

    async def existing_entry(request: Request, transaction_id: str, principal: Reader, connection: Connection) -> Any:
        """The entry named in the path, or 404; 412 if `If-Match` names another version of it."""
        row = await service.find_entry(
            connection=connection, ledger=ledger, business_id=principal.business_id, entry_id=transaction_id
        )
        require_version(request, row)
        return row

    Entry = Annotated[Row[Any], Depends(existing_entry)]

    @router.get(
        "",
        summary=f"List {entries}",
        description=f"Scope: `{ledger.read_scope}`. A deleted customer's entries are listed too.{INCLUDE_SCOPE}",
        response_model=Page[ledger.output_model],  # type: ignore[name-defined]
        responses=error_responses(400, 401, 403, 503),
        openapi_extra={"parameters": list_parameters(spec)},
    )
    async def list_entries(
        request: Request,
        principal: Reader,
        query: Annotated[ListQuery, Depends(list_query_dependency(spec))],
        connection: Connection,
    ) -> Response:
        denied = service.include_violation(principal=principal, includes=query.includes)
        if denied is not None:
            raise denied
        fetched = await fetch_page(connection=connection, query=query)
        data = await ledger_entry_bodies(
            connection=connection, principal=principal, ledger=ledger, rows=fetched.rows, includes=query.includes
        )
        return JSONResponse(page_body(url=str(request.url), data=data, fetched=fetched, query=query))

    @router.get(
        "/{transaction_id}",
        summary=f"Get a {ledger.noun}",
        description=f"Scope: `{ledger.read_scope}`.{INCLUDE_SCOPE}",
        response_model=Data[ledger.output_model],  # type: ignore[name-defined]
        responses=error_responses(400, 401, 403, 404, 412, 503) | ETAG_DOCS,
        openapi_extra=include_docs,
    )
    async def get_entry(principal: Reader, includes: Includes, entry: Entry, connection: Connection) -> Response:
        denied = service.include_violation(principal=principal, includes=includes)
        if denied is not None:
            raise denied
        [body] = await ledger_entry_bodies(
            connection=connection, principal=principal, ledger=ledger, rows=[entry], includes=includes
        )
        return record_response(entry, body)

    @router.post(
        "",
        summary=f"Create a {ledger.noun}",
        status_code=201,
        description=f"Scope: `{ledger.write_scope}`. {create_docs.rules} The entry and the customer's balance "
        "change are written together; `balance_after` is the balance it left. Entries are immutable: a correction "
        f"is a new entry.{INCLUDE_SCOPE}",
        response_model=Data[ledger.output_model],  # type: ignore[name-defined]
        responses=error_responses(400, 401, 403, 413, 422, 503) | CREATE_RESPONSES,
        openapi_extra=include_docs | create_docs.request_body(ledger),
    )
    async def create_entry(
        request: Request,
        principal: Writer,
        includes: Includes,
        idempotency: Idempotency,
        body: ExactBody,
        connection: Connection,
    ) -> Response:
        if idempotency.replay is not None:
            return idempotency.replay
        row = await service.record_entry(
            connection=connection,
            principal=principal,
            ledger=ledger,
            body=body,
            guard=service.include_violation(principal=principal, includes=includes),
        )
        [data] = await ledger_entry_bodies(
            connection=connection, principal=principal, ledger=ledger, rows=[row], includes=includes
        )
        response = JSONResponse(
            {"data": data}, status_code=201, headers={"Location": f"{request.url.replace(query='')}/{row.id}"}
        )
        return await idempotency.remember(response)

    return router


ROUTERS = tuple(ledger_router(ledger) for ledger in service.LEDGERS)
