"""`meta.total` is exact for every filter, whether the database counts rows or reads counters (PostgreSQL
keeps them for the unfiltered list, `is_deleted` and single boolean filters)."""

import pytest
from sqlalchemy import func, select

from clientele.customers.models import customers
from tests.conftest import run_statement, summed_counters

BOOLEAN_FILTERS = ("is_blacklisted", "is_house_account_enabled", "is_loyalty_enabled", "has_orders")


@pytest.fixture
def mixed_customers(api, overwrite):
    """Customers with every combination of flags, some deleted, some changed after creation."""
    made = []
    for index in range(12):
        customer = api.make_customer(
            is_blacklisted=index % 2 == 0, is_loyalty_enabled=index % 3 == 0, is_house_account_enabled=index % 4 == 0
        )
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
    made = {
        tag_set: [api.make_customer(tags=[{"id": tag} for tag in tag_set]) for _ in range(count)]
        for tag_set, count in (((a,), 3), ((a, b), 2), ((b, c), 2), ((a, b, c), 1), ((d,), 1), ((), 2))
    }
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


# Filters whose total one row of counters holds (PostgreSQL), and those counted row by row.
COUNTED_BY_TRIGGERS = [
    {},
    {"is_deleted": "true"},
    {"is_deleted": "false"},
    {"is_blacklisted": "true"},
    {"has_orders": "false"},
    {"is_loyalty_enabled": "1", "is_deleted": "0"},
]
COUNTED_BY_ROWS = [
    {"name": "customer"},
    {"is_blacklisted": "true", "has_orders": "true"},
    {"is_blacklisted": "true", "is_deleted": "true"},
    {"dial_code": "966"},
]


@pytest.mark.parametrize("filters", COUNTED_BY_TRIGGERS)
def test_a_total_counters_hold_is_read_from_them_on_postgresql(
    api, mixed_customers, database_url, sent_statements, filters
):
    if not database_url.startswith("postgresql"):
        pytest.skip("counters are kept on PostgreSQL only")
    responses = []

    statements = sent_statements(lambda: responses.append(api.get("/customers", params=filter_params(filters))))

    assert responses[0].json()["meta"]["total"] == rows_listed(api, filters)
    assert any("customer_counts" in statement for statement in statements)
    assert not any("count(*)" in statement.lower() for statement in statements)


@pytest.mark.parametrize("filters", COUNTED_BY_ROWS)
def test_every_other_total_is_one_count_of_the_pages_own_filter(api, mixed_customers, sent_statements, filters):
    responses = []

    statements = sent_statements(lambda: responses.append(api.get("/customers", params=filter_params(filters))))

    [count] = [statement for statement in statements if "count(*)" in statement.lower()]
    [page] = [statement for statement in statements if "LIMIT" in statement]
    assert count.split("WHERE", 1)[1].strip() in page
    assert not any("customer_counts" in statement for statement in statements)
    assert responses[0].json()["meta"]["total"] == rows_listed(api, filters)


def filter_params(filters: dict[str, str]) -> dict[str, str]:
    return {f"filter[{name}]": value for name, value in filters.items()}


def rows_listed(api, filters: dict[str, str]) -> int:
    """How many customers the pages of these filters list, walked by cursor."""
    listed, cursor = 0, None
    while True:
        params = filter_params(filters) | {"per_page": "5"} | ({"cursor": cursor} if cursor else {})
        body = api.get("/customers", params=params).json()
        listed += len(body["data"])
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            return listed


def test_the_counters_equal_a_count_of_the_rows_after_every_kind_of_write_on_postgresql(
    api, other_api, mixed_customers, database_url, client
):
    if not database_url.startswith("postgresql"):
        pytest.skip("counters are kept on PostgreSQL only")
    other_api.make_customer(is_blacklisted=True)
    target = mixed_customers[4]
    assert (
        api.put(f"/customers/{target['id']}", json={"is_loyalty_enabled": True, "name": "Changed"}).status_code == 200
    )
    assert api.delete(f"/customers/{mixed_customers[5]['id']}").status_code == 204

    c = customers.c
    active = c.deleted_at.is_(None)
    counted_rows = [
        func.count().filter(active).label("active"),
        func.count().filter(c.deleted_at.is_not(None)).label("deleted"),
        func.count().filter(active, c.is_blacklisted).label("blacklisted"),
        func.count().filter(active, c.is_house_account_enabled).label("house_account_enabled"),
        func.count().filter(active, c.is_loyalty_enabled).label("loyalty_enabled"),
        func.count().filter(active, c.order_count > 0).label("with_orders"),
    ]
    for business_id in (api.business_id, other_api.business_id):
        counted = select(*counted_rows).where(c.business_id == business_id)
        assert summed_counters(client, business_id) == run_statement(client, counted)
