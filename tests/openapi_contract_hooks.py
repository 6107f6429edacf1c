"""Schemathesis hooks for tests/test_openapi_contract.py (its configuration loads this file).

Random data rarely makes a valid create: a generated phone is almost never a possible number
for a generated dial code. Then nearly every positive `POST /customers` is a 422 and the
stateful phase never gets a customer to follow links from. So positive cases get a Saudi
mobile number of their own (and a name when they lack one) on customer creates.

A cursor is opaque: only a response's `meta.next_cursor` is one, and the document cannot
describe it. Generated positive cases send none; negative ones keep theirs, which must be
refused, and the stateful phase keeps the one its link took from the previous page. So is an
`If-Match`: only a record's `ETag` names its version, and a generated one makes nearly every
positive write a 412 (no positive `PUT /customers/{id}` succeeded in a whole run), so positive
cases send none. Every other value stays as generated.
"""

import itertools

import schemathesis
from schemathesis import GenerationMode
from schemathesis.generation.meta import TestPhase

_phones = itertools.count(500_000_000)


def is_positive(case: schemathesis.Case) -> bool:
    return case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    if not is_positive(case):
        return case
    if (case.operation.method.upper(), case.operation.path) == ("POST", "/customers") and isinstance(case.body, dict):
        case.body = {"name": "Fuzzed customer"} | case.body | {"dial_code": 966, "phone": str(next(_phones))}
    if case.query and (case.meta is None or case.meta.phase.name != TestPhase.STATEFUL):
        case.query.pop("cursor", None)
    if case.headers:
        case.headers.pop("If-Match", None)
    return case
