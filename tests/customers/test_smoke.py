def test_create_then_get(api):
    created = api.make_customer(name="Simona")
    response = api.get(f"/customers/{created['id']}")
    assert response.status_code == 200
    assert response.json()["data"]["name"] == "Simona"
