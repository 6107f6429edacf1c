"""`include=tags,addresses,addresses.delivery_zone` on customers (SPEC §5): complete objects, no N+1;
and `include` refused where a record has nothing to include."""

from typing import Any

import pytest

ALL_INCLUDES = "tags,addresses.delivery_zone"


def fetched(api: Any, path: str) -> dict[str, Any]:
    """A record as its own GET route shows it, without includes."""
    response = api.get(path)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def listed(api: Any, include: str) -> list[dict[str, Any]]:
    response = api.get("/customers", params={"include": include})
    assert response.status_code == 200, response.text
    return response.json()["data"]


@pytest.fixture
def customer_with_everything(api):
    """A customer with two tags and two addresses, one of them in a delivery zone."""
    vip, gold = api.make_tag(name="VIP"), api.make_tag(name="Gold")
    zone = api.make_zone(name="North")
    customer = api.make_customer(name="Everything", tags=[{"id": vip["id"]}, {"id": gold["id"]}])
    home = api.make_address(customer["id"], name="Home", delivery_zone_id=zone["id"])
    work = api.make_address(customer["id"], name="Work")
    return {"customer": customer, "tags": [vip, gold], "zone": zone, "addresses": [home, work]}


# --- what each include adds ---------------------------------------------------------------------


def test_without_include_there_are_no_relations(api, customer_with_everything):
    [listed_customer] = listed(api, "")
    single = fetched(api, f"/customers/{customer_with_everything['customer']['id']}")

    for body in (listed_customer, single, customer_with_everything["customer"]):
        assert "tags" not in body and "addresses" not in body


def test_include_tags_lists_complete_tags(api, customer_with_everything):
    api.make_customer(name="Untagged")

    everything, untagged = listed(api, "tags")

    assert everything["tags"] == [fetched(api, f"/tags/{tag['id']}") for tag in customer_with_everything["tags"]]
    assert untagged["tags"] == []
    assert "addresses" not in everything


def test_include_addresses_lists_complete_addresses(api, customer_with_everything):
    api.make_customer(name="Homeless")

    everything, homeless = listed(api, "addresses")

    assert everything["addresses"] == [
        fetched(api, f"/addresses/{address['id']}") for address in customer_with_everything["addresses"]
    ]
    assert homeless["addresses"] == []
    assert "tags" not in everything


def test_include_delivery_zone_implies_addresses_and_completes_the_zone(api, customer_with_everything):
    [everything] = listed(api, "addresses.delivery_zone")
    home, work = everything["addresses"]

    assert home["delivery_zone"] == fetched(api, f"/delivery_zones/{customer_with_everything['zone']['id']}")
    assert work["delivery_zone"] is None
    assert home | {"delivery_zone": None} == fetched(api, f"/addresses/{home['id']}") | {"delivery_zone": None}
    assert "tags" not in everything


def test_includes_combine_and_tolerate_spaces(api, customer_with_everything):
    [everything] = listed(api, " tags , addresses.delivery_zone ,")

    assert [tag["name"] for tag in everything["tags"]] == ["VIP", "Gold"]
    assert everything["addresses"][0]["delivery_zone"]["name"] == "North"


def test_includes_belong_to_each_customer(api):
    tags = [api.make_tag() for _ in range(3)]
    made = [api.make_customer(name=f"C{n}", tags=[{"id": tags[n]["id"]}]) for n in range(3)]
    addresses = [api.make_address(customer["id"], name=f"A{n}") for n, customer in enumerate(made)]

    listed_customers = listed(api, "tags,addresses")

    assert [[tag["id"] for tag in customer["tags"]] for customer in listed_customers] == [[tag["id"]] for tag in tags]
    assert [[address["id"] for address in customer["addresses"]] for customer in listed_customers] == [
        [address["id"]] for address in addresses
    ]


# --- deleted related records ---------------------------------------------------------------------


def test_deleted_tag_disappears_from_includes(api, customer_with_everything):
    vip, gold = customer_with_everything["tags"]
    customer_id = customer_with_everything["customer"]["id"]
    assert api.delete(f"/tags/{vip['id']}").status_code == 204

    [listed_customer] = listed(api, "tags")
    single = api.get(f"/customers/{customer_id}", params={"include": "tags"}).json()["data"]

    assert [tag["id"] for tag in listed_customer["tags"]] == [gold["id"]]
    assert [tag["id"] for tag in single["tags"]] == [gold["id"]]


def test_deleted_delivery_zone_disappears_from_includes(api, customer_with_everything):
    assert api.delete(f"/delivery_zones/{customer_with_everything['zone']['id']}").status_code == 204

    [everything] = listed(api, "addresses.delivery_zone")

    assert [address["delivery_zone"] for address in everything["addresses"]] == [None, None]


def test_deleted_address_disappears_from_includes(api, customer_with_everything):
    home, work = customer_with_everything["addresses"]
    assert api.delete(f"/addresses/{home['id']}").status_code == 204

    [everything] = listed(api, "addresses")

    assert [address["id"] for address in everything["addresses"]] == [work["id"]]


# --- single-record routes ---------------------------------------------------------------------------


def test_get_includes_relations(api, customer_with_everything):
    customer_id = customer_with_everything["customer"]["id"]

    response = api.get(f"/customers/{customer_id}", params={"include": ALL_INCLUDES})

    assert response.status_code == 200, response.text
    [single] = [customer for customer in listed(api, ALL_INCLUDES) if customer["id"] == customer_id]
    assert response.json()["data"] == single
    assert len(single["tags"]) == 2 and len(single["addresses"]) == 2


def test_post_includes_relations(api):
    tag = api.make_tag()

    response = api.post(
        "/customers",
        params={"include": ALL_INCLUDES},
        json={"name": "New", "dial_code": 966, "phone": "0501234567", "tags": [{"id": tag["id"]}]},
    )

    assert response.status_code == 201, response.text
    created = response.json()["data"]
    assert (created["tags"], created["addresses"]) == ([fetched(api, f"/tags/{tag['id']}")], [])


def test_put_includes_relations(api, customer_with_everything):
    customer_id = customer_with_everything["customer"]["id"]
    vip, _gold = customer_with_everything["tags"]

    response = api.put(
        f"/customers/{customer_id}", params={"include": ALL_INCLUDES}, json={"tags": [{"id": vip["id"]}]}
    )

    assert response.status_code == 200, response.text
    updated = response.json()["data"]
    assert updated["tags"] == [vip]
    assert [address["name"] for address in updated["addresses"]] == ["Home", "Work"]


def test_restore_includes_relations(api, customer_with_everything):
    customer_id = customer_with_everything["customer"]["id"]
    assert api.delete(f"/customers/{customer_id}").status_code == 204

    response = api.put(f"/customers/{customer_id}/restore", params={"include": "tags,addresses"})

    assert response.status_code == 200, response.text
    restored = response.json()["data"]
    assert [tag["name"] for tag in restored["tags"]] == ["VIP", "Gold"]
    assert [address["name"] for address in restored["addresses"]] == ["Home", "Work"]


def test_deleted_customer_is_shown_with_its_includes(api, customer_with_everything):
    customer_id = customer_with_everything["customer"]["id"]
    assert api.delete(f"/customers/{customer_id}").status_code == 204

    shown = api.get(f"/customers/{customer_id}", params={"include": ALL_INCLUDES}).json()["data"]

    assert shown["deleted_at"] is not None
    assert len(shown["tags"]) == 2 and len(shown["addresses"]) == 2


# --- unknown includes ---------------------------------------------------------------------------------

UNKNOWN = ["customer", "delivery_zone", "tags.customers", "addresses,bogus", "Tags"]


@pytest.mark.parametrize("include", UNKNOWN)
def test_unknown_include_is_refused_on_the_list(api, include):
    response = api.get("/customers", params={"include": include})

    assert response.status_code == 400, response.text
    assert "include" in response.json()["errors"]


@pytest.mark.parametrize("include", UNKNOWN)
def test_unknown_include_is_refused_on_single_record_routes(api, include):
    customer = api.make_customer(name="Untouched")
    path = f"/customers/{customer['id']}"
    params = {"include": include}

    responses = [
        api.get(path, params=params),
        api.post("/customers", params=params, json={"name": "New", "dial_code": 966, "phone": "0501234567"}),
        api.put(path, params=params, json={"name": "Changed"}),
        api.put(f"{path}/restore", params=params),
    ]

    assert [response.status_code for response in responses] == [400] * 4
    assert [customer["name"] for customer in api.get("/customers").json()["data"]] == ["Untouched"]


# --- no N+1 ---------------------------------------------------------------------------------------------


def test_includes_cost_the_same_queries_for_one_customer_or_twenty(api, statement_count):
    zone = api.make_zone()
    tags = [api.make_tag(), api.make_tag()]
    for _ in range(20):
        customer = api.make_customer(tags=[{"id": tag["id"]} for tag in tags])
        api.make_address(customer["id"], delivery_zone_id=zone["id"])
        api.make_address(customer["id"])

    def page_of(size: int) -> Any:
        def call() -> None:
            response = api.get("/customers", params={"include": ALL_INCLUDES, "per_page": str(size)})
            assert response.status_code == 200, response.text
            assert len(response.json()["data"]) == size

        return call

    assert statement_count(page_of(1)) == statement_count(page_of(20))


def test_single_record_includes_cost_one_query_per_relation(api, customer_with_everything, statement_count):
    path = f"/customers/{customer_with_everything['customer']['id']}"

    # An empty include still goes through the route (a request with no query string may be
    # answered by its fast path, which sends no statement through the engine).
    plain = statement_count(lambda: api.get(path, params={"include": ""}))
    with_all = statement_count(lambda: api.get(path, params={"include": ALL_INCLUDES}))

    assert with_all - plain <= 3


@pytest.mark.parametrize("method", ["get", "post", "put"])
@pytest.mark.parametrize(
    ("collection", "make", "include"),
    [("/tags", "make_tag", "customers"), ("/delivery_zones", "make_zone", "addresses")],
)
def test_an_include_on_a_record_with_nothing_to_include_is_refused_and_changes_nothing(
    api, method, collection, make, include
):
    record = getattr(api, make)(name="Before")
    path = collection if method == "post" else f"{collection}/{record['id']}"
    body = {} if method == "get" else {"json": {"name": "Changed"}}

    response = getattr(api, method)(path, params={"include": include}, **body)

    assert response.status_code == 400, response.text
    assert "include" in response.json()["errors"]
    assert [listed["name"] for listed in api.get(collection).json()["data"]] == ["Before"]
