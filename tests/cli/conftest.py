"""Fixtures for the bulk commands: run `clientele` in this process on the test database, read what the API shows."""

from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from tests.conftest import Api
from typer.testing import CliRunner

from clientele.cli import app

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
