"""Fixtures for the bulk commands: run `clientele` in this process on the test database, read what the API shows."""

import time
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import Connection, make_url, text
from typer.testing import CliRunner

from clientele.cli import app
from tests.conftest import Api, on_database

Clientele = Callable[..., Result]


@pytest.fixture
def clientele(database_url: str) -> Clientele:
    """`clientele("import", path, "--business", id)`: the command's result, run on the suite's database.

    In-process, so quick enough to run in many tests; a test that needs the real console
    script (worker processes, pipes) uses tests.cli.processes.run_clientele.
    """
    runner = CliRunner()

    def run(*args: Any) -> Result:
        return runner.invoke(app, [str(arg) for arg in args], env={"DATABASE_URL": database_url})

    return run


def every_customer(api: Api, **params: Any) -> list[dict[str, Any]]:
    """Every customer of the api's business as the API lists them (oldest first)."""
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        response = api.get("/customers", params={"per_page": 1000, "page": page} | params)
        assert response.status_code == 200, response.text
        found += response.json()["data"]
        if response.json()["links"]["next"] is None:
            return found
        page += 1


def run_clientele_on(url: str, *args: Any) -> str:
    """`clientele …` in this process on the database at `url`; what it printed."""
    result = CliRunner().invoke(app, [str(arg) for arg in args], env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout


def table_statistics(url: str, table: str) -> dict[str, int]:
    """Rows inserted into `table` and rows read from it, as PostgreSQL counts them."""
    row = on_database(
        url,
        lambda connection: connection.execute(
            text(
                "SELECT n_tup_ins AS inserted, coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0) AS read "
                "FROM pg_stat_user_tables WHERE relname = :table"
            ),
            {"table": table},
        ).one(),
    )
    return dict(row._mapping)


def statistics_once_inserted(url: str, table: str, inserted: int) -> dict[str, int]:
    """`table_statistics` once they count `inserted` rows: a server process sends its counts when its
    client leaves, a moment after the command or app that used it has ended."""
    deadline = time.monotonic() + 10
    while (found := table_statistics(url, table))["inserted"] < inserted:
        assert time.monotonic() < deadline, (table, inserted, found)
        time.sleep(0.1)
    return found


@pytest.fixture
def unseen_business(own_database: str) -> tuple[str, str]:
    """A database of its own whose statistics of `customers` were taken while another business held
    every customer, and a business they never saw: (the database URL, the business id)."""
    if make_url(own_database).get_backend_name() == "sqlite":
        pytest.skip("the statistics and plans are PostgreSQL's")
    run_clientele_on(own_database, "migrate")
    seen, unseen = (
        run_clientele_on(own_database, "business", "create", name).split()[-1] for name in ("Seen", "Unseen")
    )
    run_clientele_on(own_database, "seed", "--business", seen, "--customers", 500, "--random-seed", 1, "--jobs", 1)

    def analyse_now_and_never_again(connection: Connection) -> None:
        # So that no analysis but the one under test happens afterwards.
        connection.execute(text("ALTER TABLE customers SET (autovacuum_enabled = false)"))
        connection.execute(text("ANALYZE customers"))

    on_database(own_database, analyse_now_and_never_again)
    return own_database, unseen
