"""The schema's one migration, on a database of its own: it goes down and up again on SQLite and
PostgreSQL, and a database made by the migrations it replaced is refused with one line telling
how to recreate it.

The suite's shared database stays at head; these tests make, migrate and drop their own.
"""

from typing import Any

import pytest
from sqlalchemy import Connection, inspect, text

from clientele.db.engine import alembic_config
from tests.cli.processes import run_clientele
from tests.conftest import on_database


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
        table: (
            [(column["name"], str(column["type"]), column["nullable"]) for column in inspector.get_columns(table)],
            sorted(
                (index["name"], index["column_names"], index.get("expressions"))
                for index in inspector.get_indexes(table)
            ),
        )
        for table in inspector.get_table_names()
    }
    if connection.dialect.name == "postgresql":
        found["triggers"] = sorted(
            connection.execute(
                text(
                    "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) "
                    "FROM pg_trigger WHERE NOT tgisinternal"
                )
            )
        )
        found["functions"] = sorted(
            connection.execute(text("SELECT proname, prosrc FROM pg_proc WHERE pronamespace = 'public'::regnamespace"))
        )
    return found


def table_names(connection: Connection) -> list[str]:
    return sorted(inspect(connection).get_table_names())


def test_the_migration_goes_down_and_up_again(own_database) -> None:
    migrate(own_database, "head")
    at_head = on_database(own_database, schema)

    migrate(own_database, "base", down=True)
    assert on_database(own_database, table_names) == ["alembic_version"]
    if own_database.startswith("postgresql"):
        functions = on_database(own_database, lambda connection: schema(connection)["functions"])
        assert "customer_counts_track" not in {name for name, _ in functions}
    migrate(own_database, "head")

    assert on_database(own_database, schema) == at_head


@pytest.mark.parametrize("command", [["migrate"], ["business", "create", "Too old"]])
def test_a_database_made_before_the_migrations_were_squashed_is_refused_in_one_line(own_database, command) -> None:
    def made_by_an_earlier_version(connection: Connection) -> None:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('0012')"))

    on_database(own_database, made_by_an_earlier_version)

    result = run_clientele(own_database, *command)

    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert "revision 0012" in line and "recreate it" in line and "clientele migrate" in line
    assert on_database(own_database, table_names) == ["alembic_version"]
