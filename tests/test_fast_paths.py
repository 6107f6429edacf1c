"""Fast paths (clientele.web.fast_paths): `GET /customers/{id}` and `POST /customers` answered in one
statement on PostgreSQL, and ledger entries in two, exactly as their routes answer, and only where they can.

Each request here goes to the app with its fast paths and to the same app without them, on the
same database, and the two answers must match: status, headers, body. Whether a fast path
answered shows in the engine: a fast path sends no statement through it.
"""

import asyncio
import dataclasses
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from clientele.app import create_app
from clientele.auth import scopes as scope
from clientele.auth.models import tokens
from clientele.auth.service import hash_token
from clientele.config import Settings
from clientele.customers.fast_paths import CUSTOMERS_WITH_TOKENS
from clientele.customers.models import customer_counts
from clientele.db.clock import utcnow
from clientele.db.engine import KEY_POOL_NAME
from clientele.db.metadata import metadata
from clientele.ledgers import fast_paths as fast_paths_module
from tests.conftest import Api, new_business, new_token, next_phone, run_statement, summed_counters

VARYING_HEADERS = {"date", "x-request-id"}
# What two creations of the same body may differ in.
CREATION_FIELDS = {"id", "created_at", "updated_at"}


@pytest.fixture(scope="module")
def routes_only(settings: Settings) -> Iterator[TestClient]:
    """The same app on the same database, with its fast paths turned off."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("Fast paths run on PostgreSQL only; on SQLite every request goes to its route")
    with TestClient(
        create_app(dataclasses.replace(settings, fast_paths=False)), raise_server_exceptions=False
    ) as client:
        yield client


class BothWays:
    """Sends a request to the app with fast paths (counting the engine's statements) or without."""

    def __init__(
        self, client: TestClient, routes_only: TestClient, statement_count: Callable[[Callable[[], Any]], int]
    ) -> None:
        self.client = client
        self.routes_only = routes_only
        self.statement_count = statement_count

    def fast(self, api: Api, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, int]:
        """The answer of the app with fast paths, and how many statements it sent through the engine."""
        answers: list[httpx.Response] = []
        statements = self.statement_count(
            lambda: answers.append(Api(self.client, api.token, api.business_id).request(method, path, **kwargs))
        )
        return answers[0], statements

    def route(self, api: Api, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return Api(self.routes_only, api.token, api.business_id).request(method, path, **kwargs)

    def both(self, api: Api, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, httpx.Response, int]:
        fast, statements = self.fast(api, method, path, **kwargs)
        return fast, self.route(api, method, path, **kwargs), statements


@pytest.fixture
def both_ways(client: TestClient, routes_only: TestClient, statement_count: Callable[..., int]) -> BothWays:
    return BothWays(client, routes_only, statement_count)


def comparable_headers(response: httpx.Response, *, leaving_out: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, value in response.headers.multi_items()
        if name not in VARYING_HEADERS and name not in leaving_out
    ]


def assert_same_answer(fast: httpx.Response, route: httpx.Response) -> None:
    assert (fast.status_code, comparable_headers(fast), fast.content) == (
        route.status_code,
        comparable_headers(route),
        route.content,
    )


# --- GET /customers/{id} ------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "/v5"])
def test_a_customer_read_by_id_is_the_routes_answer_byte_for_byte(both_ways, api, prefix) -> None:
    customer = api.make_customer(
        name="سارة Ünal",
        email="sara@example.com",
        gender=2,
        birth_date="1990-02-03",
        house_account_limit=500,
        is_loyalty_enabled=True,
        is_blacklisted=True,
    )

    fast, route, statements = both_ways.both(api, "GET", f"{prefix}/customers/{customer['id']}")

    assert statements == 0
    assert fast.status_code == 200
    assert fast.json()["data"] == customer
    assert fast.headers["ETag"]
    assert_same_answer(fast, route)


def test_a_deleted_customer_is_read_with_its_deleted_at(both_ways, api) -> None:
    customer = api.make_customer()
    assert api.delete(f"/customers/{customer['id']}").status_code == 204

    fast, route, statements = both_ways.both(api, "GET", f"/customers/{customer['id']}")

    assert statements == 0
    assert fast.json()["data"]["deleted_at"] is not None
    assert_same_answer(fast, route)


def test_a_read_shows_only_the_fields_the_tokens_scopes_show(both_ways, api, api_with) -> None:
    customer = api.make_customer(house_account_limit=100)

    fast, route, statements = both_ways.both(api_with(scope.CUSTOMERS_GET), "GET", f"/customers/{customer['id']}")

    assert statements == 0
    assert {"house_account_limit", "house_account_balance", "loyalty_balance"}.isdisjoint(fast.json()["data"])
    assert_same_answer(fast, route)


def test_the_fast_paths_connections_are_reopened_after_the_database_closed_them(both_ways, api, stored) -> None:
    customer = api.make_customer()
    path = f"/customers/{customer['id']}"
    assert both_ways.fast(api, "GET", path)[1] == 0

    # As a database restart does.
    stored("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name", name=KEY_POOL_NAME)
    answers = [both_ways.fast(api, "GET", path) for _ in range(3)]

    assert [(answer.status_code, answer.json()["data"]) for answer, _ in answers] == [(200, customer)] * 3
    # A request that met a closed connection before the driver noticed it went to the route; the
    # closed connection is then replaced, and the fast path answers again.
    assert answers[-1][1] == 0


def token_changed_behind_the_api(client: TestClient, api: Api, stored: Callable[..., Any], column: str) -> Api:
    """A new token of the business whose `revoked_at` or `expires_at` is a second ago."""
    issued = new_token(client, api.business_id)
    stored(f"UPDATE tokens SET {column} = now() AT TIME ZONE 'UTC' - interval '1 second' WHERE id = :id", id=issued.id)
    return Api(client, issued.token, api.business_id)


@pytest.mark.parametrize(
    "case",
    [
        "no token",
        "unknown token",
        "scheme in lowercase",
        "revoked token",
        "expired token",
        "no customers.get",
        "another business",
        "unknown id",
        "malformed id",
        "include",
        "stale If-Match",
        "current If-Match",
    ],
)
def test_every_other_read_is_answered_by_the_route(both_ways, client, api, api_with, other_api, stored, case) -> None:
    customer = api.make_customer()
    caller, path, headers = api, f"/customers/{customer['id']}", {}
    if case == "no token":
        caller = Api(client, None, api.business_id)
    elif case == "unknown token":
        caller = Api(client, "clt_" + "x" * 43, api.business_id)
    elif case == "scheme in lowercase":
        caller, headers = Api(client, None, api.business_id), {"Authorization": f"bearer {api.token}"}
    elif case == "revoked token":
        caller = token_changed_behind_the_api(client, api, stored, "revoked_at")
    elif case == "expired token":
        caller = token_changed_behind_the_api(client, api, stored, "expires_at")
    elif case == "no customers.get":
        caller = api_with(scope.CUSTOMERS_LIST)
    elif case == "another business":
        caller = other_api
    elif case == "unknown id":
        path = f"/customers/{uuid.uuid4()}"
    elif case == "malformed id":
        path = "/customers/not-an-id"
    elif case == "include":
        path += "?include=tags"
    elif case == "stale If-Match":
        headers = {"If-Match": '"1"'}
    elif case == "current If-Match":
        headers = {"If-Match": api.get(path).headers["ETag"]}

    fast, route, statements = both_ways.both(caller, "GET", path, headers=headers)

    assert statements > 0 or case == "no token"  # the route refuses a request without a token unread
    assert_same_answer(fast, route)


def test_only_the_first_authorization_header_counts(both_ways, client, routes_only, api) -> None:
    customer = api.make_customer()
    headers = [("Authorization", "Bearer clt_unknown"), ("Authorization", f"Bearer {api.token}")]

    fast = client.get(f"/customers/{customer['id']}", headers=headers)
    route = routes_only.get(f"/customers/{customer['id']}", headers=headers)

    assert fast.status_code == 401
    assert_same_answer(fast, route)


def test_a_failed_constant_time_comparison_refuses_the_read(both_ways, api, monkeypatch) -> None:
    customer = api.make_customer()
    monkeypatch.setattr("hmac.compare_digest", lambda left, right: False)

    fast, statements = both_ways.fast(api, "GET", f"/customers/{customer['id']}")

    assert statements > 0
    assert fast.status_code == 401


# --- GET /customers/{id}, concurrent reads sent together -----------------------------------------


class TokensLocked:
    """Holds a lock on the tokens table from the app's own engine, so that every statement reading it
    waits: the first read waits at the database, and the requests that come meanwhile wait for it."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.locked = threading.Event()
        self.release = threading.Event()
        self.holder: Future[None] | None = None

    async def hold(self) -> None:
        async with self.client.app.state.engine.connect() as connection:  # type: ignore[attr-defined]
            await connection.execute(text("LOCK TABLE tokens IN ACCESS EXCLUSIVE MODE"))
            self.locked.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
            await connection.rollback()

    def __enter__(self) -> "TokensLocked":
        self.holder = self.client.portal.start_task_soon(self.hold)  # type: ignore[union-attr]
        assert self.locked.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        self.release.set()
        assert self.holder is not None
        self.holder.result(10)


def waiting_key_pool_backends(stored: Callable[..., Any]) -> list[int]:
    return [
        row["pid"]
        for row in stored(
            "SELECT pid FROM pg_stat_activity WHERE application_name = :name AND wait_event_type = 'Lock'",
            name=KEY_POOL_NAME,
        )
    ]


def wait_for(condition: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + 10
    while not (found := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return found


@pytest.fixture
def batch_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many requests each statement of batched reads sent to the database carried."""
    sizes: list[int] = []
    fetch = asyncpg.Connection.fetch

    async def counted(connection: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        if query == CUSTOMERS_WITH_TOKENS.sql:
            sizes.append(len(args[0]))
        return await fetch(connection, query, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "fetch", counted)
    return sizes


def reads_sent_together(
    client: TestClient,
    stored: Callable[..., Any],
    reads: list[tuple[Api, str]],
    *,
    while_waiting: Callable[[], None] = lambda: None,
) -> list[httpx.Response]:
    """The answers to these reads, the first sent alone and held at the database, the others sent while
    it is held (so that they go together), `while_waiting` done before the database lets them go."""
    with ThreadPoolExecutor(len(reads)) as pool, TokensLocked(client):
        first = pool.submit(reads[0][0].get, reads[0][1])
        wait_for(lambda: waiting_key_pool_backends(stored))
        others = [pool.submit(caller.get, path) for caller, path in reads[1:]]
        # Time for the others to reach the server and join the batch waiting behind the first.
        time.sleep(0.5)
        while_waiting()
    return [first.result(10)] + [answer.result(10) for answer in others]


def test_reads_sent_together_are_each_answered_as_the_route_answers_it(
    both_ways, client, api, api_with, other_api, stored, batch_sizes
) -> None:
    ours, deleted, theirs = api.make_customer(), api.make_customer(), other_api.make_customer()
    assert api.delete(f"/customers/{deleted['id']}").status_code == 204
    reads = [
        (api, f"/customers/{ours['id']}"),
        (other_api, f"/customers/{theirs['id']}"),
        (api, f"/customers/{deleted['id']}"),
        (other_api, f"/customers/{ours['id']}"),  # another business's customer: 404
        (api, f"/customers/{uuid.uuid4()}"),  # 404
        (api_with(scope.CUSTOMERS_LIST), f"/customers/{ours['id']}"),  # no customers.get: 403
        (api_with(scope.CUSTOMERS_GET), f"/v5/customers/{ours['id']}"),  # no balances shown
        (api, f"/customers/{ours['id']}"),  # the same customer twice in one batch
    ]

    answers = reads_sent_together(client, stored, reads)

    assert batch_sizes[0] == 1
    assert max(batch_sizes) > 1
    assert sum(batch_sizes) == len(reads)
    assert [answer.status_code for answer in answers] == [200, 200, 200, 404, 404, 403, 200, 200]
    assert answers[0].json()["data"] == ours
    assert answers[1].json()["data"] == theirs
    for answer, (caller, path) in zip(answers, reads, strict=True):
        assert_same_answer(answer, both_ways.route(caller, "GET", path))


def test_reads_whose_statement_failed_are_each_answered_by_the_route(
    both_ways, client, api, other_api, stored, batch_sizes
) -> None:
    ours, theirs = api.make_customer(), other_api.make_customer()
    reads = [
        (api, f"/customers/{ours['id']}"),
        (other_api, f"/customers/{theirs['id']}"),
        (api, f"/customers/{ours['id']}"),
        (other_api, f"/customers/{ours['id']}"),
    ]

    def database_closes_the_connections() -> None:
        # As a database restart does: the first read's connection, then the batch's, which waits in turn.
        for _ in range(2):
            [waiting] = wait_for(lambda: waiting_key_pool_backends(stored))
            stored("SELECT pg_terminate_backend(:pid)", pid=waiting)
            wait_for(lambda closed=waiting: closed not in waiting_key_pool_backends(stored))

    answers = reads_sent_together(client, stored, reads, while_waiting=database_closes_the_connections)

    assert batch_sizes == [1, len(reads) - 1]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 404]
    assert [answer.json()["data"] for answer in answers[:3]] == [ours, theirs, ours]
    for answer, (caller, path) in zip(answers, reads, strict=True):
        assert_same_answer(answer, both_ways.route(caller, "GET", path))


def test_the_key_pool_plans_the_batched_read_once(both_ways, client, api) -> None:
    customers = [api.make_customer() for _ in range(3)]
    token_hash = hash_token(api.token)

    async def plans_of_reads() -> tuple[int, int]:
        """How many generic and custom plans 12 reads on one of the pool's sessions made."""
        async with client.app.state.key_pool.acquire() as connection:  # type: ignore[attr-defined]

            async def plans() -> tuple[int, int]:
                found = await connection.fetchrow(
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1",
                    CUSTOMERS_WITH_TOKENS.sql,
                )
                return (0, 0) if found is None else (found["generic_plans"], found["custom_plans"])

            before = await plans()
            for customer in customers * 4:
                read = CUSTOMERS_WITH_TOKENS.bind(
                    token_hashes=[token_hash], ids=[uuid.UUID(customer["id"])], now=utcnow()
                )
                assert await connection.fetchrow(read.sql, *read.arguments) is not None
            after = await plans()
            return after[0] - before[0], after[1] - before[1]

    # PostgreSQL's own choice plans at least the first five runs afresh.
    assert client.portal.call(plans_of_reads) == (12, 0)  # type: ignore[union-attr]


# --- POST /customers ------------------------------------------------------------------------------


def comparable_creation(response: httpx.Response) -> tuple[Any, ...]:
    """A create's answer without what differs between two creations of one body."""
    data = {field: value for field, value in response.json()["data"].items() if field not in CREATION_FIELDS}
    return (
        response.status_code,
        data,
        response.headers["Location"].rsplit("/", 1)[0],
        comparable_headers(response, leaving_out=("location",)),
    )


def created_then_freed(api: Api, response: httpx.Response) -> httpx.Response:
    """A 201, whose customer is then soft-deleted so that the same phone can be created again."""
    assert response.status_code == 201, response.text
    assert api.delete(f"/customers/{response.json()['data']['id']}").status_code == 204
    return response


@pytest.mark.parametrize(
    ("prefix", "fields"),
    [
        ("", {}),
        ("/v5", {}),
        ("", {"email": "Nour@Example.com", "gender": 1, "birth_date": "2001-12-31", "is_blacklisted": True}),
        ("", {"name": "  نور الهدى  ", "email": None, "gender": None, "birth_date": None}),
        ("", {"house_account_limit": None, "is_house_account_enabled": False, "is_loyalty_enabled": False}),
        ("", {"house_account_limit": 250, "is_house_account_enabled": True, "is_loyalty_enabled": True}),
        ("", {"id": "ignored", "order_count": 9, "loyalty_balance": 5, "created_at": "2020-01-01 00:00:00"}),
    ],
)
def test_a_customer_created_by_the_fast_path_is_the_routes_creation(both_ways, api, stored, prefix, fields) -> None:
    phone = next_phone()
    body = {"name": "Nour", "dial_code": 966, "phone": f"0{phone[:2]} {phone[2:]}"} | fields

    fast, statements = both_ways.fast(api, "POST", f"{prefix}/customers", json=body)
    created_then_freed(api, fast)
    route = created_then_freed(api, both_ways.route(api, "POST", f"{prefix}/customers", json=body))

    assert statements == 0
    assert comparable_creation(fast) == comparable_creation(route)
    assert fast.headers["Location"] == f"http://testserver{prefix}/customers/{fast.json()['data']['id']}"
    rows = stored(
        "SELECT id, phone, order_count, loyalty_balance FROM customers WHERE business_id = :business "
        "AND phone = :phone ORDER BY created_at",
        business=api.business_id,
        phone=phone,
    )
    assert [str(row["id"]) for row in rows] == [fast.json()["data"]["id"], route.json()["data"]["id"]]
    assert {(row["order_count"], row["loyalty_balance"]) for row in rows} == {(0, 0)}


@pytest.mark.parametrize(
    "case",
    [
        "no token",
        "revoked token",
        "expired token",
        "no customers.write",
        "guarded field without its scope",
        "invalid field",
        "missing field",
        "phone taken",
        "not JSON",
        "not an object",
        "too large",
    ],
)
def test_every_create_that_fails_is_the_routes_failure_and_stores_nothing(
    both_ways, client, api, api_with, stored, case
) -> None:
    phone = next_phone()
    caller, body = api, {"name": "Nour", "dial_code": 966, "phone": phone}
    content = None
    if case == "no token":
        caller = Api(client, None, api.business_id)
    elif case == "revoked token":
        caller = token_changed_behind_the_api(client, api, stored, "revoked_at")
    elif case == "expired token":
        caller = token_changed_behind_the_api(client, api, stored, "expires_at")
    elif case == "no customers.write":
        caller = api_with(scope.CUSTOMERS_GET)
    elif case == "guarded field without its scope":
        caller, body = api_with(scope.CUSTOMERS_WRITE), body | {"is_loyalty_enabled": True}
    elif case == "invalid field":
        body["email"] = "not an email"
    elif case == "missing field":
        del body["name"]
    elif case == "phone taken":
        api.make_customer(phone=phone)
    elif case == "not JSON":
        content = b'{"name": "Nour",'
    elif case == "not an object":
        content = b'[{"name": "Nour"}]'
    elif case == "too large":
        body["name"] = "N" * (2 * 1024 * 1024)
    sent = {"content": content, "headers": {"Content-Type": "application/json"}} if content else {"json": body}
    before = stored("SELECT count(*) AS n FROM customers WHERE business_id = :b", b=api.business_id)

    fast, route, statements = both_ways.both(caller, "POST", "/customers", **sent)

    assert statements > 0 or case == "no token"  # the route refuses a request without a token unread
    assert fast.status_code >= 400
    assert_same_answer(fast, route)
    assert stored("SELECT count(*) AS n FROM customers WHERE business_id = :b", b=api.business_id) == before


@pytest.mark.parametrize("case", ["tags", "Idempotency-Key", "include"])
def test_a_create_the_fast_path_leaves_to_the_route_creates_one_customer(both_ways, api, stored, case) -> None:
    phone = next_phone()
    path, body, headers = "/customers", {"name": "Nour", "dial_code": 966, "phone": phone}, {}
    if case == "tags":
        body["tags"] = [{"id": api.make_tag()["id"]}]
    elif case == "Idempotency-Key":
        headers = {"Idempotency-Key": str(uuid.uuid4())}
    else:
        path += "?include=tags"

    fast, statements = both_ways.fast(api, "POST", path, json=body, headers=headers)

    assert fast.status_code == 201
    assert statements > 0
    assert (
        len(stored("SELECT id FROM customers WHERE business_id = :b AND phone = :p", b=api.business_id, p=phone)) == 1
    )


# --- POST /house_account_transactions, POST /loyalty_transactions ---------------------------------

HOUSE, LOYALTY = "/house_account_transactions", "/loyalty_transactions"
# What two entries of the same body may differ in, beside the customer they are of.
ENTRY_FIELDS = {"id", "created_at", "updated_at", "customer"}


def comparable_entry(response: httpx.Response) -> tuple[Any, ...]:
    """An entry's answer without what differs between two entries of one body."""
    data = {field: value for field, value in response.json()["data"].items() if field not in ENTRY_FIELDS}
    return (
        response.status_code,
        data,
        response.headers["Location"].rsplit("/", 1)[0],
        comparable_headers(response, leaving_out=("location",)),
    )


def account_holder(api: Api, **fields: Any) -> dict[str, Any]:
    return api.make_customer(is_house_account_enabled=True, is_loyalty_enabled=True, **fields)


@pytest.mark.parametrize(
    ("prefix", "path", "fields"),
    [
        ("", HOUSE, {"amount": -120.5, "order_id": " order-8841 ", "user_id": "7", "meta": {"a": [1, 2.5, "ب"]}}),
        ("/v5", HOUSE, {"amount": "-0.010"}),
        ("", HOUSE, {"amount": 100, "payment_method_id": "cash", "meta": None}),
        ("", HOUSE, {"amount": -250, "user_id": "", "meta": [1, {"b": None}]}),
        ("", LOYALTY, {"amount": 12.125, "order_id": "order-1", "user_id": "ignored"}),
        ("", LOYALTY, {"amount": "-10", "meta": {"reward": "free coffee"}}),
    ],
)
def test_an_entry_made_by_the_fast_path_is_the_routes_entry(both_ways, api, stored, prefix, path, fields) -> None:
    # Twins: each request meets a customer in the same state, 40 points earned, 250 of credit.
    twins = [account_holder(api, house_account_limit=250) for _ in range(2)]
    for customer in twins:
        assert api.post(LOYALTY, json={"customer_id": customer["id"], "amount": 40}).status_code == 201

    fast, statements = both_ways.fast(api, "POST", f"{prefix}{path}", json={"customer_id": twins[0]["id"]} | fields)
    route = both_ways.route(api, "POST", f"{prefix}{path}", json={"customer_id": twins[1]["id"]} | fields)

    assert statements == 0
    assert fast.status_code == 201, fast.text
    assert comparable_entry(fast) == comparable_entry(route)
    assert fast.json()["data"]["customer"] == {"id": twins[0]["id"]}
    assert fast.headers["Location"] == f"http://testserver{prefix}{path}/{fast.json()['data']['id']}"
    assert api.get(f"{path}/{fast.json()['data']['id']}").json()["data"] == fast.json()["data"]
    shown = [api.get(f"/customers/{customer['id']}").json()["data"] for customer in twins]
    balances = [(customer["house_account_balance"], customer["loyalty_balance"]) for customer in shown]
    assert balances[0] == balances[1]
    assert shown[0]["updated_at"] == fast.json()["data"]["created_at"]


@pytest.mark.parametrize(
    "case",
    [
        "charge beyond the limit",
        "charge to a disabled account",
        "redemption below 0",
        "earning with loyalty disabled",
        "balance beyond its column",
        "unknown customer",
        "deleted customer",
        "another business's customer",
        "malformed customer id",
        "missing amount",
        "zero amount",
        "inexact amount",
        "meta not an object",
        "no write scope",
        "revoked token",
        "not JSON",
        "not an object",
    ],
)
def test_every_entry_that_fails_is_the_routes_failure_and_stores_nothing(
    both_ways, client, api, api_with, other_api, stored, case
) -> None:
    customer = account_holder(api, house_account_limit=10)
    caller, path, body = api, HOUSE, {"customer_id": customer["id"], "amount": -5}
    content = None
    if case == "charge beyond the limit":
        body["amount"] = -10.001
    elif case == "charge to a disabled account":
        body["customer_id"] = api.make_customer()["id"]
    elif case == "redemption below 0":
        path = LOYALTY
    elif case == "earning with loyalty disabled":
        path, body = LOYALTY, {"customer_id": api.make_customer()["id"], "amount": 5}
    elif case == "balance beyond its column":
        big = account_holder(api)
        for _ in range(100):
            assert api.post(LOYALTY, json={"customer_id": big["id"], "amount": 999_999_999}).status_code == 201
        path, body = LOYALTY, {"customer_id": big["id"], "amount": 999_999_999}
    elif case == "unknown customer":
        body["customer_id"] = str(uuid.uuid4())
    elif case == "deleted customer":
        assert api.delete(f"/customers/{customer['id']}").status_code == 204
    elif case == "another business's customer":
        body["customer_id"] = account_holder(other_api)["id"]
    elif case == "malformed customer id":
        body["customer_id"] = "not-an-id"
    elif case == "missing amount":
        del body["amount"]
    elif case == "zero amount":
        body["amount"] = 0
    elif case == "inexact amount":
        body["amount"] = 0.0001
    elif case == "meta not an object":
        body["meta"] = "text"
    elif case == "no write scope":
        caller = api_with(scope.ACCOUNTS_READ, scope.CUSTOMERS_GET)
    elif case == "revoked token":
        caller = token_changed_behind_the_api(client, api, stored, "revoked_at")
    elif case == "not JSON":
        content = b'{"amount": -5,'
    elif case == "not an object":
        content = b"[1]"
    sent = {"content": content, "headers": {"Content-Type": "application/json"}} if content else {"json": body}
    counted = (
        "SELECT (SELECT count(*) FROM house_account_transactions) + (SELECT count(*) FROM loyalty_transactions) AS n"
    )
    before = stored(counted)

    fast, route, statements = both_ways.both(caller, "POST", path, **sent)

    assert statements > 0
    assert fast.status_code >= 400
    assert_same_answer(fast, route)
    assert stored(counted) == before


@pytest.mark.parametrize("case", ["Idempotency-Key", "include"])
def test_an_entry_the_fast_path_leaves_to_the_route_is_made_once(both_ways, api, case) -> None:
    customer = account_holder(api)
    path, headers = HOUSE, {}
    if case == "Idempotency-Key":
        headers = {"Idempotency-Key": str(uuid.uuid4())}
    else:
        path += "?include=customer"

    fast, statements = both_ways.fast(
        api, "POST", path, json={"customer_id": customer["id"], "amount": 3}, headers=headers
    )

    assert fast.status_code == 201
    assert statements > 0
    assert api.get(HOUSE, params={"filter[customer_id]": customer["id"]}).json()["meta"]["total"] == 1


def test_an_entry_whose_customer_changed_since_it_was_read_goes_to_the_route(both_ways, api, monkeypatch) -> None:
    customer = account_holder(api, house_account_limit=10)
    read_as = fast_paths_module.as_row

    def read_before_another_write(record: Any) -> Any:
        # As if another entry had landed between the read and the write: the row read is an older version.
        row = read_as(record)
        if hasattr(row, "house_account_balance"):
            row.updated_at -= timedelta(microseconds=1)
        return row

    monkeypatch.setattr(fast_paths_module, "as_row", read_before_another_write)

    fast, statements = both_ways.fast(api, "POST", HOUSE, json={"customer_id": customer["id"], "amount": -4})

    assert fast.status_code == 201, fast.text
    assert statements > 0
    listed = api.get(HOUSE, params={"filter[customer_id]": customer["id"]}).json()
    assert (listed["meta"]["total"], [entry["balance_after"] for entry in listed["data"]]) == (1, [-4])


# --- every table, after the same requests each way ------------------------------------------------


UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def business_rows(client: TestClient, business_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table the requests may write for the business (its token aside), the
    customer counters summed (PostgreSQL spreads them over random slots), each id and time replaced
    by the order it first appears in (within stored text too): what two businesses sent the same
    requests must hold alike."""
    tables = [table for table in metadata.sorted_tables if "business_id" in table.c and table is not tokens]
    held: dict[str, list[dict[str, Any]]] = {}
    for table in tables:
        order = [table.c.created_at] if "created_at" in table.c else []
        held[table.name] = run_statement(
            client,
            select(table).where(table.c.business_id == business_id).order_by(*order, *table.primary_key.columns),
        )
    held[customer_counts.name] = summed_counters(client, business_id)
    for event in held["events"]:
        # Times are shown to the second, so whether an update's `changes` holds `updated_at` depends on
        # whether the second turned between two requests.
        if event["changes"] is not None:
            event["changes"].pop("updated_at", None)
    seen: dict[Any, str] = {}

    def placeholder(value: Any) -> Any:
        if isinstance(value, uuid.UUID | datetime):
            return seen.setdefault(value, f"{type(value).__name__} #{len(seen)}")
        if isinstance(value, dict):
            return {key: placeholder(item) for key, item in value.items()}
        if isinstance(value, list):
            return [placeholder(item) for item in value]
        if isinstance(value, bytes):
            value = value.decode()
        if isinstance(value, str):
            value = UUID_TEXT.sub(lambda found: placeholder(uuid.UUID(found[0])), value)
            # Shown to the second: two runs a moment apart may straddle one.
            value = TIME_TEXT.sub("a time", value)
        return value

    return {
        name: [{key: placeholder(value) for key, value in row.items()} for row in rows] for name, rows in held.items()
    }


def test_the_same_requests_leave_every_table_as_the_routes_leave_it(both_ways, client) -> None:
    fast_api, route_api = (
        Api(client, new_token(client, business).token, business)
        for business in (new_business(client), new_business(client))
    )
    phone, other_phone = next_phone(), next_phone()
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/customers", {"json": {"name": "Nour", "dial_code": 966, "phone": f"0{phone}"}}),
        (
            "POST",
            "/customers",
            {
                "json": {
                    "name": " Sara ",
                    "dial_code": 966,
                    "phone": other_phone,
                    "email": "Sara@Example.com",
                    "gender": 2,
                    "birth_date": "1990-02-03",
                    "house_account_limit": 250,
                    "is_house_account_enabled": True,
                    "is_loyalty_enabled": True,
                    "is_blacklisted": True,
                    "order_count": 9,
                    "loyalty_balance": 5,
                }
            },
        ),
        ("POST", "/customers", {"json": {"name": "Taken", "dial_code": 966, "phone": phone}}),
        ("POST", "/customers", {"json": {"name": "Bad", "dial_code": 966, "phone": next_phone(), "email": "x"}}),
        (
            "POST",
            "/customers",
            {
                "json": {"name": "Retried", "dial_code": 966, "phone": next_phone()},
                "headers": {"Idempotency-Key": "once"},
            },
        ),
        ("GET", "/customers/{first}", {}),
        # Entries of the second customer (house account enabled, limit 250; loyalty enabled) and the first
        # (neither enabled): charges, payments, earnings, redemptions, and refused ones.
        ("POST", HOUSE, {"json": {"customer_id": "{second}", "amount": -100.5, "order_id": "o-1", "user_id": "7"}}),
        ("POST", HOUSE, {"json": {"customer_id": "{second}", "amount": "20", "payment_method_id": "cash"}}),
        ("POST", HOUSE, {"json": {"customer_id": "{second}", "amount": -500}}),
        ("POST", LOYALTY, {"json": {"customer_id": "{second}", "amount": 12, "meta": {"k": [1, 2.5]}}}),
        ("POST", LOYALTY, {"json": {"customer_id": "{second}", "amount": -2.5}}),
        ("POST", LOYALTY, {"json": {"customer_id": "{second}", "amount": -100}}),
        ("POST", HOUSE, {"json": {"customer_id": "{first}", "amount": -1}}),
        ("POST", HOUSE, {"json": {"customer_id": "{first}", "amount": 1}}),
        ("POST", LOYALTY, {"json": {"customer_id": "{first}", "amount": 1}}),
    ]
    answered: list[list[tuple[int, int | None]]] = []
    for caller, send in ((fast_api, both_ways.fast), (route_api, both_ways.route)):
        made: dict[str, str] = {}
        answers = []
        for method, path, options in requests:
            if "json" in options:
                options = options | {
                    "json": {k: v.format(**made) if isinstance(v, str) else v for k, v in options["json"].items()}
                }
            sent = send(caller, method, path.format(**made), **options)
            response, statements = sent if isinstance(sent, tuple) else (sent, None)
            if path == "/customers" and response.status_code == 201:
                made.setdefault("first" if not made else "second", response.json()["data"]["id"])
            answers.append((response.status_code, statements))
        answered.append(answers)

    fast, route = answered
    statuses = [201, 201, 422, 422, 201, 200, 201, 201, 422, 201, 201, 422, 422, 201, 422]
    assert [status for status, _ in fast] == [status for status, _ in route] == statuses
    # The fast paths answered the plain creates, the read and the accepted entries; the route everything else.
    assert [statements == 0 for _, statements in fast] == [
        True, True, False, False, False, True, True, True, False, True, True, False, False, True, False
    ]  # fmt: skip
    assert business_rows(client, fast_api.business_id) == business_rows(client, route_api.business_id)
