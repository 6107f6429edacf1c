"""`meta.total` is exact for every filter, whether the database counts rows or reads counters."""

import pytest

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
