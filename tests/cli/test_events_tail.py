"""`clientele events tail` (SPEC §10), run as the real console script: it prints each event written after it
started, one JSON line each as GET /events shows it and in that order, until SIGINT or SIGTERM (exit 0)."""

import os
import queue
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from tests.cli.processes import CLIENTELE, COMMAND_TIMEOUT_SECONDS, environment, run_clientele
from tests.conftest import Api
from tests.events.conftest import uncommitted_event, walk
from tests.tcp_proxy import TcpProxy

LINE_TIMEOUT_SECONDS = 20
# A few of the tail's polls.
QUIET_SECONDS = 1.5


class Tail:
    """A running `clientele events tail`, its stdout and stderr read line by line as they come."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.stdout: queue.Queue[str] = queue.Queue()
        self.stderr: queue.Queue[str] = queue.Queue()
        self.readers = [
            threading.Thread(target=read_lines, args=(stream, lines), daemon=True)
            for stream, lines in ((process.stdout, self.stdout), (process.stderr, self.stderr))
        ]
        for reader in self.readers:
            reader.start()

    def events(self, count: int) -> list[dict[str, Any]]:
        return [orjson.loads(self.stdout.get(timeout=LINE_TIMEOUT_SECONDS)) for _ in range(count)]

    def stop(self, signal_number: signal.Signals) -> int:
        """Send the signal; the exit status, once everything printed has been read."""
        os.kill(self.process.pid, signal_number)
        exit_code = self.process.wait(timeout=COMMAND_TIMEOUT_SECONDS)
        for reader in self.readers:
            reader.join(timeout=COMMAND_TIMEOUT_SECONDS)
        return exit_code

    def rest(self) -> list[str]:
        """What it printed and was not read yet."""
        return list(self.stdout.queue)


def read_lines(stream: IO[str] | None, lines: queue.Queue[str]) -> None:
    assert stream is not None
    for line in stream:
        lines.put(line)


@contextmanager
def tailing(database_url: str, *args: str) -> Iterator[Tail]:
    process = subprocess.Popen(
        [CLIENTELE, "events", "tail", *args],
        env=environment(database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    tail = Tail(process)
    try:
        following = tail.stderr.get(timeout=COMMAND_TIMEOUT_SECONDS)
        assert following.startswith("Following the events of business"), following
        yield tail
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_tail_prints_each_new_event_as_get_events_shows_it_until_interrupted(database_url: str, api: Api) -> None:
    api.make_customer(name="Before the tail")

    with tailing(database_url, "--business", str(api.business_id)) as tail:
        customer = api.make_customer(name="Tailed")
        api.put(f"/customers/{customer['id']}", json={"name": "Renamed"})
        api.make_tag(name="tailed")
        api.delete(f"/customers/{customer['id']}")
        printed = tail.events(4)
        exit_code = tail.stop(signal.SIGINT)

    assert printed == walk(api)[1:]
    assert [event["type"] for event in printed] == [
        "customer.created",
        "customer.updated",
        "tag.created",
        "customer.deleted",
    ]
    assert printed[1]["changes"]["name"] == "Tailed"
    assert exit_code == 0
    assert tail.rest() == []


def test_tail_takes_the_type_patterns_of_the_type_filter_and_stops_on_sigterm(database_url: str, api: Api) -> None:
    with tailing(database_url, "--business", str(api.business_id), "--type", "customer.*,tag.created") as tail:
        tag = api.make_tag(name="shown")
        api.put(f"/tags/{tag['id']}", json={"name": "renamed, not shown"})
        customer = api.make_customer()
        api.put(f"/customers/{customer['id']}", json={"name": "Renamed"})
        printed = tail.events(3)
        exit_code = tail.stop(signal.SIGTERM)

    assert [(event["type"], event["data"]["id"]) for event in printed] == [
        ("tag.created", tag["id"]),
        ("customer.created", customer["id"]),
        ("customer.updated", customer["id"]),
    ]
    assert exit_code == 0
    assert tail.rest() == []


def test_tail_prints_a_stream_of_changes_in_the_order_they_were_made(database_url: str, api: Api) -> None:
    with tailing(database_url, "--business", str(api.business_id), "--type", "tag.*") as tail:
        tags = [api.make_tag() for _ in range(30)]
        printed = tail.events(30)
        exit_code = tail.stop(signal.SIGINT)

    assert [event["data"]["id"] for event in printed] == [tag["id"] for tag in tags]
    assert exit_code == 0


def test_tail_prints_no_event_past_one_that_has_not_committed(database_url: str, client: TestClient, api: Api) -> None:
    """The rule GET /events follows: an event stamped earlier and still uncommitted holds later ones back,
    so that the tail cannot step past it and never print it."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one write transaction at a time: no event commits behind another")
    with tailing(database_url, "--business", str(api.business_id)) as tail:
        with uncommitted_event(client, api, {}):
            tag = api.make_tag()
            with pytest.raises(queue.Empty):
                tail.stdout.get(timeout=QUIET_SECONDS)
        printed = tail.events(2)
        tail.stop(signal.SIGINT)

    assert [(event["type"], event["data"]) for event in printed] == [("customers.imported", {}), ("tag.created", tag)]


def test_tail_waits_out_a_database_outage(database_url: str, api: Api) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("The outage is cut between the tail and PostgreSQL; SQLite is a file in the tail's process")
    database = make_url(database_url)
    with TcpProxy((database.host or "127.0.0.1", database.port or 5432)) as proxy:
        through_proxy = database.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        with tailing(through_proxy, "--business", str(api.business_id)) as tail:
            proxy.cut()
            tag = api.make_tag()
            away = tail.stderr.get(timeout=LINE_TIMEOUT_SECONDS)
            proxy.restore()
            [printed] = tail.events(1)
            back = tail.stderr.get(timeout=LINE_TIMEOUT_SECONDS)
            exit_code = tail.stop(signal.SIGINT)

    assert away.startswith("The database is not available")
    assert back == "The database is back.\n"
    assert (printed["type"], printed["data"]) == ("tag.created", tag)
    assert exit_code == 0


def test_tail_refuses_an_unknown_type_and_an_unknown_business(database_url: str, api: Api) -> None:
    unknown_type = run_clientele(database_url, "events", "tail", "--business", str(api.business_id), "--type", "cat.*")
    unknown_business = run_clientele(
        database_url, "events", "tail", "--business", "01a25164-0d0e-7a2f-97c9-fd454aa41f1e"
    )

    assert unknown_type.returncode == 2
    assert "--type: Unknown event type 'cat.*'." in unknown_type.stderr
    assert unknown_business.returncode == 1
    assert "No business with id 01a25164-0d0e-7a2f-97c9-fd454aa41f1e." in unknown_business.stderr
