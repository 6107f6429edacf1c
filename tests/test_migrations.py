"""Migrations, on a database of their own: every one goes down and up again, on SQLite and PostgreSQL,
and a database taken back to an earlier revision and up again keeps its customers and exact totals.

The suite's shared database stays at head; these tests make, migrate and drop their own.
"""

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, inspect, text
from tests.conftest import Api, new_business, new_token, on_database

from clientele.app import create_app
from clientele.customers.counts import shared_key
from clientele.database import alembic_config

REVISIONS = [path.name[:4] for path in sorted((Path(alembic_config().get_main_option("script_location"))
                                                / "versions").glob("[0-9]*.py"))]


def migrate(url: str, revision: str, *, down: bool = False) -> None:
    from alembic import command

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    on_database(url, run)


def schema(connection: Connection) -> dict[str, Any]:
    """Every table's columns and indexes, and on PostgreSQL every trigger and function of the schema."""
    inspector = inspect(connection)
    found: dict[str, Any] = {
        table: ([(column["name"], str(column["type"]), column["nullable"]) for column in inspector.get_columns(table)],
                sorted((index["name"], index["column_names"], index.get("expressions")) for index in
                       inspector.get_indexes(table)))
        for table in inspector.get_table_names()}
    if connection.dialect.name == "postgresql":
        found["triggers"] = sorted(connection.execute(text(
            "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal")))
        found["functions"] = sorted(connection.execute(text(
            "SELECT proname, prosrc FROM pg_proc WHERE pronamespace = 'public'::regnamespace")))
    return found


def test_every_migration_goes_down_and_up_again(own_database) -> None:
    migrate(own_database, "head")
    at_head = on_database(own_database, schema)

    migrate(own_database, "base", down=True)
    assert on_database(own_database, lambda connection: inspect(connection).get_table_names()) == ["alembic_version"]
    migrate(own_database, "head")

    assert on_database(own_database, schema) == at_head


# What a client sees of the customers: every list total below, and each customer read by id.
LISTS = ["/customers", "/customers?filter[is_deleted]=true", "/customers?filter[name]=amal",
         "/customers?filter[is_blacklisted]=true", "/customers?filter[dial_code]=971",
         "/customers?filter[email]=example.org", "/customers?filter[phone]=5"]


def seen_by_client(api: Api, customer_ids: list[str], tag_id: str) -> dict[str, Any]:
    lists = {path: api.get(path).json()["meta"]["total"]
             for path in [*LISTS, f"/customers?filter[tags.id]={tag_id}"]}
    return lists | {customer_id: api.get(f"/customers/{customer_id}?include=tags").json()["data"]
                    for customer_id in customer_ids}


@pytest.mark.parametrize("revision", REVISIONS[:-1])
def test_customers_and_totals_survive_going_back_to_an_earlier_revision_and_up(own_database, settings,
                                                                                 revision) -> None:
    migrate(own_database, "head")
    app_settings = dataclasses.replace(settings, database_url=own_database)
    with TestClient(create_app(app_settings)) as client:
        business = new_business(client)
        api = Api(client, new_token(client, business).token, business)
        tag = api.make_tag()
        made = [api.make_customer(name=name, dial_code=dial_code, email=email, is_blacklisted=blacklisted,
                                  tags=[{"id": tag["id"]}] if tagged else [])
                for name, dial_code, email, blacklisted, tagged in [
                    ("Amal Saleh", 966, "amal@example.org", False, True),
                    ("أمل", 971, None, True, False),
                    ("Kamal Amal", 966, "k@example.com", True, True),
                    ("Noor", 971, "noor@example.org", False, False)]]
        assert api.delete(f"/customers/{made[3]['id']}").status_code == 204
        before = seen_by_client(api, [customer["id"] for customer in made], tag["id"])

    migrate(own_database, revision, down=True)
    migrate(own_database, "head")

    with TestClient(create_app(app_settings)) as client:
        api = Api(client, api.token, api.business_id)
        assert seen_by_client(api, [customer["id"] for customer in made], tag["id"]) == before
        added = api.make_customer(name="Amal", dial_code=971, email="new@example.org", tags=[{"id": tag["id"]}])
        after = seen_by_client(api, [customer["id"] for customer in made], tag["id"])

    grew = {"/customers", "/customers?filter[name]=amal", "/customers?filter[dial_code]=971",
            "/customers?filter[email]=example.org", "/customers?filter[phone]=5",
            f"/customers?filter[tags.id]={tag['id']}"}
    assert after == {key: value + 1 if key in grew else value for key, value in before.items()}
    assert api.get(f"/customers/{added['id']}").status_code == 200


def test_counts_shared_under_256_segments_are_not_used_once_there_are_1024(own_database, settings) -> None:
    if not own_database.startswith("postgresql"):
        pytest.skip("counts are shared on PostgreSQL only")
    migrate(own_database, "head")
    app_settings = dataclasses.replace(settings, database_url=own_database)
    with TestClient(create_app(app_settings)) as client:
        business = new_business(client)
        api = Api(client, new_token(client, business).token, business)
        for name in ("Amal Saleh", "Kamal Amal", "Noor"):
            api.make_customer(name=name)

    migrate(own_database, "0010", down=True)

    def share_a_wrong_count(connection: Connection) -> None:
        # Counted at the versions the segments have now, so it would be taken as still true.
        versions = dict(connection.execute(text(
            "SELECT slot, version FROM customer_list_versions WHERE business_id = :business"),
            {"business": business}).all())
        connection.execute(text(
            "INSERT INTO customer_list_counts VALUES (:business, :filters, :versions, :matches, now())"),
            {"business": business, "filters": shared_key({"name": "amal"}),
             "versions": [versions.get(slot, 0) for slot in range(256)], "matches": [50] * 256})

    on_database(own_database, share_a_wrong_count)
    migrate(own_database, "head")

    with TestClient(create_app(app_settings)) as client:
        api = Api(client, api.token, api.business_id)
        assert api.get("/customers", params={"filter[name]": "amal"}).json()["meta"]["total"] == 2
