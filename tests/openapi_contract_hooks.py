"""Schemathesis hooks for tests/test_openapi_contract.py (its configuration loads this file).

Random data rarely makes a valid create: a generated phone is almost never a possible number
for a generated dial code, and a generated `include` is almost never a relation's name. Then
nearly every positive `POST /customers` is a 422 or a 400 and the stateful phase never gets a
customer to follow links from. So positive cases get a Saudi mobile number of their own (and
a name when they lack one) on customer creates, and an `include` drawn from the relations
the route offers; every other value stays as generated, and negative cases are untouched.
"""

import itertools

import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode

from clientele.addresses.service import LIST_SPEC as ADDRESS_LIST
from clientele.customers.service import LIST_SPEC as CUSTOMER_LIST

INCLUDES = {"customers": CUSTOMER_LIST.includes, "addresses": ADDRESS_LIST.includes}
_phones = itertools.count(500_000_000)


def is_positive(case: schemathesis.Case) -> bool:
    return case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    if (case.operation.method.upper(), case.operation.path) == ("POST", "/customers") and is_positive(case) \
            and isinstance(case.body, dict):
        case.body = {"name": "Fuzzed customer"} | case.body | {"dial_code": 966, "phone": str(next(_phones))}
    return case


@schemathesis.hook
def flatmap_case(context: schemathesis.HookContext, case: schemathesis.Case) -> st.SearchStrategy[schemathesis.Case]:
    if not is_positive(case) or "include" not in (case.query or {}):
        return st.just(case)

    def including(relations: list[str]) -> schemathesis.Case:
        case.query["include"] = ",".join(relations)
        return case

    relations = INCLUDES[case.operation.path.split("/")[1]]
    return st.lists(st.sampled_from(relations), unique=True).map(including)
