"""`include=customersCount` (SPEC §8): how many non-deleted customers hold each tag, counted in one
query per page; the platform's other count includes are accepted and ignored."""

import pytest


def counts(api, params=None):
    response = api.get("/tags", params={"include": "customersCount"} | (params or {}))
    assert response.status_code == 200, response.text
    return {tag["name"]: tag["customers_count"] for tag in response.json()["data"]}


def holding(api, *tags):
    return api.make_customer(tags=[{"id": tag["id"]} for tag in tags])


def test_each_tag_counts_the_customers_holding_it(api, other_api):
    vip, gold, _ = (api.make_tag(name=name) for name in ("VIP", "Gold", "Unused"))
    holding(api, vip, gold)
    holding(api, vip)
    their_tag = other_api.make_tag(name="VIP")
    other_api.make_customer(tags=[{"id": their_tag["id"]}])

    assert counts(api) == {"VIP": 2, "Gold": 1, "Unused": 0}


def test_deleted_customers_are_not_counted(api):
    tag = api.make_tag(name="VIP")
    holding(api, tag)
    gone = holding(api, tag)
    assert api.delete(f"/customers/{gone['id']}").status_code == 204

    assert counts(api) == {"VIP": 1}
    assert api.put(f"/customers/{gone['id']}/restore").status_code == 200
    assert counts(api) == {"VIP": 2}


def test_a_customer_whose_tags_were_replaced_is_not_counted(api):
    vip, gold = api.make_tag(name="VIP"), api.make_tag(name="Gold")
    moved = holding(api, vip)

    assert api.put(f"/customers/{moved['id']}", json={"tags": [{"id": gold["id"]}]}).status_code == 200

    assert counts(api) == {"VIP": 0, "Gold": 1}


def test_a_deleted_tag_counts_no_customer_until_restored(api):
    tag = api.make_tag(name="VIP")
    holding(api, tag)
    assert api.delete(f"/tags/{tag['id']}").status_code == 204

    assert counts(api, {"filter[is_deleted]": "true"}) == {"VIP": 0}
    assert api.get(f"/tags/{tag['id']}", params={"include": "customersCount"}).json()["data"]["customers_count"] == 0
    restored = api.put(f"/tags/{tag['id']}/restore", params={"include": "customersCount"})
    assert restored.json()["data"]["customers_count"] == 1


def test_the_count_is_what_the_customer_list_filtered_by_the_tag_totals(api):
    tag = api.make_tag()
    for _ in range(3):
        holding(api, tag)
    assert api.delete(f"/customers/{holding(api, tag)['id']}").status_code == 204

    [shown] = api.get("/tags", params={"include": "customersCount"}).json()["data"]

    assert shown["customers_count"] == 3
    assert api.get("/customers", params={"filter[tags.id]": tag["id"]}).json()["meta"]["total"] == 3


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/tags/{id}", 200), ("PUT", "/tags/{id}", 200), ("PUT", "/tags/{id}/restore", 200)],
)
def test_single_tag_responses_include_the_count(api, method, path, status):
    tag = api.make_tag()
    holding(api, tag)

    response = api.request(
        method, path.format(id=tag["id"]), params={"include": "customersCount"}, json={"name": "Renamed"}
    )

    assert response.status_code == status, response.text
    assert response.json()["data"]["customers_count"] == 1


def test_a_created_tag_counts_no_customer(api):
    response = api.post("/tags", params={"include": "customersCount"}, json={"name": "New"})

    assert response.status_code == 201, response.text
    assert response.json()["data"]["customers_count"] == 0


def test_without_the_include_there_is_no_count(api):
    tag = api.make_tag()

    assert "customers_count" not in api.get("/tags").json()["data"][0]
    assert "customers_count" not in api.get(f"/tags/{tag['id']}").json()["data"]
    assert "customers_count" not in tag


def test_a_page_of_tags_is_counted_in_one_query(api, statement_count):
    tags = [api.make_tag() for _ in range(5)]
    for tag in tags:
        holding(api, tag)
    without = statement_count(lambda: api.get("/tags", params={"per_page": "5"}))

    with_counts = statement_count(lambda: api.get("/tags", params={"per_page": "5", "include": "customersCount"}))

    assert with_counts == without + 1


@pytest.mark.parametrize(
    "include", ["branchesCount", "productsCount", "inventoryItemsCount", "customersCount,ordersCount"]
)
def test_the_platform_other_count_includes_are_accepted_and_ignored(api, include):
    tag = api.make_tag()

    listed = api.get("/tags", params={"include": include})
    single = api.get(f"/tags/{tag['id']}", params={"include": include})

    assert listed.status_code == 200, listed.text
    assert single.status_code == 200, single.text
    shown = set(single.json()["data"])
    assert shown - set(tag) == ({"customers_count"} if "customersCount" in include else set())


@pytest.mark.parametrize("include", ["customers", "customers_count", "Count", "BranchesCount", "branches"])
def test_other_includes_are_refused(api, include):
    tag = api.make_tag()

    for response in (
        api.get("/tags", params={"include": include}),
        api.get(f"/tags/{tag['id']}", params={"include": include}),
    ):
        assert response.status_code == 400, response.text
        assert "include" in response.json()["errors"]
