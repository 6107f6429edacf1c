"""Schemathesis hooks for tests/test_openapi_contract.py (its configuration loads this file).

Random data rarely makes a valid create: a generated phone is almost never a possible number
for a generated dial code. Then nearly every positive `POST /customers` is a 422 and the
stateful phase never gets a customer to follow links from. So positive cases get a Saudi
mobile number of their own (and a name when they lack one) on customer creates. Likewise a
generated amount is rarely a non-zero decimal of at most 3 places that the customer's account
takes: positive ledger creates get a positive amount (a payment, an earning) and no generated
`Idempotency-Key` (the few values generated are soon held by an earlier create of another
body), and customers have loyalty open, so that an earning can succeed.

A cursor is opaque: only a response's `meta.next_cursor` is one, and the document cannot
describe it. Generated positive cases send none; negative ones keep theirs, which must be
refused, and the stateful phase keeps the one its link took from the previous page. So is an
`If-Match`: only a record's `ETag` names its version, and a generated one makes nearly every
positive write a 412 (no positive `PUT /customers/{id}` succeeded in a whole run), so positive
cases send none. A webhook endpoint's URL must resolve to a public address: positive creates get one
written as an address (no DNS), and every event type; positive replays send `since` alone (a replay
takes exactly one of `since` and `event_ids`). Every other value stays as generated.
"""

import itertools

import schemathesis
from schemathesis import GenerationMode
from schemathesis.generation.meta import TestPhase

_phones = itertools.count(500_000_000)
_amounts = itertools.count()
LEDGER_CREATES = {("POST", "/house_account_transactions"), ("POST", "/loyalty_transactions")}
# A public address written as one, so that a create needs no DNS (IANA's example.com).
WEBHOOK_URL = "https://93.184.215.14/hooks"


def is_positive(case: schemathesis.Case) -> bool:
    return case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    if not is_positive(case):
        return case
    route = (case.operation.method.upper(), case.operation.path)
    if route == ("POST", "/customers") and isinstance(case.body, dict):
        # Loyalty open, so that an earning for the customer can succeed.
        case.body = (
            {"name": "Fuzzed customer"}
            | case.body
            | {"dial_code": 966, "phone": str(next(_phones)), "is_loyalty_enabled": True}
        )
    if route in LEDGER_CREATES and isinstance(case.body, dict):
        case.body = case.body | {"amount": f"{next(_amounts) % 1000 + 1}.25"}
        if case.headers:
            # A generated key ("0") is soon one an earlier create of another body holds: a 422 every time.
            case.headers.pop("Idempotency-Key", None)
    if route == ("POST", "/webhook_endpoints") and isinstance(case.body, dict):
        case.body = case.body | {"url": WEBHOOK_URL, "event_types": ["*"]}
    if route == ("POST", "/webhook_endpoints/{endpoint_id}/replay"):
        case.body = {"since": "2026-01-01"}
    if case.query and (case.meta is None or case.meta.phase.name != TestPhase.STATEFUL):
        case.query.pop("cursor", None)
    if case.headers:
        case.headers.pop("If-Match", None)
    return case
