"""Keyset paging (`cursor`): a walk returns every row once, in sort order, whatever is written
meanwhile and however deep it goes; numbered pages work as before; the sync recipe works."""

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Table, event

from clientele.addresses.models import addresses
from clientele.customers.models import customers
from clientele.delivery_zones.models import delivery_zones
from clientele.tags.models import tags
from tests.conftest import run_in_app

NOON = datetime(2024, 3, 1, 12, 0, 0)
# Few distinct values, so that every sort key has ties that only later keys (and id) can break.
CREATED = [NOON, NOON, NOON + timedelta(microseconds=1), NOON + timedelta(seconds=1), NOON]
UPDATED = [NOON + timedelta(days=1), NOON, NOON]
# SQLite's dialect writes an OFFSET (of 0) even where none is asked for.
OFFSET_AT_END = re.compile(r"\sOFFSET\s+(\?|\$\d+)(::\w+)?\s*$", re.IGNORECASE)
# Far more pages than any walk here has: a cursor that stops moving fails the test instead of looping.
MAX_PAGES = 100
# The last one changes direction twice, so its rows follow a cursor only where they tie on every
# key before the change.
SORTS = [
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "-updated_at,created_at",
    "updated_at,-created_at",
    "created_at,updated_at",
    "-created_at,-updated_at",
    "created_at,-updated_at,created_at",
]


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


def rest_of_walk(api: Any, path: str, params: dict[str, str], body: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows after the page `body`, following `cursor=meta.next_cursor` until it is null."""
    rows: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        if body["meta"]["next_cursor"] is None:
            return rows
        body = ok(api.get(path, params=params | {"cursor": body["meta"]["next_cursor"]}))
        rows += body["data"]
    pytest.fail(f"The walk did not end within {MAX_PAGES} pages.")


def walk(api: Any, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """Every row of a list: the first page, then the pages its cursors lead to."""
    first = ok(api.get(path, params=params))
    return first["data"] + rest_of_walk(api, path, params, first)


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [row["id"] for row in rows]


def in_sort_order(rows: list[dict[str, Any]], sort: str) -> list[str]:
    """The ids of stored rows (with datetime `created_at`/`updated_at`) in the order `sort` asks for."""
    keys = [(key.removeprefix("-"), key.startswith("-")) for key in sort.split(",")]
    ordered = sorted(rows, key=lambda row: row["id"], reverse=keys[-1][1])
    for name, descending in reversed(keys):
        ordered.sort(key=lambda row, name=name: row[name], reverse=descending)  # stable: keeps later keys' order
    return ids(ordered)


@pytest.fixture
def stamp(
    overwrite: Callable[..., None],
    stored_row: Callable[[Table, str], dict[str, Any]],
) -> Callable[[Table, list[dict[str, Any]]], list[dict[str, Any]]]:
    """Give records made through the API tied timestamps; returns them as stored."""

    def apply(table: Table, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for number, record in enumerate(records):
            overwrite(
                table,
                record["id"],
                created_at=CREATED[number % len(CREATED)],
                updated_at=UPDATED[number % len(UPDATED)],
            )
        return [stored_row(table, record["id"]) | {"id": record["id"]} for record in records]

    return apply


@pytest.fixture
def tied_customers(api: Any, stamp: Callable[..., list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return stamp(customers, [api.make_customer(name=f"Customer {number}") for number in range(11)])


@pytest.fixture
def statements_sent(client: Any) -> Iterator[list[tuple[str, Any]]]:
    """Each statement the app sends while the test runs, with its parameters (cleared by the test)."""
    engine = client.app.state.engine.sync_engine
    sent: list[tuple[str, Any]] = []

    def record(_connection: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    yield sent
    event.remove(engine, "before_cursor_execute", record)


def rows_skipped(statement: str, parameters: Any) -> int:
    # OFFSET is the last clause, so its value is the last parameter.
    return parameters[-1] if OFFSET_AT_END.search(statement) else 0


def index_search(client: Any, statement: str, parameters: Any) -> str:
    """How the statement's plan searches the table: the index, and the conditions the index applies."""

    async def work(connection: Any) -> str:
        if connection.dialect.name == "postgresql":
            # The test tables are tiny, so the planner would rightly read them whole and sort: ask
            # instead whether an index can serve the statement in its order.
            await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            await connection.exec_driver_sql("SET LOCAL enable_sort = off")
            result = await connection.exec_driver_sql(f"EXPLAIN {statement}", tuple(parameters))
            return "\n".join(line for [line] in result if "Index Scan" in line or "Index Cond" in line)
        result = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", tuple(parameters))
        return "\n".join(row[-1] for row in result if "USING INDEX" in row[-1])

    return run_in_app(client, work)


# --- walking a list ---------------------------------------------------------------------------


@pytest.mark.parametrize("sort", SORTS)
def test_a_cursor_walk_returns_every_row_once_in_sort_order(api, tied_customers, sort):
    walked = walk(api, "/customers", {"sort": sort, "per_page": "2"})

    assert ids(walked) == in_sort_order(tied_customers, sort)


@pytest.mark.parametrize("per_page", ["1", "3", "11", "1000"])
def test_a_cursor_walk_covers_the_list_at_any_page_size(api, tied_customers, per_page):
    walked = walk(api, "/customers", {"per_page": per_page})

    assert ids(walked) == in_sort_order(tied_customers, "created_at")


def test_per_page_may_change_from_one_cursor_page_to_the_next(api, tied_customers):
    first = ok(api.get("/customers", params={"per_page": "2"}))
    second = ok(api.get("/customers", params={"per_page": "5", "cursor": first["meta"]["next_cursor"]}))
    third = ok(api.get("/customers", params={"per_page": "100", "cursor": second["meta"]["next_cursor"]}))

    assert [len(first["data"]), len(second["data"]), len(third["data"])] == [2, 5, 4]
    assert ids(first["data"] + second["data"] + third["data"]) == in_sort_order(tied_customers, "created_at")
    assert third["meta"]["next_cursor"] is None


def test_following_links_next_walks_the_rest_by_cursor(api, tied_customers):
    params = {"sort": "-updated_at,created_at", "per_page": "3", "include": "tags"}
    first = ok(api.get("/customers", params=params))
    body = ok(api.get("/customers", params=params | {"cursor": first["meta"]["next_cursor"]}))
    walked = first["data"] + body["data"]
    for _ in range(MAX_PAGES):
        if body["links"]["next"] is None:
            break
        body = ok(api.get(body["links"]["next"]))
        walked += body["data"]
    else:
        pytest.fail(f"The walk did not end within {MAX_PAGES} pages.")

    assert ids(walked) == in_sort_order(tied_customers, "-updated_at,created_at")


def test_a_cursor_walk_respects_the_filters(api, stamp):
    made = stamp(
        customers, [api.make_customer(name=f"{'Ann' if number % 2 else 'Bob'} {number}") for number in range(9)]
    )

    walked = walk(api, "/customers", {"filter[name]": "ann", "sort": "-created_at", "per_page": "2"})

    assert ids(walked) == in_sort_order([row for row in made if row["name"].startswith("Ann")], "-created_at")


@pytest.mark.parametrize("sort", ["created_at", "-created_at", "updated_at"])
def test_rows_written_during_a_walk_never_make_it_skip_or_repeat_a_row_that_was_there(
    api, tied_customers, overwrite, sort
):
    params = {"sort": sort, "per_page": "3"}
    first = ok(api.get("/customers", params=params))
    # Offset pages would shift under all three: a row lands before the cursor, one after it,
    # and a row already served disappears.
    overwrite(
        customers,
        api.make_customer(name="Landed before")["id"],
        created_at=NOON - timedelta(days=1),
        updated_at=NOON - timedelta(days=1),
    )
    api.make_customer(name="Landed after")
    gone = first["data"][0]["id"]
    assert api.delete(f"/customers/{gone}").status_code == 204

    walked = ids(first["data"] + rest_of_walk(api, "/customers", params, first))

    there_before = in_sort_order(tied_customers, sort)
    assert [row_id for row_id in walked if row_id in there_before] == there_before


# --- every list route -------------------------------------------------------------------------


def make_addresses(api: Any) -> list[dict[str, Any]]:
    customer = api.make_customer()
    return [api.make_address(customer["id"], name=f"Address {number}") for number in range(7)]


@pytest.mark.parametrize(
    ("path", "table", "make"),
    [
        ("/customers", customers, lambda api: [api.make_customer() for _ in range(7)]),
        ("/tags", tags, lambda api: [api.make_tag() for _ in range(7)]),
        ("/delivery_zones", delivery_zones, lambda api: [api.make_zone() for _ in range(7)]),
        ("/addresses", addresses, make_addresses),
    ],
)
@pytest.mark.parametrize("sort", ["created_at", "-updated_at,created_at"])
def test_every_list_route_walks_by_cursor(api, stamp, path, table, make, sort):
    made = stamp(table, make(api))

    walked = walk(api, path, {"sort": sort, "per_page": "2"})

    assert ids(walked) == in_sort_order(made, sort)


def test_a_cursor_works_under_v5_too(api, tied_customers):
    first = ok(api.get("/customers", params={"per_page": "4"}))

    following = ok(api.get("/v5/customers", params={"per_page": "4", "cursor": first["meta"]["next_cursor"]}))

    assert ids(following["data"]) == in_sort_order(tied_customers, "created_at")[4:8]
    assert urlsplit(following["links"]["next"]).path == "/v5/customers"


# --- the page body --------------------------------------------------------------------------


def test_a_numbered_page_keeps_its_links_and_offers_the_next_cursor(api, tied_customers):
    body = ok(api.get("/customers", params={"per_page": "4", "page": "2"}))

    assert parse_qs(urlsplit(body["links"]["next"]).query) == {"per_page": ["4"], "page": ["3"]}
    assert body["meta"]["current_page"] == 2
    following = ok(api.get("/customers", params={"per_page": "4", "cursor": body["meta"]["next_cursor"]}))
    assert ids(following["data"]) == in_sort_order(tied_customers, "created_at")[8:]


def test_next_cursor_is_null_on_the_last_page_and_on_an_empty_list(api):
    assert ok(api.get("/customers"))["meta"]["next_cursor"] is None
    api.make_customer()
    api.make_customer()

    assert ok(api.get("/customers", params={"per_page": "2"}))["meta"]["next_cursor"] is None
    assert ok(api.get("/customers", params={"per_page": "1", "page": "2"}))["meta"]["next_cursor"] is None
    assert ok(api.get("/customers", params={"per_page": "1", "page": "9"}))["meta"]["next_cursor"] is None


def test_a_cursor_page_has_no_position_and_no_total_but_keeps_size_and_path(api, tied_customers):
    first = ok(api.get("/customers", params={"per_page": "4"}))

    body = ok(api.get("/customers", params={"per_page": "4", "cursor": first["meta"]["next_cursor"]}))

    assert first["meta"]["total"] == 11
    assert body["meta"] | {"next_cursor": None} == {
        "current_page": None,
        "from": None,
        "last_page": None,
        "next_cursor": None,
        "path": "http://testserver/customers",
        "per_page": 4,
        "to": None,
        "total": None,
    }
    assert isinstance(body["meta"]["next_cursor"], str)


@pytest.mark.parametrize("params", [{}, {"filter[name]": "customer"}, {"filter[is_blacklisted]": "false"}])
def test_a_cursor_page_counts_nothing(api, tied_customers, sent_statements, params):
    first = ok(api.get("/customers", params=params | {"per_page": "4"}))
    cursor = first["meta"]["next_cursor"]
    assert cursor

    statements = sent_statements(lambda: ok(api.get("/customers", params=params | {"per_page": "4", "cursor": cursor})))

    assert not any("count(" in statement.lower() or "customer_counts" in statement for statement in statements)


def test_a_cursor_page_links_forward_by_cursor_and_keeps_the_other_parameters(api, tied_customers):
    params = {"filter[name]": "customer", "sort": "-created_at", "per_page": "4", "include": "tags"}
    first = ok(api.get("/customers", params=params))

    body = ok(api.get("/customers", params=params | {"cursor": first["meta"]["next_cursor"]}))

    links, kept = body["links"], {key: [value] for key, value in params.items()}
    next_url = urlsplit(links["next"])
    assert (next_url.scheme, next_url.netloc, next_url.path) == ("http", "testserver", "/customers")
    assert parse_qs(next_url.query) == kept | {"cursor": [body["meta"]["next_cursor"]]}
    assert (links["prev"], links["last"]) == (None, None)
    assert parse_qs(urlsplit(links["first"]).query) == kept | {"page": ["1"]}


def test_the_last_cursor_page_links_nowhere_next(api, tied_customers):
    first = ok(api.get("/customers", params={"per_page": "8"}))

    last = ok(api.get("/customers", params={"per_page": "8", "cursor": first["meta"]["next_cursor"]}))

    assert len(last["data"]) == 3
    assert (last["links"]["next"], last["meta"]["next_cursor"]) == (None, None)


def test_a_cursor_past_rows_that_were_deleted_since_gives_an_empty_last_page(api):
    made = [api.make_customer() for _ in range(3)]
    first = ok(api.get("/customers", params={"per_page": "1"}))
    for customer in made[1:]:
        assert api.delete(f"/customers/{customer['id']}").status_code == 204

    body = ok(api.get("/customers", params={"per_page": "1", "cursor": first["meta"]["next_cursor"]}))

    assert (body["data"], body["meta"]["next_cursor"], body["links"]["next"]) == ([], None, None)


def test_the_openapi_description_documents_cursor_and_next_cursor(client):
    document = client.get("/openapi.json").json()

    for path in ("/customers", "/tags", "/delivery_zones", "/addresses"):
        parameters = {parameter["name"]: parameter for parameter in document["paths"][path]["get"]["parameters"]}
        assert "meta.next_cursor" in parameters["cursor"]["description"]
    meta = document["components"]["schemas"]["PageMeta"]
    assert "next_cursor" in meta["required"]
    assert {"type": "null"} in meta["properties"]["current_page"]["anyOf"]


# --- cost -----------------------------------------------------------------------------------


def test_a_cursor_page_is_fetched_by_keyset_not_by_offset(api, tied_customers, statements_sent):
    first = ok(api.get("/customers", params={"per_page": "2", "page": "3"}))
    assert max(rows_skipped(*sent) for sent in statements_sent) == 4
    statements_sent.clear()

    ok(api.get("/customers", params={"per_page": "2", "cursor": first["meta"]["next_cursor"]}))

    assert statements_sent
    assert max(rows_skipped(*sent) for sent in statements_sent) == 0


@pytest.mark.parametrize(
    ("sort", "index", "condition"),
    [
        (
            "created_at",
            "ix_customers_business_id_created_at_id",
            {"postgresql": "ROW(created_at, id) > ROW(", "sqlite": "(business_id=? AND (created_at,id)>(?,?))"},
        ),
        (
            "-updated_at",
            "ix_customers_business_id_updated_at_id",
            {"postgresql": "ROW(updated_at, id) < ROW(", "sqlite": "(business_id=? AND (updated_at,id)<(?,?))"},
        ),
        (
            "-updated_at,created_at",
            "ix_customers_business_id_updated_at_id",
            {"postgresql": "(updated_at <= ", "sqlite": "(business_id=? AND updated_at<?)"},
        ),
    ],
)
def test_a_cursor_page_starts_in_the_index_where_the_cursor_points(
    api, client, tied_customers, statements_sent, sort, index, condition
):
    first = ok(api.get("/customers", params={"sort": sort, "per_page": "2"}))
    statements_sent.clear()

    ok(api.get("/customers", params={"sort": sort, "per_page": "2", "cursor": first["meta"]["next_cursor"]}))

    [page_select] = [sent for sent in statements_sent if "ORDER BY" in sent[0]]
    search = index_search(client, *page_select)
    assert index in search
    assert condition[client.app.state.engine.dialect.name] in search


def test_a_cursor_page_sends_one_statement_fewer_than_a_first_page_its_count(api, tied_customers, statement_count):
    first = ok(api.get("/customers", params={"per_page": "2"}))

    numbered = statement_count(lambda: ok(api.get("/customers", params={"per_page": "2"})))
    by_cursor = statement_count(
        lambda: ok(api.get("/customers", params={"per_page": "2", "cursor": first["meta"]["next_cursor"]}))
    )

    assert by_cursor == numbered - 1


# --- the sync recipe: filter[updated_after] + sort=updated_at + cursor -------------------------


def sync(api: Any, since: str | None) -> list[dict[str, Any]]:
    params = {"sort": "updated_at", "per_page": "2"} | ({"filter[updated_after]": since} if since else {})
    return walk(api, "/customers", params)


def test_a_sync_from_scratch_returns_every_customer_by_updated_at(api, tied_customers):
    assert ids(sync(api, None)) == in_sort_order(tied_customers, "updated_at")


def test_a_sync_since_a_time_returns_only_what_changed_after_it(api, tied_customers):
    since = "2024-03-01 12:00:00"

    changed = [row for row in tied_customers if row["updated_at"] > NOON]

    assert ids(sync(api, since)) == in_sort_order(changed, "updated_at")


def test_the_next_sync_from_the_last_updated_at_seen_misses_nothing(api, tied_customers):
    synced = sync(api, None)
    since = synced[-1]["updated_at"]
    renamed = api.put(f"/customers/{synced[0]['id']}", json={"name": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    added = api.make_customer(name="Added")
    deleted = synced[1]["id"]
    assert api.delete(f"/customers/{deleted}").status_code == 204

    changes = ids(sync(api, since))
    deletions = ids(
        walk(
            api,
            "/customers",
            {"filter[updated_after]": since, "filter[is_deleted]": "true", "sort": "updated_at", "per_page": "2"},
        )
    )

    assert changes == [synced[0]["id"], added["id"]]
    assert deletions == [deleted]


def test_rows_changed_during_a_sync_come_again_later_and_none_is_skipped(api, tied_customers):
    params = {"sort": "updated_at", "per_page": "3"}
    first = ok(api.get("/customers", params=params))
    ahead = in_sort_order(tied_customers, "updated_at")[5]
    for changed in (first["data"][0]["id"], ahead):
        assert api.put(f"/customers/{changed}", json={"name": "Changed meanwhile"}).status_code == 200

    walked = ids(first["data"] + rest_of_walk(api, "/customers", params, first))

    assert set(walked) == set(ids(tied_customers))
    assert walked[-2:] == [first["data"][0]["id"], ahead]
