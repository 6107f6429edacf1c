"""The OpenAPI description is a contract: a bounded Schemathesis run against a real server.

`clientele serve` runs as its own process (on a temporary SQLite file, or on
TEST_DATABASE_URL when set) and Schemathesis sends it generated requests for every
operation in /openapi.json, positive and negative, with a token carrying every scope and
path ids of real records, so that the generated bodies reach validation and storage.
Every answer must be a documented status with a body matching its documented schema,
and none may be a server error.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.cli.processes import Server, create_business, create_token, serving
from tests.conftest import next_phone

SCHEMATHESIS = str(Path(sys.executable).parent / "st")
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
# Small enough to stay well under a minute on two cores; the seed makes a failure reproducible.
MAX_EXAMPLES = 12
SEED = 20_240_501


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    directory = tmp_path_factory.mktemp("contract")
    database_url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{directory / 'clientele.db'}"
    token = create_token(database_url, create_business(database_url, "Contract test"))
    with serving(database_url, directory) as [running]:
        yield running, token


def created_id(server: Server, token: str, path: str, body: dict[str, object]) -> str:
    response = httpx.post(f"{server.base_url}{path}", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text
    return response.json()["data"]["id"]


def path_ids(server: Server, token: str) -> dict[str, str]:
    """One real record per resource, keyed by the name of its path parameter."""
    customer_id = created_id(server, token, "/customers", {"name": "Contract", "dial_code": 966, "phone": next_phone()})
    return {
        "customer_id": customer_id,
        "tag_id": created_id(server, token, "/tags", {"name": "Contract"}),
        "zone_id": created_id(server, token, "/delivery_zones", {"name": "Contract"}),
        "address_id": created_id(server, token, "/addresses", {"name": "Contract", "customer_id": customer_id}),
    }


def test_every_operation_honours_its_openapi_description(server: tuple[Server, str], tmp_path: Path) -> None:
    running, token = server
    config = tmp_path / "schemathesis.toml"
    config.write_text("[parameters]\n" + "".join(f'"path.{name}" = "{value}"\n'
                                                 for name, value in path_ids(running, token).items()))

    result = subprocess.run(
        [SCHEMATHESIS, "--config-file", str(config), "run", f"{running.base_url}/openapi.json", "--checks", CHECKS,
         "--header", f"Authorization: Bearer {token}", "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED),
         "--workers", "2", "--request-timeout", "10", "--output-truncate", "false"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
