"""The `clientele` command (SPEC §7), run as a user runs it: the real console script."""

import os
import re
import sqlite3
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from clientele.app import create_app
from clientele.auth.scopes import ALL_SCOPES
from clientele.config import Settings
from tests.cli.processes import create_business, create_token, last_line, run_clientele, serving
from tests.conftest import next_phone


class Timestamp:
    """Equal to any `YYYY-MM-DD HH:MM:SS` text."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", other) is not None


ANY_TIMESTAMP = Timestamp()
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def database_file(tmp_path: Path) -> Path:
    return tmp_path / "clientele.db"


@pytest.fixture
def sqlite_url(database_file: Path) -> str:
    return f"sqlite:///{database_file}"


@pytest.fixture
def in_process(sqlite_url: str) -> Iterator[TestClient]:
    """The API in this process, on the database file the commands use."""
    with TestClient(create_app(Settings(database_url=sqlite_url, redis_url=None))) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_customer() -> dict[str, object]:
    return {"name": "From the CLI test", "dial_code": 966, "phone": next_phone()}


def created_token_id(stdout: str) -> str:
    found = UUID_TEXT.search(stdout)
    assert found, stdout
    return found.group()


def test_migrate_brings_a_fresh_database_up_to_date(sqlite_url: str, database_file: Path) -> None:
    first, second = run_clientele(sqlite_url, "migrate"), run_clientele(sqlite_url, "migrate")

    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    with sqlite3.connect(database_file) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"businesses", "tokens", "customers", "tags", "addresses", "delivery_zones"} <= tables


def test_business_create_prints_the_id_alone_on_the_last_line(sqlite_url: str) -> None:
    business_id = create_business(sqlite_url, "Corner shop")

    assert str(uuid.UUID(business_id)) == business_id


def test_business_create_refuses_an_empty_name(sqlite_url: str) -> None:
    assert run_clientele(sqlite_url, "business", "create", "  ").returncode != 0


def test_business_list_prints_every_business_oldest_first_in_aligned_columns(database_url: str) -> None:
    names = ["Corner shop", "مطعم الريف", "A restaurant with a much longer name"]
    ids = [create_business(database_url, name) for name in names]

    # On the suite's database (either engine), where other tests' businesses come before these.
    listed = run_clientele(database_url, "business", "list")

    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["id", "created_at", "name"]
    assert [row.split("  ", 2) for row in rows[-3:]] == [
        [business_id, ANY_TIMESTAMP, name] for business_id, name in zip(ids, names, strict=True)
    ]
    assert len({row.index(name) for row, name in zip(rows[-3:], names, strict=True)}) == 1


def test_business_list_on_an_empty_database_prints_its_header_alone(sqlite_url: str) -> None:
    listed = run_clientele(sqlite_url, "business", "list")

    assert (listed.returncode, listed.stdout.splitlines()) == (0, [f"{'id':<36}  {'created_at':<19}  name"])


def test_token_create_prints_a_token_that_works_with_exactly_its_scopes(
    sqlite_url: str, in_process: TestClient
) -> None:
    token = create_token(sqlite_url, create_business(sqlite_url), "customers.list,customers.write")

    created = in_process.post("/customers", json=new_customer(), headers=bearer(token))
    listed = in_process.get("/customers", headers=bearer(token))
    refused = in_process.get(f"/customers/{created.json()['data']['id']}", headers=bearer(token))

    assert created.status_code == 201
    assert [row["id"] for row in listed.json()["data"]] == [created.json()["data"]["id"]]
    assert refused.status_code == 403


@pytest.mark.parametrize("scopes", ["customers.list,customers.everything", "nonsense", ","])
def test_token_create_refuses_unknown_scopes(sqlite_url: str, scopes: str) -> None:
    business_id = create_business(sqlite_url)

    result = run_clientele(sqlite_url, "token", "create", "--business", business_id, "--scopes", scopes)

    assert result.returncode != 0
    listed = run_clientele(sqlite_url, "token", "list", "--business", business_id)
    assert not UUID_TEXT.search(listed.stdout)


def test_token_create_refuses_an_unknown_business(sqlite_url: str) -> None:
    run_clientele(sqlite_url, "migrate")

    for business in (str(uuid.uuid4()), "not-an-id"):
        assert run_clientele(sqlite_url, "token", "create", "--business", business, "--scopes", "all").returncode != 0


def test_token_list_shows_the_token_id_and_never_its_secret(sqlite_url: str) -> None:
    business_id = create_business(sqlite_url)
    created = run_clientele(
        sqlite_url,
        "token",
        "create",
        "--business",
        business_id,
        "--scopes",
        "general.read",
        "--name",
        "till-1",
        "--expires-days",
        "30",
    )
    token, token_id = last_line(created), created_token_id(created.stdout)

    listed = run_clientele(sqlite_url, "token", "list", "--business", business_id)

    assert listed.returncode == 0
    line = next(line for line in listed.stdout.splitlines() if token_id in line)
    assert "till-1" in line and "general.read" in line
    assert token not in listed.stdout
    assert token.removeprefix("clt_")[:8] not in listed.stdout


def test_token_revoke_makes_the_token_unauthenticated(sqlite_url: str, in_process: TestClient) -> None:
    business_id = create_business(sqlite_url)
    created = run_clientele(sqlite_url, "token", "create", "--business", business_id, "--scopes", "all")
    token, token_id = last_line(created), created_token_id(created.stdout)
    assert in_process.get("/customers", headers=bearer(token)).status_code == 200

    assert run_clientele(sqlite_url, "token", "revoke", token_id).returncode == 0

    assert in_process.get("/customers", headers=bearer(token)).status_code == 401


def test_token_revoke_refuses_an_unknown_token(sqlite_url: str) -> None:
    run_clientele(sqlite_url, "migrate")

    assert run_clientele(sqlite_url, "token", "revoke", str(uuid.uuid4())).returncode != 0


def test_serve_on_an_empty_database_prints_an_all_scope_token_once(
    sqlite_url: str, database_file: Path, tmp_path: Path
) -> None:
    with serving(sqlite_url, tmp_path) as [server]:
        token = token_after_bootstrap_message(server.stdout())
        business_id = business_id_after_bootstrap_message(server.stdout())
        created = httpx.post(f"{server.base_url}/customers", json=new_customer(), headers=bearer(token))
        fetched = httpx.get(f"{server.base_url}/v5/customers/{created.json()['data']['id']}", headers=bearer(token))

    assert created.status_code == 201, created.text
    assert fetched.json()["data"] == created.json()["data"]
    with sqlite3.connect(database_file) as connection:
        assert [set(row[0].split()) for row in connection.execute("SELECT scopes FROM tokens")] == [set(ALL_SCOPES)]
    assert run_clientele(sqlite_url, "business", "list").stdout.splitlines()[1].startswith(business_id)
    assert created.json()["data"]["id"] in run_clientele(sqlite_url, "export", "--business", business_id).stdout

    with serving(sqlite_url, tmp_path) as [again]:
        assert "shown only this once" not in again.stdout()
        assert httpx.get(f"{again.base_url}/customers", headers=bearer(token)).json()["meta"]["total"] == 1


def test_servers_started_together_on_an_empty_database_print_one_token_between_them(
    sqlite_url: str, database_file: Path, tmp_path: Path
) -> None:
    with serving(sqlite_url, tmp_path, count=3) as servers:
        outputs = [server.stdout() for server in servers]

    assert sum("shown only this once" in output for output in outputs) == 1
    with sqlite3.connect(database_file) as connection:
        assert connection.execute("SELECT count(*) FROM businesses").fetchone() == (1,)


def business_id_after_bootstrap_message(stdout: str) -> str:
    [announced] = [line for line in stdout.splitlines() if line.startswith("Created the business")]
    found = UUID_TEXT.search(announced)
    assert found, stdout
    return found.group()


def token_after_bootstrap_message(stdout: str) -> str:
    lines = stdout.splitlines()
    announced = [index for index, line in enumerate(lines) if "shown only this once" in line]
    assert len(announced) == 1, stdout
    return lines[announced[0] + 1].strip()


def test_serve_with_two_workers_answers_concurrent_requests(sqlite_url: str, tmp_path: Path) -> None:
    token = create_token(sqlite_url, create_business(sqlite_url))

    with serving(sqlite_url, tmp_path, "--workers", "2") as [server], ThreadPoolExecutor(max_workers=8) as pool:

        def create(_: int) -> int:
            return httpx.post(
                f"{server.base_url}/customers", json=new_customer(), headers=bearer(token), timeout=30
            ).status_code

        statuses = list(pool.map(create, range(16)))
        listed = httpx.get(f"{server.base_url}/customers", headers=bearer(token)).json()

    assert statuses == [201] * 16
    assert listed["meta"]["total"] == 16


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL is not set")
def test_serve_on_postgresql_serves_a_business_made_with_the_cli(tmp_path: Path) -> None:
    database_url = os.environ["TEST_DATABASE_URL"]
    token = create_token(database_url, create_business(database_url))

    with serving(database_url, tmp_path, "--workers", "2") as [server]:
        created = httpx.post(f"{server.base_url}/customers", json=new_customer(), headers=bearer(token))
        fetched = httpx.get(f"{server.base_url}/customers/{created.json()['data']['id']}", headers=bearer(token))
        ready = httpx.get(f"{server.base_url}/readyz")

    assert created.status_code == 201, created.text
    assert fetched.json()["data"] == created.json()["data"]
    assert ready.status_code == 200
