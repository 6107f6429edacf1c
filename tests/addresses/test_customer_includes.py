"""A customer's `include=addresses` and `include=addresses.delivery_zone`."""


def test_customer_includes_only_its_non_deleted_addresses(api):
    customer = api.make_customer()
    kept = api.make_address(customer["id"], name="Kept")
    gone = api.make_address(customer["id"], name="Gone")
    api.make_address(api.make_customer()["id"], name="Someone else's")
    api.delete(f"/addresses/{gone['id']}")

    shown = api.get(f"/customers/{customer['id']}", params={"include": "addresses"}).json()["data"]

    assert shown["addresses"] == [kept]


def test_customer_without_addresses_includes_an_empty_list(api):
    customer = api.make_customer()

    shown = api.get(f"/customers/{customer['id']}", params={"include": "addresses"}).json()["data"]

    assert shown["addresses"] == []


def test_included_addresses_keep_zone_stubs_without_the_zone_include(api):
    customer = api.make_customer()
    zone = api.make_zone()
    api.make_address(customer["id"], delivery_zone_id=zone["id"])

    [address] = api.get(f"/customers/{customer['id']}", params={"include": "addresses"}).json()["data"]["addresses"]

    assert address["delivery_zone"] == {"id": zone["id"]}


def test_addresses_delivery_zone_include_gives_whole_zones_and_implies_addresses(api):
    customer = api.make_customer()
    zone = api.make_zone(reference="Z-9")
    api.make_address(customer["id"], delivery_zone_id=zone["id"])
    api.make_address(customer["id"])

    shown = api.get(f"/customers/{customer['id']}", params={"include": "addresses.delivery_zone"}).json()["data"]

    assert [address["delivery_zone"] for address in shown["addresses"]] == [zone, None]


def test_a_deleted_zone_shows_as_null_in_a_customer_include(api):
    customer = api.make_customer()
    zone = api.make_zone()
    api.make_address(customer["id"], delivery_zone_id=zone["id"])
    api.delete(f"/delivery_zones/{zone['id']}")

    shown = api.get(f"/customers/{customer['id']}", params={"include": "addresses.delivery_zone"}).json()["data"]

    assert shown["addresses"][0]["delivery_zone"] is None


def test_customer_list_includes_each_customer_s_own_addresses(api):
    first, second = api.make_customer(), api.make_customer()
    first_address = api.make_address(first["id"], name="First's")
    second_address = api.make_address(second["id"], name="Second's")

    listed = api.get("/customers", params={"include": "addresses"}).json()["data"]

    assert {customer["id"]: customer["addresses"] for customer in listed} == {
        first["id"]: [first_address],
        second["id"]: [second_address],
    }


def test_moving_an_address_moves_it_between_customers_includes(api):
    before, after = api.make_customer(), api.make_customer()
    address = api.make_address(before["id"])

    api.put(f"/addresses/{address['id']}", json={"customer_id": after["id"]})

    assert api.get(f"/customers/{before['id']}", params={"include": "addresses"}).json()["data"]["addresses"] == []
    [moved] = api.get(f"/customers/{after['id']}", params={"include": "addresses"}).json()["data"]["addresses"]
    assert moved["id"] == address["id"]
