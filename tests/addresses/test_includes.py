"""`include=customer,delivery_zone` on addresses: whole objects, loaded one query per relation."""

import pytest


def test_without_include_customer_and_zone_are_id_stubs(api):
    customer = api.make_customer()
    zone = api.make_zone()
    address = api.make_address(customer["id"], delivery_zone_id=zone["id"])

    shown = api.get(f"/addresses/{address['id']}").json()["data"]

    assert shown["customer"] == {"id": customer["id"]}
    assert shown["delivery_zone"] == {"id": zone["id"]}


def test_include_makes_customer_and_zone_whole_objects(api):
    customer = api.make_customer(name="Simona")
    zone = api.make_zone(reference="Z-1")
    address = api.make_address(customer["id"], delivery_zone_id=zone["id"])

    shown = api.get(f"/addresses/{address['id']}", params={"include": "customer,delivery_zone"}).json()["data"]

    assert shown["customer"] == api.get(f"/customers/{customer['id']}").json()["data"]
    assert shown["delivery_zone"] == zone


def test_each_relation_is_included_only_when_asked(api):
    customer = api.make_customer()
    zone = api.make_zone()
    address = api.make_address(customer["id"], delivery_zone_id=zone["id"])

    only_zone = api.get(f"/addresses/{address['id']}", params={"include": "delivery_zone"}).json()["data"]
    only_customer = api.get(f"/addresses/{address['id']}", params={"include": "customer"}).json()["data"]

    assert only_zone["customer"] == {"id": customer["id"]}
    assert only_zone["delivery_zone"] == zone
    assert only_customer["customer"]["name"] == customer["name"]
    assert only_customer["delivery_zone"] == {"id": zone["id"]}


def test_include_works_on_create_update_and_list(api):
    customer = api.make_customer()
    zone = api.make_zone()
    include = {"include": "customer,delivery_zone"}

    created = api.post(
        "/addresses",
        params=include,
        json={"name": "Home", "customer_id": customer["id"], "delivery_zone_id": zone["id"]},
    ).json()["data"]
    updated = api.put(f"/addresses/{created['id']}", params=include, json={"name": "Work"}).json()["data"]
    listed = api.get("/addresses", params=include).json()["data"]

    for shown in (created, updated, *listed):
        assert shown["customer"]["phone"] == customer["phone"]
        assert shown["delivery_zone"] == zone


def test_a_deleted_zone_shows_as_null_when_included(api):
    zone = api.make_zone()
    address = api.make_address(api.make_customer()["id"], delivery_zone_id=zone["id"])
    api.delete(f"/delivery_zones/{zone['id']}")

    included = api.get(f"/addresses/{address['id']}", params={"include": "delivery_zone"}).json()["data"]
    plain = api.get(f"/addresses/{address['id']}").json()["data"]

    assert included["delivery_zone"] is None
    assert plain["delivery_zone"] == {"id": zone["id"]}


def test_an_address_without_a_zone_includes_null(api):
    address = api.make_address(api.make_customer()["id"])

    shown = api.get(f"/addresses/{address['id']}", params={"include": "delivery_zone"}).json()["data"]

    assert shown["delivery_zone"] is None


def test_a_deleted_customer_is_included_with_its_deleted_at(api):
    customer = api.make_customer()
    address = api.make_address(customer["id"])
    api.delete(f"/customers/{customer['id']}")

    shown = api.get(f"/addresses/{address['id']}", params={"include": "customer"}).json()["data"]

    assert shown["customer"]["id"] == customer["id"]
    assert shown["customer"]["deleted_at"] is not None


def test_included_customer_shows_only_the_fields_the_token_may_read(api, api_with):
    customer = api.make_customer(house_account_limit=500)
    address = api.make_address(customer["id"])
    guarded = {"house_account_limit", "house_account_balance", "loyalty_balance"}
    reader = api_with("customers.get")

    limited = reader.get(f"/addresses/{address['id']}", params={"include": "customer"}).json()["data"]["customer"]
    full = api.get(f"/addresses/{address['id']}", params={"include": "customer"}).json()["data"]["customer"]

    assert guarded.isdisjoint(limited)
    assert guarded <= set(full)
    assert full["house_account_limit"] == 500


@pytest.mark.parametrize("include", ["customers", "zone", "customer.tags", "addresses"])
def test_an_unknown_include_is_400(api, include):
    address = api.make_address(api.make_customer()["id"])

    for response in (
        api.get("/addresses", params={"include": include}),
        api.get(f"/addresses/{address['id']}", params={"include": include}),
    ):
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["include"]


def test_includes_load_in_one_query_per_relation_whatever_the_page_size(api, statement_count):
    def add_addresses(count: int) -> None:
        for _ in range(count):
            api.make_address(api.make_customer()["id"], delivery_zone_id=api.make_zone()["id"])

    def list_with_includes() -> None:
        response = api.get("/addresses", params={"include": "customer,delivery_zone"})
        assert response.status_code == 200
        assert all(address["customer"].get("name") and address["delivery_zone"] for address in response.json()["data"])

    add_addresses(1)
    one = statement_count(list_with_includes)
    add_addresses(4)
    five = statement_count(list_with_includes)
    plain = statement_count(lambda: api.get("/addresses"))

    assert five == one
    assert one == plain + 2


def test_includes_are_documented_on_every_route_that_takes_them(client):
    paths = client.get("/openapi.json").json()["paths"]

    for path, method in (
        ("/addresses", "get"),
        ("/addresses", "post"),
        ("/addresses/{address_id}", "get"),
        ("/addresses/{address_id}", "put"),
    ):
        names = {parameter["name"] for parameter in paths[path][method]["parameters"]}
        assert "include" in names, (path, method)
