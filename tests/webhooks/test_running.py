"""Running delivery for real (SPEC §10): inside `clientele serve`, every worker sharing the work, and as
its own process, `clientele deliver`; each delivery verified by the receiver with standardwebhooks."""

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.processes import CLIENTELE, environment, serving, stop
from tests.conftest import Api
from tests.webhooks.conftest import make_endpoint
from tests.webhooks.receiver import Receiver

LOCAL = {"WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1"}


def wait_for(receiver: Receiver, count: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while len(receiver.received) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(receiver.received) >= count, f"{len(receiver.received)} of {count} deliveries arrived"


@pytest.fixture
def deliver_process(database_url: str, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    output = tmp_path / "deliver.out"
    with output.open("wb") as stdout:
        process = subprocess.Popen(
            [CLIENTELE, "deliver"],
            env=environment(database_url) | LOCAL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    yield process
    stop(process)


def test_clientele_deliver_sends_until_it_is_stopped(
    local_api: Api, receiver: Receiver, deliver_process: subprocess.Popen[bytes]
) -> None:
    endpoint = make_endpoint(local_api, url=receiver.url)
    customer = local_api.make_customer()

    wait_for(receiver, 1)
    os.killpg(deliver_process.pid, signal.SIGTERM)

    assert receiver.received[0].verify(endpoint["secret"])["data"]["id"] == customer["id"]
    assert deliver_process.wait(timeout=20) == 0


def test_clientele_deliver_logs_no_line_per_delivery(
    local_api: Api, receiver: Receiver, deliver_process: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    make_endpoint(local_api, url=receiver.url)
    for _ in range(3):
        local_api.make_customer()

    wait_for(receiver, 3)
    os.killpg(deliver_process.pid, signal.SIGTERM)
    assert deliver_process.wait(timeout=20) == 0

    output = (tmp_path / "deliver.out").read_text()
    assert "Delivering webhooks" in output
    assert "HTTP Request" not in output


def test_every_worker_of_serve_delivers_and_each_event_arrives_once(
    database_url: str, tmp_path: Path, local_api: Api, receiver: Receiver
) -> None:
    with serving(database_url, tmp_path, "--workers", "2", settings=LOCAL) as [server]:
        headers = {"Authorization": f"Bearer {local_api.token}"}
        created = httpx.post(f"{server.base_url}/webhook_endpoints", json={"url": receiver.url}, headers=headers)
        assert created.status_code == 201, created.text
        secret = created.json()["data"]["secret"]
        for name in ("One", "Two", "Three"):
            local_api.make_customer(name=name)

        wait_for(receiver, 3)
        time.sleep(2)

    assert sorted(received.verify(secret)["data"]["name"] for received in receiver.received) == ["One", "Three", "Two"]


def test_serve_leaves_delivery_to_others_when_told(
    database_url: str, tmp_path: Path, local_api: Api, receiver: Receiver
) -> None:
    make_endpoint(local_api, url=receiver.url)
    with serving(database_url, tmp_path, settings=LOCAL | {"DELIVER_WEBHOOKS": "0"}):
        local_api.make_customer()
        time.sleep(3)

    assert receiver.received == []
