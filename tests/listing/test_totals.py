"""`meta.total` is exact for every filter, whether the database counts rows or reads counters."""

import re
import uuid
from collections.abc import Hashable
from typing import Any

import pytest
from sqlalchemy import select
from tests.conftest import run_in_app

from clientele.customers import counts
from clientele.customers.counts import SEGMENTS, RememberedTotals, customer_list_versions
from clientele.customers.models import customers

BOOLEAN_FILTERS = ("is_blacklisted", "is_house_account_enabled", "is_loyalty_enabled", "has_orders")


@pytest.fixture
def mixed_customers(api, overwrite):
    """Customers with every combination of flags, some deleted, some changed after creation."""
    made = []
    for index in range(12):
        customer = api.make_customer(is_blacklisted=index % 2 == 0, is_loyalty_enabled=index % 3 == 0,
                                     is_house_account_enabled=index % 4 == 0)
        if index % 5 == 0:
            overwrite(customers, customer["id"], order_count=index + 1)
        made.append(customer)
    assert api.put(f"/customers/{made[1]['id']}", json={"is_blacklisted": True}).status_code == 200
    assert api.put(f"/customers/{made[2]['id']}", json={"is_blacklisted": False}).status_code == 200
    for customer in made[:3]:
        assert api.delete(f"/customers/{customer['id']}").status_code == 204
    assert api.put(f"/customers/{made[0]['id']}/restore").status_code == 200
    return made


def total(api, **filters) -> int:
    response = api.get("/customers", params={f"filter[{name}]": value for name, value in filters.items()})
    assert response.status_code == 200, response.text
    return response.json()["meta"]["total"]


def test_unfiltered_total_counts_active_customers(api, mixed_customers):
    assert total(api) == 10
    assert total(api, is_deleted="false") == 10
    assert total(api, is_deleted="true") == 2


@pytest.mark.parametrize("name", BOOLEAN_FILTERS)
@pytest.mark.parametrize("value", ["true", "false"])
def test_a_boolean_filter_total_matches_the_rows(api, mixed_customers, name, value):
    listed = 0
    page = 1
    while True:
        body = api.get("/customers", params={f"filter[{name}]": value, "per_page": 5, "page": page}).json()
        listed += len(body["data"])
        if body["links"]["next"] is None:
            break
        page += 1

    assert total(api, **{name: value}) == listed


def test_totals_follow_deletes_restores_and_flag_changes(api, mixed_customers):
    before = total(api, is_blacklisted="true")
    target = next(c for c in mixed_customers[3:] if not c["is_blacklisted"])

    api.put(f"/customers/{target['id']}", json={"is_blacklisted": True})
    assert total(api, is_blacklisted="true") == before + 1
    api.delete(f"/customers/{target['id']}")
    assert total(api, is_blacklisted="true") == before
    assert total(api, is_deleted="true") == 3
    api.put(f"/customers/{target['id']}/restore")
    assert total(api, is_blacklisted="true") == before + 1


def test_totals_are_per_business(api, other_api, mixed_customers):
    other_api.make_customer(is_blacklisted=True)

    assert total(other_api) == 1
    assert total(other_api, is_blacklisted="true") == 1
    assert total(api) == 10


def test_a_dial_code_total_follows_creates_changes_deletes_and_restores(api, other_api):
    saudi = [api.make_customer(dial_code=966) for _ in range(3)]
    emirati = [api.make_customer(dial_code=971) for _ in range(2)]
    other_api.make_customer(dial_code=966)
    assert (total(api, dial_code="966"), total(api, dial_code="971"), total(api, dial_code="44")) == (3, 2, 0)

    assert api.put(f"/customers/{saudi[0]['id']}", json={"dial_code": 971}).status_code == 200
    assert (total(api, dial_code="966"), total(api, dial_code="971")) == (2, 3)
    assert api.delete(f"/customers/{emirati[0]['id']}").status_code == 204
    assert (total(api, dial_code="971"), total(api, dial_code="971", is_deleted="false")) == (2, 2)
    assert total(api, dial_code="971", is_deleted="true") == 1
    assert api.put(f"/customers/{emirati[0]['id']}/restore").status_code == 200
    assert total(api, dial_code=" 971 ") == 3
    assert total(other_api, dial_code="966") == 1


@pytest.mark.parametrize("dial_code", ["966", "971", "1"])
def test_a_dial_code_total_matches_the_rows(api, mixed_customers, dial_code):
    api.make_customer(dial_code=971)
    api.make_customer(dial_code=1, phone="2025550143")
    body = api.get("/customers", params={"filter[dial_code]": dial_code, "per_page": 100}).json()

    assert body["meta"]["total"] == len(body["data"]) == {"966": 10, "971": 1, "1": 1}[dial_code]


def test_a_dial_code_that_is_not_an_integer_is_refused(api):
    response = api.get("/customers", params={"filter[dial_code]": "96x"})

    assert response.status_code == 400
    assert response.json()["errors"] == {"filter[dial_code]": ["The dial_code filter must be an integer."]}


def test_a_tag_total_follows_links_deletes_and_restores(api, other_api):
    first, second = api.make_tag(), api.make_tag()
    tagged = [api.make_customer(tags=[{"id": first["id"]}]) for _ in range(3)]
    api.make_customer(tags=[{"id": second["id"]}])
    api.make_customer()
    other_api.make_customer(tags=[{"id": other_api.make_tag()["id"]}])
    assert (total(api, **{"tags.id": first["id"]}), total(api, **{"tags.id": second["id"]})) == (3, 1)

    assert api.put(f"/customers/{tagged[0]['id']}", json={"tags": [{"id": second["id"]}]}).status_code == 200
    assert (total(api, **{"tags.id": first["id"]}), total(api, **{"tags.id": second["id"]})) == (2, 2)
    assert api.delete(f"/customers/{tagged[1]['id']}").status_code == 204
    assert total(api, **{"tags.id": first["id"]}) == 1
    assert total(api, **{"tags.id": first["id"], "is_deleted": "true"}) == 1
    assert api.put(f"/customers/{tagged[1]['id']}/restore").status_code == 200
    assert api.put(f"/customers/{tagged[2]['id']}", json={"name": "Renamed"}).status_code == 200
    assert total(api, **{"tags.id": f" {first['id']} "}) == 2
    assert total(api, **{"tags.id": f"{first['id']},{second['id']}"}) == 4
    assert total(api, **{"tags.id": f"{first['id']},not-an-id"}) == 2
    assert total(api, **{"tags.id": "not-an-id"}) == 0

    assert api.delete(f"/tags/{first['id']}").status_code == 204
    assert total(api, **{"tags.id": first["id"]}) == 0
    assert total(api, **{"tags.id": second["id"]}) == 2


def test_a_tag_total_matches_the_rows_and_is_per_business(api, other_api):
    shared_name = api.make_tag(name="vip")
    theirs = other_api.make_tag(name="vip")
    for index in range(6):
        api.make_customer(tags=[{"id": shared_name["id"]}] if index % 2 else [])
    other_api.make_customer(tags=[{"id": theirs["id"]}])

    body = api.get("/customers", params={"filter[tags.id]": shared_name["id"], "per_page": 100}).json()

    assert body["meta"]["total"] == len(body["data"]) == 3
    assert total(api, **{"tags.id": theirs["id"]}) == 0
    assert total(other_api, **{"tags.id": theirs["id"]}) == 1


def matching(api, tag_ids: list[str]) -> tuple[int, int]:
    """`meta.total` of `filter[tags.id]` with these ids, and how many customers its page lists."""
    response = api.get("/customers", params={"filter[tags.id]": ",".join(tag_ids), "per_page": 1000})
    assert response.status_code == 200, response.text
    body = response.json()
    return body["meta"]["total"], len(body["data"])


def test_a_several_tags_total_counts_each_customer_once_through_every_change(api, other_api):
    a, b, c, d = (api.make_tag()["id"] for _ in range(4))
    made = {tag_set: [api.make_customer(tags=[{"id": tag} for tag in tag_set]) for _ in range(count)]
            for tag_set, count in (((a,), 3), ((a, b), 2), ((b, c), 2), ((a, b, c), 1), ((d,), 1), ((), 2))}
    theirs = other_api.make_tag()["id"]
    other_api.make_customer(tags=[{"id": theirs}])
    subsets = [[a, b], [b, c], [a, c], [a, b, c], [a, d], [c, d], [a, b, c, d], [a, theirs], [a, a]]

    def totals() -> list[tuple[int, int]]:
        return [matching(api, subset) for subset in subsets]

    def assert_exact(expected: list[int]) -> None:
        assert totals() == [(count, count) for count in expected]

    assert_exact([8, 5, 8, 8, 7, 4, 9, 6, 6])
    # A customer changes set, gains tags, loses all of them; a new customer with three tags.
    assert api.put(f"/customers/{made[(a,)][0]['id']}", json={"tags": [{"id": c}]}).status_code == 200
    assert api.put(f"/customers/{made[()][0]['id']}", json={"tags": [{"id": a}, {"id": d}]}).status_code == 200
    assert api.put(f"/customers/{made[(b, c)][0]['id']}", json={"tags": []}).status_code == 200
    api.make_customer(tags=[{"id": b}, {"id": c}, {"id": d}])
    assert_exact([8, 6, 9, 9, 8, 6, 10, 6, 6])
    # Deleted customers leave every total; restored ones come back with their tags.
    for customer in (made[(a, b)][0], made[(a, b, c)][0]):
        assert api.delete(f"/customers/{customer['id']}").status_code == 204
    assert_exact([6, 4, 7, 7, 6, 5, 8, 4, 4])
    assert api.put(f"/customers/{made[(a, b, c)][0]['id']}/restore").status_code == 200
    assert_exact([7, 5, 8, 8, 7, 6, 9, 5, 5])
    # A deleted tag matches nothing, but the customers keep their other tags.
    assert api.delete(f"/tags/{b}").status_code == 204
    assert_exact([5, 4, 8, 8, 7, 6, 9, 5, 5])
    assert other_api.get("/customers", params={"filter[tags.id]": f"{theirs},{a}"}).json()["meta"]["total"] == 1


def test_a_several_tags_total_is_read_from_counters_on_postgresql(api, database_url, sent_statements):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite counts rows")
    a, b = api.make_tag()["id"], api.make_tag()["id"]
    for tag_set in ([a], [a, b], [b], []):
        api.make_customer(tags=[{"id": tag} for tag in tag_set])
    responses = []
    params = {"filter[tags.id]": f"{a},{b}"}

    statements = sent_statements(lambda: responses.append(api.get("/customers", params=params)))

    assert responses[0].json()["meta"]["total"] == 3
    assert any("customer_tag_set_counts" in statement for statement in statements)
    assert not any("count(*)" in statement.lower() for statement in statements)


def counted(statements: list[str]) -> bool:
    return any("count(*)" in statement.lower() for statement in statements)


class ForgetfulTotals(RememberedTotals):
    """A worker's memory as if every request came to a worker that had not served the filter yet."""

    def __contains__(self, key: Hashable) -> bool:
        self.entries.clear()
        return False


@pytest.fixture(params=["this worker's memory", "shared counts"])
def memory(request, database_url, monkeypatch) -> str:
    """Totals remembered by the worker, or each request on a fresh worker starting from the shared
    counts (every filter shared)."""
    if request.param == "shared counts":
        if not database_url.startswith("postgresql"):
            pytest.skip("SQLite counts rows every time")
        monkeypatch.setattr(counts, "SHARED_MINIMUM", 1)
        monkeypatch.setattr(counts, "REMEMBERED", ForgetfulTotals(size=8))
    return request.param


def test_a_counted_total_follows_every_kind_of_write_between_the_same_requests(api, other_api, overwrite, memory):
    """A total counted row by row is asked for again after each write that changes it."""
    tag = api.make_tag()
    ann = api.make_customer(name="Ann Match")
    api.make_customer(name="Bob Match", tags=[{"id": tag["id"]}])
    api.make_customer(name="Other")
    by_name = {"name": "match"}
    with_tag = {"name": "match", "tags.id": tag["id"]}
    assert (total(api, **by_name), total(api, **with_tag)) == (2, 1)

    made = api.make_customer(name="New Match")
    assert total(api, **by_name) == 3
    assert api.put(f"/customers/{made['id']}", json={"name": "Renamed"}).status_code == 200
    assert total(api, **by_name) == 2
    assert api.put(f"/customers/{ann['id']}", json={"tags": [{"id": tag["id"]}]}).status_code == 200
    assert total(api, **with_tag) == 2
    assert api.delete(f"/customers/{ann['id']}").status_code == 204
    assert (total(api, **by_name), total(api, **with_tag)) == (1, 1)
    assert api.put(f"/customers/{ann['id']}/restore").status_code == 200
    assert (total(api, **by_name), total(api, **with_tag)) == (2, 2)
    assert api.delete(f"/tags/{tag['id']}").status_code == 204
    assert (total(api, **by_name), total(api, **with_tag)) == (2, 0)
    overwrite(customers, made["id"], name="Written Match")  # a write that bypasses the API
    assert total(api, **by_name) == 3
    other_api.make_customer(name="Their Match")
    assert (total(api, **by_name), total(other_api, **by_name)) == (3, 1)


def test_a_counted_total_is_remembered_until_a_write_on_postgresql(api, other_api, database_url, sent_statements):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite counts rows every time")
    api.make_customer(name="Ann Match")
    by_name = {"filter[name]": "match"}
    first, again, after_write = [], [], []

    assert counted(sent_statements(lambda: first.append(api.get("/customers", params=by_name))))
    assert not counted(sent_statements(lambda: again.append(api.get("/customers", params=by_name))))
    other_api.make_customer(name="Their Match")  # another business's write does not move this list
    assert not counted(sent_statements(lambda: again.append(api.get("/customers", params=by_name))))
    api.make_customer(name="Bob Match")
    assert counted(sent_statements(lambda: after_write.append(api.get("/customers", params=by_name))))

    assert [response.json()["meta"]["total"] for response in first + again + after_write] == [1, 1, 1, 2]


def test_remembered_totals_answer_per_segment_at_its_version_and_keep_the_most_recently_used():
    remembered = RememberedTotals(size=2)
    versions = dict.fromkeys(range(SEGMENTS), 1)
    remembered.put("a", dict.fromkeys(range(SEGMENTS), (1, 10)))
    remembered.put("b", {0: (0, 5)})

    assert remembered.split("a", versions) == (10 * SEGMENTS, ())
    assert remembered.split("a", versions | {3: 2, 9: 2}) == (10 * (SEGMENTS - 2), (3, 9))
    remembered.put("a", {3: (2, 7)})
    assert remembered.split("a", versions | {3: 2, 9: 2}) == (10 * (SEGMENTS - 2) + 7, (9,))
    # A segment never written has no version yet (0): its count stands until it has one.
    assert remembered.split("b", {}) == (5, tuple(range(1, SEGMENTS)))
    assert remembered.split("b", {0: 1}) == (0, tuple(range(SEGMENTS)))

    remembered.put("c", {0: (0, 1)})  # "a" was used least recently
    assert ("a" in remembered, "b" in remembered, "c" in remembered) == (False, True, True)


def shared_filters(stored, business_id) -> set[str]:
    found = stored("SELECT filters FROM customer_list_counts WHERE business_id = :business", business=business_id)
    return {row["filters"] for row in found}


def test_a_worker_starts_from_the_counts_another_shared_and_recounts_moved_segments_on_postgresql(
        api, database_url, sent_statements, monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite counts rows every time")
    monkeypatch.setattr(counts, "SHARED_MINIMUM", 3)
    made = [api.make_customer(name=f"Match {number}") for number in range(6)]
    by_name = {"filter[name]": "match"}
    responses = []

    def on_a_new_worker() -> list[str]:
        monkeypatch.setattr(counts, "REMEMBERED", RememberedTotals(size=8))
        return sent_statements(lambda: responses.append(api.get("/customers", params=by_name)))

    first = on_a_new_worker()
    second = on_a_new_worker()
    assert api.put(f"/customers/{made[0]['id']}", json={"name": "Renamed"}).status_code == 200
    after_write = on_a_new_worker()

    assert (counted_segments(first), counted(second), counted_segments(after_write)) == (None, False, 1)
    assert [response.json()["meta"]["total"] for response in responses] == [6, 6, 5]


def test_only_a_count_that_found_many_customers_is_shared_on_postgresql(api, database_url, stored, monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite counts rows every time")
    monkeypatch.setattr(counts, "SHARED_MINIMUM", 3)
    made = [api.make_customer(name=name) for name in ("Ann Many", "Bob Many", "Cy Many", "Di Many", "Ed Few")]

    def shared_at() -> dict[str, Any]:
        found = stored("SELECT filters, counted_at FROM customer_list_counts WHERE business_id = :business",
                       business=api.business_id)
        return {row["filters"]: row["counted_at"] for row in found}

    assert api.get("/customers", params={"filter[name]": "few"}).json()["meta"]["total"] == 1
    assert api.get("/customers", params={"filter[name]": "many"}).json()["meta"]["total"] == 4
    shared = shared_at()
    # After a write, this worker counts one segment again: it finds too few customers to share.
    assert api.put(f"/customers/{made[0]['id']}", json={"name": "Ann"}).status_code == 200
    assert api.get("/customers", params={"filter[name]": "many"}).json()["meta"]["total"] == 3

    assert list(shared) == ['[["name","many"]]']
    assert shared_at() == shared


def test_a_shared_count_not_written_for_a_week_is_forgotten_on_postgresql(api, database_url, stored, monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite counts rows every time")
    monkeypatch.setattr(counts, "SHARED_MINIMUM", 1)
    api.make_customer(name="Ann")
    for filters, days in (("week old", 8), ("days old", 6)):
        stored("INSERT INTO customer_list_counts VALUES (:business, :filters, '{}', '{}', "
               "(now() AT TIME ZONE 'UTC') - make_interval(days => :days))",
               business=api.business_id, filters=filters, days=days)

    assert api.get("/customers", params={"filter[name]": "ann"}).json()["meta"]["total"] == 1

    assert shared_filters(stored, api.business_id) == {"days old", '[["name","ann"]]'}


def test_a_filters_own_shared_count_past_its_week_is_written_again_on_postgresql(api, database_url, stored,
                                                                                 monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite counts rows every time")
    monkeypatch.setattr(counts, "SHARED_MINIMUM", 1)
    api.make_customer(name="Ann")
    stored("INSERT INTO customer_list_counts VALUES (:business, :filters, '{}', '{}', "
           "(now() AT TIME ZONE 'UTC') - make_interval(days => 8))",
           business=api.business_id, filters='[["name","ann"]]')

    response = api.get("/customers", params={"filter[name]": "ann"})

    assert response.status_code == 200
    assert response.json()["meta"]["total"] == 1
    found = stored("SELECT counted_at > (now() AT TIME ZONE 'UTC') - interval '1 hour' AS fresh "
                   "FROM customer_list_counts WHERE business_id = :business", business=api.business_id)
    assert [row["fresh"] for row in found] == [True]


def segment_of(customer_id: str) -> int:
    """The customer's list segment, from its id: its last ten bits (migration 0011)."""
    return int.from_bytes(uuid.UUID(customer_id).bytes[14:], "big") % SEGMENTS


def segment_versions(client, business_id) -> dict[int, int]:
    async def work(connection) -> dict[int, int]:
        rows = await connection.execute(select(customer_list_versions.c.slot, customer_list_versions.c.version)
                                        .where(customer_list_versions.c.business_id == business_id))
        return dict(rows.all())

    return run_in_app(client, work)


def moved(before: dict[int, int], after: dict[int, int]) -> set[int]:
    return {segment for segment in range(SEGMENTS) if before.get(segment, 0) != after.get(segment, 0)}


def test_a_write_moves_the_version_of_its_customers_segments_only_on_postgresql(api, client, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite counts rows every time")
    tag = api.make_tag()
    versions = [segment_versions(client, api.business_id)]

    made = api.make_customer(name="Ann")
    versions.append(segment_versions(client, api.business_id))
    assert api.put(f"/customers/{made['id']}", json={"tags": [{"id": tag["id"]}]}).status_code == 200
    versions.append(segment_versions(client, api.business_id))
    assert api.delete(f"/tags/{tag['id']}").status_code == 204
    versions.append(segment_versions(client, api.business_id))

    assert moved(versions[0], versions[1]) == {segment_of(made["id"])}
    assert moved(versions[1], versions[2]) == {segment_of(made["id"])}
    assert moved(versions[2], versions[3]) == set(range(SEGMENTS))  # a tag may be on anyone


def test_a_worker_counts_again_after_its_database_is_restored_from_a_backup_on_postgresql(
        api, client, stored, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite counts rows every time")
    api.make_customer(name="Ann Match")
    bob = api.make_customer(name="Bob")
    assert total(api, name="match") == 1
    backup = stored("SELECT slot, version FROM customer_list_versions WHERE business_id = :business",
                    business=api.business_id)
    assert api.put(f"/customers/{bob['id']}", json={"name": "Bob Match"}).status_code == 200
    assert total(api, name="match") == 2

    # The backup restored under the running worker: Bob's row and the segment versions as they were.
    stored("UPDATE customers SET name = 'Bob' WHERE id = :id", id=uuid.UUID(bob["id"]))
    stored("DELETE FROM customer_list_versions WHERE business_id = :business", business=api.business_id)
    for row in backup:
        stored("INSERT INTO customer_list_versions VALUES (:business, :slot, :version)",
               business=api.business_id, **row)
    # Then a write to Bob's segment that leaves him out of the filter.
    assert api.put(f"/customers/{bob['id']}", json={"email": "bob@example.org"}).status_code == 200

    assert total(api, name="match") == 1


def test_a_segments_recount_is_served_by_the_segment_index_on_postgresql(api, client, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite counts rows every time")
    made = api.make_customer()
    recount = select(counts.list_segment(customers.c.id), customers.c.id).where(
        customers.c.business_id == api.business_id, counts.list_segment(customers.c.id).in_([segment_of(made["id"])]))

    async def work(connection) -> tuple[list[Any], str]:
        found = (await connection.execute(recount)).all()
        # The test table is tiny, so the planner would rightly read it whole: ask instead whether
        # an index can search by the segment, not only by the business.
        await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        # As the app sends it: the values as parameters, the segment expression as written.
        sent = recount.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
        parameters = tuple(sent.params[name] for name in sent.positiontup)
        plan = await connection.exec_driver_sql(f"EXPLAIN {sent}", parameters)
        return found, "\n".join(line for [line] in plan)

    found, plan = run_in_app(client, work)
    assert found == [(segment_of(made["id"]), uuid.UUID(made["id"]))]
    [condition] = [line for line in plan.splitlines() if "Index Cond" in line]
    assert "get_byte(uuid_send(id), 15)" in condition, plan


def counted_segments(statements: list[str]) -> int | None:
    """How many segments the count statement counted (None: all of them, no segment named)."""
    [count] = [statement for statement in statements if "count(*)" in statement.lower()]
    found = re.search(r"\+ get_byte\(uuid_send\(customers\.id\), 15\) IN \(([^)]*)\)", count)
    return None if found is None else found[1].count(",") + 1


def test_after_a_write_only_the_moved_segments_are_counted_again_on_postgresql(api, database_url, sent_statements):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite counts rows every time")
    made = [api.make_customer(name=f"Match {number}") for number in range(6)]
    by_name = {"filter[name]": "match"}
    responses = []

    first = sent_statements(lambda: responses.append(api.get("/customers", params=by_name)))
    assert api.put(f"/customers/{made[0]['id']}", json={"name": "Renamed"}).status_code == 200
    after_write = sent_statements(lambda: responses.append(api.get("/customers", params=by_name)))

    assert (counted_segments(first), counted_segments(after_write)) == (None, 1)
    assert [response.json()["meta"]["total"] for response in responses] == [6, 5]
