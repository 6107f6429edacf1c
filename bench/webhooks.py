"""Issue 21's webhook runs: a business of their own, a local receiver, the outbox filled in SQL where a
run needs a backlog, and the cleanup of everything they made.

Every run happens in a business made for the phase (`BUSINESS`), so that its customers, events,
endpoint, deliveries and attempts are all the phase's own: they are deleted with the business at the
end of the phase (and at the start of the next, after an interrupted one), and no other business's
events are ever sent to the receiver.

A backlog is made in SQL (`insert_events`): `customer.created` events shaped as the outbox writes them
(`events.service.record_event`): a time-ordered id, `created_at` from the database's clock in UTC,
`data` a customer's body as stored for every scope (the body of one event the API wrote in this
business, with its `id` and `name` changed per row), `changes` and `dispatched_at` null. Each event
names a record of its own (no customer row behind it: the deliverer never reads one), so that the
per-record order holds none back, as with events of distinct customers created through the API. One
`INSERT … SELECT` makes 100,000 in seconds, where creates through the API would take minutes of the
2 cores that the runs are measuring.
"""

import http.client
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import database
from bench.ledgers import STAMPED_ID
from bench.loadgen import nearest_rank
from bench.processes import BenchError, Repeating, Server, free_port, memory_mb, serving, stop_group

BUSINESS = "bench webhooks"  # the business every webhook run writes in; deleted after the phase
HOOK = "/hook"  # where the receiver takes deliveries
ENDPOINT_DESCRIPTION = "bench receiver"
# The idle run: one client creating this many customers a second, each event's delivery timed.
IDLE_RATE = 20.0
# Target 4: the deliverer's peak is read against its RSS once this share of the backlog was delivered
# (10,000 of 100,000).
RSS_AFTER_SHARE = 0.10
# Deliveries that stop arriving for this long end a wait, and no drain is waited for longer than the
# limit: the run is then reported as incomplete, with the rate of what arrived.
STALLED_SECONDS = 60.0
DRAIN_LIMIT_SECONDS = 900.0
SAMPLE_SECONDS = 0.25
# The tables whose statistics the claim's plan depends on (see `Analyzer`).
ANALYZED = ("events", "webhook_deliveries", "webhook_attempts")
ANALYZE_EVERY_SECONDS = 2.0


@contextmanager
def serving_receiver(log_dir: Path, env: dict[str, str]) -> Iterator[Server]:
    """The receiver (`baselines/receiver.py`) on uvicorn, one process, without access log."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.baselines.receiver:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    with serving("receiver", command, env=env, port=port, log_dir=log_dir) as server:
        yield server


@dataclass(frozen=True)
class Receiver:
    base_url: str

    @property
    def hook_url(self) -> str:
        return self.base_url + HOOK

    def call(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(self.base_url + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stats(self) -> dict[str, Any]:
        found: dict[str, Any] = self.call("/stats")
        return found

    def reset(self) -> None:
        self.call("/reset", "POST")

    def arrivals(self) -> list[tuple[float, str, str]]:
        return [(when, key, stamp) for when, key, stamp in self.call("/arrivals")]


def api(base_url: str, token: str, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        base_url + path,
        method=method,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read()[:500]


def create_endpoint(base_url: str, token: str, url: str) -> dict[str, Any]:
    """An endpoint subscribed to every event type, made through the API."""
    status, body = api(
        base_url,
        token,
        "POST",
        "/webhook_endpoints",
        {"url": url, "event_types": ["*"], "description": ENDPOINT_DESCRIPTION},
    )
    if status != 201:
        raise BenchError(f"POST /webhook_endpoints answered {status}: {body!r}")
    endpoint: dict[str, Any] = body["data"]
    return endpoint


def create_customer(base_url: str, token: str, name: str, phone: str) -> None:
    status, body = api(base_url, token, "POST", "/customers", {"name": name, "dial_code": 1, "phone": phone})
    if status != 201:
        raise BenchError(f"POST /customers answered {status}: {body!r}")


# --- the outbox and what is owed -------------------------------------------------------------


def handed_out_everywhere(url: str, timeout: float = 300) -> tuple[int, float]:
    """Wait until no event of any business waits to be handed out (earlier phases' creates, updates and
    charges, which the deliverers of the server started for this phase hand out first); how many
    waited, and the seconds it took."""
    started = time.monotonic()
    waiting = first = undispatched(url)
    while waiting and time.monotonic() - started < timeout:
        time.sleep(SAMPLE_SECONDS)
        waiting = undispatched(url)
    return first, round(time.monotonic() - started, 1)


def undispatched(url: str, business_id: uuid.UUID | None = None) -> int:
    if business_id is None:
        rows = database.fetch(url, "SELECT count(*) AS n FROM events WHERE dispatched_at IS NULL")
    else:
        rows = database.fetch(
            url, "SELECT count(*) AS n FROM events WHERE dispatched_at IS NULL AND business_id = $1", business_id
        )
    return int(rows[0]["n"])


def owed(url: str, business_id: uuid.UUID) -> dict[str, int]:
    """The business's events not handed out yet, deliveries pending and failed, and failed attempts."""
    row = database.fetch(
        url,
        "SELECT (SELECT count(*) FROM events WHERE dispatched_at IS NULL AND business_id = $1) AS undispatched, "
        "(SELECT count(*) FROM webhook_deliveries WHERE business_id = $1 AND status = 'pending') AS pending, "
        "(SELECT count(*) FROM webhook_deliveries WHERE business_id = $1 AND status = 'failed') AS failed, "
        "(SELECT count(*) FROM webhook_attempts WHERE business_id = $1 AND result <> 'succeeded') AS failed_attempts",
        business_id,
    )[0]
    return {key: int(row[key]) for key in ("undispatched", "pending", "failed", "failed_attempts")}


def wait_drained(url: str, business_id: uuid.UUID, timeout: float) -> tuple[bool, float]:
    """Wait until the business owes nothing (every event handed out, no delivery pending); whether it
    got there, and the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        left = owed(url, business_id)
        if not left["undispatched"] and not left["pending"]:
            return True, round(time.monotonic() - started, 1)
        time.sleep(SAMPLE_SECONDS)
    return False, round(time.monotonic() - started, 1)


def event_template(url: str, business_id: uuid.UUID) -> str:
    """The `data` of the business's latest `customer.created` event, as the API wrote it (JSON)."""
    rows = database.fetch(
        url,
        "SELECT data::text AS data FROM events WHERE business_id = $1 AND type = 'customer.created' "
        "ORDER BY created_at DESC LIMIT 1",
        business_id,
    )
    if not rows:
        raise BenchError("No customer.created event to shape the backlog's events on")
    data: str = rows[0]["data"]
    return data


INSERT_EVENTS = f"""
INSERT INTO events (business_id, id, type, record_id, created_at, data, changes, dispatched_at)
SELECT $1, {STAMPED_ID}, 'customer.created', record_id, stamp,
       jsonb_set(jsonb_set($2::jsonb, '{{id}}', to_jsonb(record_id::text)),
                 '{{name}}', to_jsonb('Bench Webhook ' || i))::json,
       NULL, NULL
FROM (
    SELECT i, stamp, {STAMPED_ID} AS record_id
    FROM (SELECT i, timezone('UTC', clock_timestamp()) AS stamp FROM generate_series(1, $3) AS i) AS numbered
) AS rows
"""


def insert_events(url: str, business_id: uuid.UUID, count: int, template: str) -> float:
    """`count` customer.created events of the business, committed at once; the time (epoch seconds)
    of the commit."""
    database.fetch(url, INSERT_EVENTS, business_id, template, count)
    return time.time()


# --- the runs' own measures ------------------------------------------------------------------


def send_creates(port: int, token: str, prefix: str, *, rate: float, seconds: float) -> dict[str, Any]:
    """One client creating customers on a fixed schedule (`rate` a second) on one kept-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    statuses: dict[int, int] = {}
    started = time.monotonic()
    count = int(rate * seconds)
    try:
        for number in range(count):
            wait = started + number / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            body = json.dumps(
                {"name": f"{database.CREATED_NAME} idle {number}", "dial_code": 1, "phone": f"{prefix}{number:07d}"}
            )
            connection.request("POST", "/customers", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            statuses[response.status] = statuses.get(response.status, 0) + 1
    finally:
        connection.close()
    return {"sent": count, "seconds": round(time.monotonic() - started, 2), "statuses": statuses}


def lags_ms(arrivals: list[tuple[float, str, str]]) -> list[float]:
    """Per event (its first arrival), milliseconds from its `timestamp` to its arrival, ascending."""
    first: dict[str, tuple[float, str]] = {}
    for when, key, stamp in arrivals:
        first.setdefault(key, (when, stamp))
    return sorted((when - datetime.fromisoformat(stamp).timestamp()) * 1000 for when, stamp in first.values())


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    return {
        "p50": round(nearest_rank(values, 0.50), 1),
        "p95": round(nearest_rank(values, 0.95), 1),
        "p99": round(nearest_rank(values, 0.99), 1),
        "max": round(values[-1], 1),
    }


@dataclass
class Drain:
    """A backlog delivered: when delivery could start, the receiver's counts, and samples on the way."""

    expected: int
    started: float  # epoch seconds: the backlog committed and a deliverer running
    received: int = 0
    unique: int = 0
    first: float | None = None
    last: float | None = None
    stalled: bool = False
    # (seconds since started, RSS MB of the deliverer or None, deliveries received)
    samples: list[tuple[float, float | None, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        seconds = (self.last - self.started) if self.last else None
        return {
            "events": self.expected,
            "received": self.received,
            "unique": self.unique,
            "seconds": round(seconds, 2) if seconds else None,
            "events_per_second": round(self.unique / seconds, 1) if seconds else None,
            "first_after_seconds": round(self.first - self.started, 2) if self.first else None,
            "complete": self.unique >= self.expected,
            "stalled": self.stalled,
        }


def drain(receiver: Receiver, expected: int, started: float, pid: int | None = None) -> Drain:
    """Sample the receiver (and the deliverer's RSS when `pid` is given) until `expected` distinct
    events arrived, or none arrived for STALLED_SECONDS."""
    found = Drain(expected=expected, started=started)
    moved = begun = time.monotonic()
    while True:
        stats = receiver.stats()
        rss = memory_mb(pid).get("VmRSS") if pid is not None else None
        found.samples.append((round(time.time() - started, 2), rss, stats["unique"]))
        if stats["unique"] != found.unique:
            moved = time.monotonic()
        found.received, found.unique = stats["received"], stats["unique"]
        found.first, found.last = stats["first"], stats["last"]
        if found.unique >= expected:
            return found
        if time.monotonic() - moved > STALLED_SECONDS or time.monotonic() - begun > DRAIN_LIMIT_SECONDS:
            found.stalled = True
            return found
        time.sleep(SAMPLE_SECONDS)


def drain_line(found: Drain) -> str:
    shown = found.as_dict()
    line = (
        f"{found.unique:,} of {found.expected:,} events in {shown['seconds']} s: {shown['events_per_second']} "
        f"events/s (the first after {shown['first_after_seconds']} s)"
    )
    if found.received != found.unique:
        line += f", {found.received - found.unique:,} sent twice"
    return line + ("; NOT DRAINED (stalled, or over the time limit)" if found.stalled else "")


def memory_over_drain(found: Drain) -> dict[str, Any]:
    """The deliverer's RSS over a drain: at start, after the first RSS_AFTER events, at its peak after
    them and overall, and at the end (MB)."""
    rss = [(seconds, value, received) for seconds, value, received in found.samples if value is not None]
    if not rss:
        return {}
    after = max(1, round(found.expected * RSS_AFTER_SHARE))
    later = [value for _, value, received in rss if received >= after]
    return {
        "after_events": after,
        "start_mb": round(rss[0][1], 1),
        "after_first_mb": round(later[0], 1) if later else None,
        "peak_after_first_mb": round(max(later), 1) if later else None,
        "peak_mb": round(max(value for _, value, _ in rss), 1),
        "end_mb": round(rss[-1][1], 1),
        "samples": len(rss),
        # A few points of the curve for the raw JSON: (seconds, MB, delivered).
        "curve": [rss[index] for index in range(0, len(rss), max(1, len(rss) // 20))] + [rss[-1]],
    }


def code_of(env: dict[str, str]) -> str:
    """Where the `clientele` package comes from for a process with this environment (the tree measured)."""
    result = subprocess.run(
        [sys.executable, "-c", "import clientele; print(clientele.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return str(Path(result.stdout.strip()).parent.parent) if result.returncode == 0 else f"? {result.stderr[-300:]}"


@contextmanager
def delivering(log_dir: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`clientele deliver` alone, in its own process group, stopped at the end of the block."""
    log = log_dir / "deliver.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [database.CLIENTELE, "deliver"], env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 90
        while b"Delivering webhooks" not in log.read_bytes():
            if process.poll() is not None:
                raise BenchError(f"clientele deliver exited with {process.returncode}; see {log}")
            if time.monotonic() > deadline:
                raise BenchError(f"clientele deliver did not start within 90 s; see {log}")
            time.sleep(0.05)
        yield process
    finally:
        stop_group(process)


class Analyzer:
    """ANALYZE of the tables the deliverer reads, whenever autovacuum's default rule would run one (more
    rows changed since the last than 50 + 10% of the table), checked every ANALYZE_EVERY_SECONDS: a
    stand-in for autovacuum, which is off on the bench server (the harness analyzes after seeding too).

    The claim's plan depends on it: with statistics that saw no pending delivery, PostgreSQL checks the
    per-record order of each due delivery against every pending one of the endpoint (the endpoint's
    index, not the per-record one): one claim of 16 took 28 s at 10,000 pending and 165 s at 20,000,
    measured on 2026-12-07. Checked every 2 s rather than autovacuum's minute, so that the runs measure
    the deliverer with statistics that know the backlog, not a minute of that.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.runs = 0
        self._repeating = Repeating(ANALYZE_EVERY_SECONDS, self.check)

    def check(self) -> None:
        try:
            rows = database.fetch(
                self.url,
                "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
                "WHERE s.relname = ANY($1::text[]) AND s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)",
                list(ANALYZED),
            )
            if rows:
                database.execute(self.url, "ANALYZE " + ", ".join(row["relname"] for row in rows))
                self.runs += 1
        except Exception as error:  # the runs go on; the count of analyses says how many there were
            print(f"  ANALYZE failed: {type(error).__name__}: {error}", flush=True)

    def __enter__(self) -> "Analyzer":
        database.execute(self.url, "ANALYZE " + ", ".join(ANALYZED))
        self._repeating.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._repeating.stop()


# --- cleanup ---------------------------------------------------------------------------------


def remove_business(url: str) -> dict[str, int]:
    """Delete the phase's business (an interrupted run's too) with everything in it: attempts, deliveries,
    endpoints, events, customers, then every other row naming it; how many of each went."""
    ids = [row["id"] for row in database.fetch(url, "SELECT id FROM businesses WHERE name = $1", BUSINESS)]
    if not ids:
        return {}
    first = ["webhook_attempts", "webhook_deliveries", "webhook_endpoints", "events", "customers"]
    others = [
        row["table_name"]
        for row in database.fetch(
            url,
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND column_name = 'business_id' AND table_name <> ALL($1::text[]) ORDER BY table_name",
            first,
        )
    ]

    async def work() -> dict[str, int]:
        connection = await database.connect(url)
        try:
            gone = {}
            async with connection.transaction():
                for table in [*first, *others]:
                    status = await connection.execute(f"DELETE FROM {table} WHERE business_id = ANY($1::uuid[])", ids)
                    gone[table] = int(status.split()[-1])
                await connection.execute("DELETE FROM businesses WHERE id = ANY($1::uuid[])", ids)
            return gone
        finally:
            await connection.close()

    removed = database.run(work)
    database.execute(url, "VACUUM (ANALYZE) events, webhook_deliveries, webhook_attempts")
    return removed
