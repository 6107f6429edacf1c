"""Who may do what with the ledgers, `/v5`, immutability (405), idempotent creates, and which error wins."""

import uuid
from typing import Any

import pytest

from clientele.auth.scopes import ALL_SCOPES
from tests.ledgers.conftest import HOUSE, LEDGER_PATHS, LOYALTY, entry, made

SCOPES = {
    HOUSE: {"read": "customers.accounts.read", "write": "customers.accounts.write"},
    LOYALTY: {"read": "customers.loyalty.read", "write": "customers.loyalty.write"},
}
ROUTES = [
    pytest.param(path, method, suffix, kind, id=f"{method} {path}{suffix}")
    for path in LEDGER_PATHS
    for method, suffix, kind in (("GET", "", "read"), ("GET", "/{id}", "read"), ("POST", "", "write"))
]


@pytest.fixture
def holder(account_holder) -> dict[str, Any]:
    return account_holder(limit=None)


@pytest.fixture
def entries(api, holder) -> dict[str, dict[str, Any]]:
    return {path: made(entry(api, path, holder, 10)) for path in LEDGER_PATHS}


def send(client, path: str, method: str, suffix: str, entries, holder, prefix: str = ""):
    url = prefix + path + suffix.format(id=entries[path]["id"])
    body = {"customer_id": holder["id"], "amount": 1} if method == "POST" else None
    return client.request(method, url, json=body)


@pytest.mark.parametrize(("path", "method", "suffix", "kind"), ROUTES)
def test_each_route_needs_its_scope_and_the_403_names_it(
    api_with, entries, holder, entry_count, path, method, suffix, kind
):
    needed = SCOPES[path][kind]
    without = api_with(*(scope for scope in ALL_SCOPES if scope != needed))

    response = send(without, path, method, suffix, entries, holder)

    assert response.status_code == 403
    assert response.json() == {"message": f"This action requires the {needed} scope."}
    assert entry_count(path, holder["id"]) == 1


@pytest.mark.parametrize(("path", "method", "suffix", "kind"), ROUTES)
def test_each_route_works_with_only_its_scope_under_both_prefixes(
    api_with, entries, holder, path, method, suffix, kind
):
    only = api_with(SCOPES[path][kind])

    for prefix in ("", "/v5"):
        response = send(only, path, method, suffix, entries, holder, prefix)

        assert response.status_code == (201 if method == "POST" else 200), response.text


@pytest.mark.parametrize(("path", "method", "suffix", "kind"), ROUTES)
def test_a_request_without_a_token_is_401(anonymous, entries, holder, path, method, suffix, kind):
    response = send(anonymous, path, method, suffix, entries, holder)

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}


@pytest.mark.parametrize("path", LEDGER_PATHS)
@pytest.mark.parametrize("prefix", ["", "/v5"])
def test_a_create_answers_201_with_the_location_of_the_entry(api, holder, path, prefix):
    response = api.post(f"{prefix}{path}", json={"customer_id": holder["id"], "amount": 3})

    created = made(response)
    assert response.headers["Location"] == f"http://testserver{prefix}{path}/{created['id']}"
    assert api.get(response.headers["Location"]).json()["data"] == created


@pytest.mark.parametrize("path", LEDGER_PATHS)
@pytest.mark.parametrize("prefix", ["", "/v5"])
@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_entries_are_immutable_so_changing_one_is_a_405(api, entries, holder, entry_count, path, prefix, method):
    one = api.request(method, f"{prefix}{path}/{entries[path]['id']}", json={"amount": 1000})
    every = api.request(method, f"{prefix}{path}", json={"amount": 1000})

    assert (one.status_code, one.json()) == (405, {"message": "Method Not Allowed."})
    assert one.headers["Allow"] == "GET"
    assert every.status_code == 405
    assert every.headers["Allow"] == "GET, POST"
    assert api.get(f"{path}/{entries[path]['id']}").json()["data"] == entries[path]
    assert entry_count(path, holder["id"]) == 1


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_one_entry_answers_its_etag_and_honours_if_match(api, entries, path):
    url = f"{path}/{entries[path]['id']}"
    response = api.get(url)

    assert response.json()["data"] == entries[path]
    assert api.get(url, headers={"If-Match": response.headers["ETag"]}).status_code == 200
    assert api.get(url, headers={"If-Match": '"0"'}).status_code == 412


@pytest.mark.parametrize("path", LEDGER_PATHS)
@pytest.mark.parametrize("entry_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_a_missing_entry_is_a_404(api, path, entry_id):
    response = api.get(f"{path}/{entry_id}")

    assert response.status_code == 404
    assert response.json()["message"].endswith("transaction not found.")


def test_an_entry_of_one_ledger_is_not_found_in_the_other(api, entries):
    assert api.get(f"{LOYALTY}/{entries[HOUSE]['id']}").status_code == 404
    assert api.get(f"{HOUSE}/{entries[LOYALTY]['id']}").status_code == 404


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_a_create_retried_with_its_idempotency_key_makes_one_entry(api, holder, balance_is_sum, entry_count, path):
    key = {"Idempotency-Key": f"ledger-{uuid.uuid4().hex}"}
    body = {"customer_id": holder["id"], "amount": -2.5 if path == HOUSE else 2.5}

    first = api.post(path, json=body, headers=key)
    again = api.post(path, json=body, headers=key)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert entry_count(path, holder["id"]) == 1
    assert abs(balance_is_sum(path, holder["id"])) == 2.5
    other = api.post(path, json=body | {"amount": 1}, headers=key)
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["errors"]


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_a_refused_create_is_not_remembered_under_its_key(api, account_holder, entry_count, path):
    customer = account_holder(limit=0)
    key = {"Idempotency-Key": f"ledger-{uuid.uuid4().hex}"}
    body = {"customer_id": customer["id"], "amount": -1}

    assert api.post(path, json=body, headers=key).status_code == 422
    assert api.post(path, json=body | {"amount": 1}, headers=key).status_code == 201
    assert entry_count(path, customer["id"]) == 1


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_a_field_422_comes_before_the_include_403(api_with, holder, path, entry_count):
    writer = api_with(SCOPES[path]["write"])

    invalid = writer.post(f"{path}?include=customer", json={"customer_id": holder["id"], "amount": 0})
    valid = writer.post(f"{path}?include=customer", json={"customer_id": holder["id"], "amount": 1})

    assert invalid.status_code == 422
    assert valid.status_code == 403
    assert "customers.get" in valid.json()["message"]
    assert entry_count(path, holder["id"]) == 0


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_a_create_may_include_its_customer(api, holder, path):
    created = made(api.post(f"{path}?include=customer", json={"customer_id": holder["id"], "amount": 1}))

    assert created["customer"] == api.get(f"/customers/{holder['id']}").json()["data"]


@pytest.mark.parametrize("path", LEDGER_PATHS)
def test_the_route_scope_403_comes_before_a_malformed_body(api_with, path):
    response = api_with("customers.list").post(path, content=b"not json")

    assert response.status_code == 403
