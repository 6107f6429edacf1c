"""The README's curl examples, run as a reader would run them, against `clientele serve`.

Each `sh` block that calls curl runs in bash with the reader's variables set (the block's own
`TOKEN=clt_…`, `BASE=…` and `HOOK_URL=…` lines are placeholders) and curl made to print each answer's
status after its body: every status is the one the block's comments promise.
"""

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.processes import Server, serving
from tests.conftest import new_business, new_token
from tests.webhooks.receiver import Receiver

README = Path(__file__).parent.parent / "README.md"
STATUS = re.compile(r"\nstatus=(\d{3})\n")
# The reader's own values, which the README shows as placeholders.
PLACEHOLDERS = re.compile(r"^(TOKEN|BASE|HOOK_URL)=.*$", re.MULTILINE)

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="the README's examples use curl")


def curl_blocks() -> list[str]:
    blocks = re.findall(r"^```sh\n(.*?)^```", README.read_text(), re.MULTILINE | re.DOTALL)
    return [block for block in blocks if "curl " in block]


def run_block(block: str, variables: dict[str, str]) -> list[tuple[int, object]]:
    """(status, parsed body) of each curl call in the block, in order."""
    script = (
        "curl() { command curl -w '\\nstatus=%{http_code}\\n' \"$@\"; }\n"
        + "".join(f"{name}='{value}'\n" for name, value in variables.items())
        + PLACEHOLDERS.sub("", block)
    )
    result = subprocess.run(["bash", "-e", "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    parts = STATUS.split(result.stdout)
    return [
        (int(status), json.loads(body) if body.strip() else None)
        for body, status in zip(parts[0::2], parts[1::2], strict=False)
    ]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def reader(client, database_url: str, tmp_path: Path) -> Iterator[tuple[Server, str]]:
    """A server, and a token of a business of its own, as `make run` gives a reader; its webhooks may go
    to the test's receiver on 127.0.0.1."""
    token = new_token(client, new_business(client, "README reader")).token
    with serving(database_url, tmp_path, settings={"WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1"}) as [running]:
        yield running, token


def test_the_readme_has_the_curl_examples_this_file_runs() -> None:
    assert len(curl_blocks()) == 7


def test_the_readme_curl_examples_answer_as_their_comments_say(reader: tuple[Server, str], receiver: Receiver) -> None:
    running, token = reader
    try_it, sync, retries, ledgers, events, subscribe, after_an_outage = curl_blocks()
    variables = {"TOKEN": token, "BASE": running.base_url}

    created, listed, included = run_block(try_it, variables)
    assert created[0] == 201
    assert listed[0] == 200 and [row["name"] for row in listed[1]["data"]] == ["Simona"]
    assert included[0] == 200 and included[1]["data"][0]["tags"] == []

    [(status, page)] = run_block(sync, variables)
    assert status == 200
    assert page["meta"]["total"] == 1 and page["meta"]["next_cursor"] is None

    customer_id = created[1]["data"]["id"]
    first = run_block(retries, variables | {"ID": customer_id})
    retried = run_block(retries, variables | {"ID": customer_id})
    assert [status for status, _ in first] == [201, 412]
    assert [status for status, _ in retried] == [201, 412]
    assert retried[0][1] == first[0][1]
    names = httpx.get(f"{running.base_url}/customers", headers={"Authorization": f"Bearer {token}"}).json()
    assert sorted(row["name"] for row in names["data"]) == ["Noura", "Simona"]
    assert names["data"][0]["email"] == "simona@example.net"

    opened, charged, paid, earned = run_block(ledgers, variables | {"ID": customer_id})
    assert [status for status, _ in (opened, charged, paid, earned)] == [200, 201, 201, 201]
    assert [body["data"]["balance_after"] for _, body in (charged, paid, earned)] == [-120.5, -20.5, 12]

    [(status, page)] = run_block(events, variables)
    assert status == 200
    # Simona and Noura created (the replay and the stale PUTs change nothing), then Simona's account
    # opened and her three entries' balances.
    assert [event["type"] for event in page["data"]] == ["customer.created"] * 2 + ["customer.updated"] * 4
    assert page["data"][-1]["changes"]["loyalty_balance"] == 0

    subscribed, endpoints = run_block(subscribe, variables | {"HOOK_URL": receiver.url})
    assert subscribed[0] == 201 and subscribed[1]["data"]["event_types"] == ["customer.*"]
    assert endpoints[0] == 200 and "secret" not in endpoints[1]["data"][0]
    statuses = run_block(after_an_outage, variables | {"ID": subscribed[1]["data"]["id"]})
    assert [status for status, _ in statuses] == [200, 200, 202, 200]
    assert statuses[2][1]["data"]["queued"] >= 3
    deadline = time.monotonic() + 30
    while not receiver.received and time.monotonic() < deadline:
        time.sleep(0.1)
    assert receiver.received[0].verify(subscribed[1]["data"]["secret"])["type"].startswith("customer.")
