"""A customer's `notes` (SPEC §8): free text up to 10,000 characters, in every customer object."""


def test_notes_are_stored_shown_changed_and_cleared(api):
    created = api.post(
        "/customers", json={"name": "Simona", "dial_code": 966, "phone": "0565445254", "notes": " Window seat.\n"}
    )
    customer_id = created.json()["data"]["id"]

    changed = api.put(f"/customers/{customer_id}", json={"notes": "ن" * 10_000})
    cleared = api.put(f"/customers/{customer_id}", json={"notes": None})

    assert created.status_code == 201, created.text
    assert created.json()["data"]["notes"] == "Window seat."
    assert changed.status_code == 200, changed.text
    assert changed.json()["data"]["notes"] == "ن" * 10_000
    assert cleared.json()["data"]["notes"] is None
    assert api.get(f"/customers/{customer_id}").json()["data"]["notes"] is None


def test_every_customer_object_has_notes_even_when_null(api):
    customer = api.make_customer()

    listed = api.get("/customers").json()["data"]

    assert customer["notes"] is None
    assert listed[0]["notes"] is None


def test_only_changed_notes_move_updated_at(api, stored_customer):
    customer = api.make_customer(notes="Regular.")
    stamped = stored_customer(customer["id"])["updated_at"]

    api.put(f"/customers/{customer['id']}", json={"notes": "Regular."})
    unchanged = stored_customer(customer["id"])["updated_at"]
    api.put(f"/customers/{customer['id']}", json={"notes": "Regular, Thursdays."})
    changed = stored_customer(customer["id"])["updated_at"]

    assert unchanged == stamped
    assert changed > stamped
