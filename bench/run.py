"""`make bench`: one run of the whole harness, from seeding to bench/results/latest.md.

Order of a run: seed (or re-use) the bench database; serve Clientele and measure single-client
latency of every list request at 1M and 10k customers, and of one customer's 100,000 house-account
entries, time the statement each sends for its total alone with pgbench, and explain their queries;
then throughput under load (house-account charges beside creates), memory, a 64-connection soak,
and 64 connections charging the same 64 customers; serve and measure the references (bare ASGI,
pgbench, the common FastAPI + ORM app); then time `clientele import` of a generated file against
the floors under any import, and `clientele export`; write the report. Every process it starts is
stopped when it ends, also on Ctrl-C or an error.
"""

import argparse
import http.client
import os
import re
import shutil
import signal
import sys
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import asyncpg

from bench import capture, database, imports, ledgers, report, webhooks
from bench.database import Business
from bench.loadgen import PGBENCH_MAX_SCRIPTS, Request, run_one_client, run_pgbench, run_wrk
from bench.processes import (
    BenchError,
    MachineWatch,
    RssSampler,
    Server,
    ensure_tool,
    free_port,
    memory_mb,
    serving,
    wait_for_quiet,
)
from bench.variants import ALL_FILTERS, Variant, chosen_filters, get, list_path, list_variants
from clientele.auth.service import hash_token
from clientele.customers.fast_paths import CUSTOMERS_WITH_TOKENS
from clientele.db.clock import utcnow

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
FULL_SIZES = [1_000_000, 100_000, 10_000]
QUICK_SIZES = [10_000]
ROTATION = 1000  # ids a GET or PUT run rotates over
IN_TURNS_ROUNDS = 3  # pairs of GET by id and pgbench, one right after the other
# Creates number their phones per wrk thread from 0 in a warm-up and from here in the measured run.
MEASURED_SEQUENCE_START = 500_000
QUIET_SHARE = 0.10
FULL_IMPORT_ROWS = 1_000_000
QUICK_IMPORT_ROWS = 20_000
# Issue 21: the events whose delivery by the server's deliverers is timed, and the backlog one
# `clientele deliver` drains while its memory is sampled (the target is set at 100,000).
FULL_DRAIN_EVENTS, QUICK_DRAIN_EVENTS = 20_000, 2_000
FULL_BACKLOG_EVENTS, QUICK_BACKLOG_EVENTS = 100_000, 5_000
FULL_IDLE_SECONDS, QUICK_IDLE_SECONDS = 30.0, 10.0
CREATED = 201  # what every create and charge must answer; any other status is an error
# The harness sends thousands of requests a second with one token: a budget it never reaches
# keeps the limiter (and its cost) in every request without turning requests away.
RATE_LIMIT_PER_MINUTE = "1000000000"
NOT_IN_FILE_NAMES = re.compile(r"[^\w.-]+")  # a request's key names its pgbench log files


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: the 10k business only, 3 s runs, a 5 s soak")
    parser.add_argument("--reseed", action="store_true", help="drop the bench database and seed it again")
    parser.add_argument("--duration", type=float, help="seconds per load run (default 10; 3 with --quick)")
    parser.add_argument(
        "--latency-duration", type=float, help="seconds per single-client latency run (default 5; 2 with --quick)"
    )
    parser.add_argument(
        "--connections", type=int, default=16, help="connections of a load run, and pgbench clients (default 16)"
    )
    parser.add_argument("--soak-seconds", type=float, help="length of the 64-connection run (default 60; 5 quick)")
    parser.add_argument("--soak-connections", type=int, default=64)
    parser.add_argument(
        "--contention-seconds",
        type=float,
        help="length of the run charging as many customers as it has connections (default 30; 5 quick)",
    )
    parser.add_argument(
        "--contention-connections",
        type=int,
        default=64,
        help="connections of that run, and customers it charges (default 64)",
    )
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (default 2)")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before measuring, wait up to this long for other work to take < 10%% of the CPU",
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help="where latest.md goes (raw/latest.json and logs/ beside it)"
    )
    parser.add_argument(
        "--import-rows",
        type=int,
        help=f"customers in the import file (default {FULL_IMPORT_ROWS:,}; {QUICK_IMPORT_ROWS:,} with --quick)",
    )
    phases = parser.add_mutually_exclusive_group()
    phases.add_argument(
        "--import-only",
        action="store_true",
        help="only the import/export phase: no seeding, no HTTP runs, no references",
    )
    phases.add_argument("--no-import", action="store_true", help="skip the import/export phase")
    phases.add_argument(
        "--ledgers-only",
        action="store_true",
        help="only the house-account runs (with the create run their target compares to): listing one customer's "
        "100,000 entries, the charge run, the contended charge run; no other HTTP run, reference or import",
    )
    phases.add_argument(
        "--webhooks-only",
        action="store_true",
        help="only issue 21's webhook runs (no seeding: a business of their own, deleted after): creates with "
        "and without an endpoint, commit-to-delivery when idle, delivery rate, a backlog drained by "
        "`clientele deliver`",
    )
    parser.add_argument(
        "--backlog-events",
        type=int,
        help=f"events of the backlog `clientele deliver` drains (default {FULL_BACKLOG_EVENTS:,}; "
        f"{QUICK_BACKLOG_EVENTS:,} with --quick)",
    )
    args = parser.parse_args(argv)
    if args.import_rows is not None and args.import_rows < 1:
        parser.error("--import-rows must be at least 1")
    args.import_rows = args.import_rows or (QUICK_IMPORT_ROWS if args.quick else FULL_IMPORT_ROWS)
    args.duration = args.duration or (3.0 if args.quick else 10.0)
    args.latency_duration = args.latency_duration or (2.0 if args.quick else 5.0)
    args.soak_seconds = args.soak_seconds or (5.0 if args.quick else 60.0)
    args.contention_seconds = args.contention_seconds or (5.0 if args.quick else 30.0)
    args.backlog_events = args.backlog_events or (QUICK_BACKLOG_EVENTS if args.quick else FULL_BACKLOG_EVENTS)
    return args


def interrupted(_signal: int, _frame: Any) -> None:
    raise KeyboardInterrupt


class Harness:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.url = database.checked_url(os.environ.get("DATABASE_URL") or database.DEFAULT_URL)
        self.logs = args.output / "logs"
        shutil.rmtree(self.logs, ignore_errors=True)
        self.logs.mkdir(parents=True)
        self.warmup = 1.0 if args.quick else 2.0
        self.results: dict[str, Any] = {
            "settings": {key: str(value) for key, value in vars(args).items()},
            "load": {},
            "references": {},
            "latency": {},
            "rss": {},
            "notes": [],
            "load_average": {},
            "ledgers": {},
        }
        self.wrk = ""
        self.pgbench = ""
        self.variants: dict[int, list[Variant]] = {}  # the list requests measured, by business size
        # What the app sent for each of them, by business size and path.
        self.captured: dict[int, dict[str, capture.Captured]] = {}

    # --- plumbing --------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        return os.environ | {"DATABASE_URL": self.url} | extra

    def serve_clientele(self, name: str = "clientele", **extra: str) -> Any:
        port = free_port()
        command = [
            database.CLIENTELE,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(self.args.workers),
            # As the earlier runs measured it: the request log (on by default) would add a write per request.
            "--no-access-log",
        ]
        return serving(
            name,
            command,
            env=self.env(RATE_LIMIT_PER_MINUTE=RATE_LIMIT_PER_MINUTE, **extra),
            port=port,
            log_dir=self.logs,
            ready_path="/readyz",
        )

    def serve_reference(self, name: str, module: str, *options: str, **extra: str) -> Any:
        # uvicorn as `clientele serve` runs it (workers, info log level, proxy headers), but with
        # uvicorn's access log on unless an option turns it off, as most services run.
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            f"{module}:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(self.args.workers),
            "--log-level",
            "info",
            "--proxy-headers",
            *options,
        ]
        return serving(name, command, env=self.env(PYTHONPATH=str(ROOT), **extra), port=port, log_dir=self.logs)

    def measure(
        self,
        server: Server,
        name: str,
        requests: list[Request],
        token: str,
        *,
        connections: int | None = None,
        seconds: float | None = None,
        warm: bool = True,
        expect_status: int | None = None,
    ) -> dict[str, Any]:
        """One wrk run (after a short warm-up with the same requests); an error is recorded, not raised.
        With `expect_status`, a response with any other status is an error."""
        connections = connections or self.args.connections
        try:
            if warm:
                run_wrk(
                    wrk=self.wrk,
                    base_url=server.base_url,
                    requests=requests,
                    token=token,
                    connections=connections,
                    seconds=self.warmup,
                    work_dir=self.logs,
                    name=f"{name}.warmup",
                    expect_status=expect_status,
                )
                database.wait_until_idle(self.url)
            result = run_wrk(
                wrk=self.wrk,
                base_url=server.base_url,
                requests=requests,
                token=token,
                connections=connections,
                seconds=seconds or self.args.duration,
                work_dir=self.logs,
                name=name,
                sequence_start=MEASURED_SEQUENCE_START,
                expect_status=expect_status,
            ).as_dict()
        except BenchError as error:
            result = {"error": str(error)}
        # Requests still running when wrk stops would otherwise slow the next run down.
        result["drain_seconds"] = round(database.wait_until_idle(self.url), 1)
        if result.get("requests") == 0:
            result["error"] = (
                f"no request completed within {seconds or self.args.duration:g} s with {connections} connections"
            )
        print(f"  {name:<42} {report.short(result)}", flush=True)
        return result

    def one_client(self, server: Server, name: str, path: str, token: str) -> dict[str, Any]:
        """One client's requests, one after another, on one new connection (its first request included)."""
        try:
            result = run_one_client(
                port=server.port, path=path, token=token, seconds=self.args.latency_duration
            ).as_dict()
        except (OSError, http.client.HTTPException) as error:
            result = {"error": f"{type(error).__name__}: {error}"}
        result["drain_seconds"] = round(database.wait_until_idle(self.url), 1)
        print(f"  {name:<42} {report.short(result)}", flush=True)
        return result

    # --- the run -----------------------------------------------------------------------------

    def phase(self, name: str) -> None:
        """Start a phase: other work on the 2 cores shows in the numbers, so the report says how much ran."""
        self.watch.mark(name)
        self.results["load_average"][name] = [round(value, 2) for value in os.getloadavg()]

    def run(self) -> None:
        started = time.time()
        if self.args.import_only or self.args.webhooks_only:
            # Neither seeds nor drops: the database only has to be the harness's own and migrated.
            database.prepare_database(self.url, rebuild=False)
            database.clientele(self.url, "migrate")
            self.results["environment"] = report.environment(
                self.url, shutil.which("wrk") or "wrk", shutil.which("pgbench") or "pgbench"
            )
            self.wait_quiet()
        else:
            self.http()
        if not (self.args.import_only or self.args.ledgers_only):
            self.webhook_phase()
        if not (self.args.no_import or self.args.ledgers_only or self.args.webhooks_only):
            self.bulk()
        self.results["elapsed_seconds"] = round(time.time() - started)
        markdown = report.write(self.results, self.args.output)
        print("\n" + markdown, flush=True)

    def wait_quiet(self) -> None:
        if self.args.wait_quiet:
            quiet = wait_for_quiet(database.database_name(self.url), share=QUIET_SHARE, timeout=self.args.wait_quiet)
            self.results["notes"].append(
                f"Waited for other work to take < {QUIET_SHARE:.0%} of the CPU: "
                + (
                    f"it took {quiet:.0%} when the run began."
                    if quiet is not None
                    else f"it never did within {self.args.wait_quiet:g} s; the run went ahead."
                )
            )

    def http(self) -> None:
        """Seeding, the HTTP runs, the references and the plans."""
        self.wrk = ensure_tool("wrk", "wrk")
        self.pgbench = ensure_tool("pgbench", "postgresql-contrib")
        sizes = QUICK_SIZES if self.args.quick else FULL_SIZES
        businesses = database.seeded_businesses(self.url, sizes, reseed=self.args.reseed)
        businesses = [database.issue_token(self.url, business) for business in businesses]
        big = max(businesses, key=lambda business: business.customers)
        small = min(businesses, key=lambda business: business.customers)
        ids = [business.id for business in businesses]
        database.remove_created(self.url, ids)
        # An interrupted run's charges, then the customer whose entries are listed (seeded once).
        ledgers.remove_charges(self.url, ids)
        history = ledgers.seeded_history(self.url, big.id)
        self.results["ledgers"]["history"] = asdict(history)
        self.results["environment"] = report.environment(self.url, self.wrk, self.pgbench)
        self.wait_quiet()
        sample = database.sample(self.url, big.id, ROTATION)
        id_requests = [Request("GET", f"/customers/{customer_id}") for customer_id in sample.ids]
        # Charged customers: never the one with the history, nor one the update run gives a new limit.
        charged = ledgers.charge_customers(self.url, big.id, ROTATION, {history.customer_id, *sample.ids})
        self.results["ledgers"]["charged_customers"] = len(charged)
        prefixes: set[str] = set()
        try:
            measured = [big] if big is small else [big, small]
            with MachineWatch(database.database_name(self.url)) as self.watch:
                if self.args.ledgers_only:
                    with self.serve_clientele() as app:
                        self.count_businesses(app, businesses)
                        self.ledger_latency(app, big, history)
                        self.load(app, big, sample, id_requests, prefixes, charged)
                else:
                    with self.serve_clientele() as app:
                        body = self.prepare(app, big, small, businesses, sample)
                        self.latency(app, measured, judged=big)
                        self.ledger_latency(app, big, history)
                        # Before the load runs, whose updates move `updated_at`: the plans are of the
                        # data the latency runs read.
                        self.plans(measured)
                        self.load(app, big, sample, id_requests, prefixes, charged)
                    scripts = self.references(big, sample, id_requests, body, prefixes)
                    if scripts:
                        self.in_turns(big, id_requests, scripts)
            self.results["other_work"] = self.watch.phases
        finally:
            removed = database.remove_created(self.url, ids)
            self.results["notes"].append(f"{removed} customers made by create runs were deleted after the run.")
            charges = ledgers.remove_charges(self.url, ids)
            self.results["notes"].append(
                f"{charges:,} house-account charges made by the charge runs were deleted after the run, and each "
                "charged customer's balance set back to the sum of the entries left (so to what it was before)."
            )

    def bulk(self) -> None:
        """`clientele import` against the floors under any import of the same file, then `clientele export`."""
        print(f"Bulk import and export ({self.args.import_rows:,} customers)", flush=True)
        with MachineWatch(database.database_name(self.url)) as self.watch:
            self.results["imports"] = imports.measure(
                self.url, rows=self.args.import_rows, log_dir=self.logs, phase=self.phase
            )
        self.results["other_work"] = self.results.get("other_work", {}) | self.watch.phases

    # --- issue 21: webhooks ------------------------------------------------------------------

    def webhook_phase(self) -> None:
        """Issue 21's runs, in a business of their own deleted at the end, against a local receiver: creates
        without and then with an endpoint (one right after the other), commit-to-delivery at a gentle
        rate, the serving deliverers' rate through a backlog, and `clientele deliver` alone draining a
        larger one while its memory is sampled."""
        self.wrk = self.wrk or ensure_tool("wrk", "wrk")
        print("Webhooks (issue 21)", flush=True)
        found: dict[str, Any] = {}
        self.results["webhooks"] = found
        leftover = webhooks.remove_business(self.url)
        if leftover:
            self.results["notes"].append(f"An interrupted webhook phase's business was deleted first: {leftover}.")
        # The receiver imports only the harness; `clientele deliver` keeps the caller's PYTHONPATH, as
        # `clientele serve` does, so that both run the code of the tree being measured.
        receiver_env = self.env(PYTHONPATH=str(ROOT))
        env = self.env(WEBHOOK_ALLOW_PRIVATE_NETWORKS="1")
        found["clientele_code"] = webhooks.code_of(env)
        print(f"  clientele's processes import {found['clientele_code']}", flush=True)
        with MachineWatch(database.database_name(self.url)) as self.watch, webhooks.Analyzer(self.url) as analyzer:
            try:
                business_id = database.create_business(self.url, webhooks.BUSINESS)
                business = database.issue_token(self.url, Business(customers=0, id=business_id))
                found["business_id"] = str(business.id)
                with webhooks.serving_receiver(self.logs, receiver_env) as served:
                    receiver = webhooks.Receiver(served.base_url)
                    with self.serve_clientele("clientele-webhooks", WEBHOOK_ALLOW_PRIVATE_NETWORKS="1") as app:
                        waited, seconds = webhooks.handed_out_everywhere(self.url)
                        found["earlier_events_handed_out"] = {"events": waited, "seconds": seconds}
                        self.webhook_creates(app, business, receiver)
                        self.webhook_idle(app, business, receiver)
                        self.webhook_rate(business, receiver)
                    self.webhook_backlog(business, receiver, env)
            finally:
                found["analyzed"] = analyzer.runs
                removed = webhooks.remove_business(self.url)
                found["removed"] = removed
                if removed:
                    self.results["notes"].append(
                        "The webhook phase's business was deleted after it, with its "
                        + ", ".join(f"{count:,} {table}" for table, count in removed.items() if count)
                        + "."
                    )
        self.results["other_work"] = self.results.get("other_work", {}) | self.watch.phases

    def webhook_creates(self, app: Server, business: Business, receiver: webhooks.Receiver) -> None:
        """POST /customers with no endpoint, then with one subscribed to every event: same server, same
        connections and length, one right after the other; deliveries flow during the second."""
        self.phase("webhooks: creates")
        found = self.results["webhooks"]
        prefixes: set[str] = set()
        for name, subscribed in (("webhook-create-none", False), ("webhook-create-endpoint", True)):
            if subscribed:
                found["endpoint"] = webhooks.create_endpoint(app.base_url, business.token, receiver.hook_url)
            requests = []
            for _ in ("warm-up", "run"):
                prefix = database.free_phone_prefix(self.url, business.id, 1, prefixes)
                prefixes.add(prefix)
                requests.append([create_request(prefix)])
            self.measure(
                app,
                f"{name}-warmup",
                requests[0],
                business.token,
                seconds=self.warmup,
                warm=False,
                expect_status=CREATED,
            )
            before = receiver.stats()
            run = self.measure(app, name, requests[1], business.token, warm=False, expect_status=CREATED)
            after = receiver.stats()
            label = "POST /customers, " + (
                "an endpoint subscribed to every event (deliveries to a local receiver)"
                if subscribed
                else "no endpoint"
            )
            self.results["load"][name] = run | {"label": f"{label}, the webhook phase's business"}
            if subscribed:
                delivered = after["received"] - before["received"]
                left = webhooks.owed(self.url, business.id)
                drained, seconds = webhooks.wait_drained(self.url, business.id, timeout=600)
                found["creates"] = {
                    "delivered_during_run": delivered,
                    "delivered_per_second": round(delivered / run["seconds"], 1) if run.get("seconds") else None,
                    "owed_at_end": left,
                    "drained": drained,
                    "drain_seconds": seconds,
                    "after_drain": webhooks.owed(self.url, business.id),
                }
                print(
                    f"  {'deliveries during the run, owed at its end':<42} {delivered:,}, "
                    f"{left['undispatched']:,} events not handed out, {left['pending']:,} deliveries pending; "
                    f"drained in {seconds:g} s",
                    flush=True,
                )

    def webhook_idle(self, app: Server, business: Business, receiver: webhooks.Receiver) -> None:
        """One client creating customers at a gentle rate: each event's arrival at the receiver minus its
        `timestamp` (its created_at)."""
        seconds = QUICK_IDLE_SECONDS if self.args.quick else FULL_IDLE_SECONDS
        print(f"Commit to delivery: one client, {webhooks.IDLE_RATE:g} creates/s for {seconds:g} s", flush=True)
        self.phase("webhooks: commit to delivery")
        webhooks.wait_drained(self.url, business.id, timeout=600)
        receiver.reset()
        prefix = database.free_phone_prefix(self.url, business.id, 1, set())
        sent = webhooks.send_creates(app.port, business.token, prefix, rate=webhooks.IDLE_RATE, seconds=seconds)
        created = sent["statuses"].get(CREATED, 0)
        drained = webhooks.drain(receiver, created, time.time())
        lags = webhooks.lags_ms(receiver.arrivals())
        found = sent | {"rate": webhooks.IDLE_RATE, "events": created, "delivered": drained.unique}
        found |= webhooks.percentiles(lags)
        found["owed_after"] = webhooks.owed(self.url, business.id)
        self.results["webhooks"]["idle"] = found
        print(
            f"  {'commit to delivery':<42} p50 {found['p50']} ms  p95 {found['p95']} ms  max {found['max']} ms  "
            f"({drained.unique:,} of {created:,} delivered; statuses {sent['statuses']})",
            flush=True,
        )

    def webhook_rate(self, business: Business, receiver: webhooks.Receiver) -> None:
        """A backlog committed at once, delivered by the serving workers' deliverers: events/s from its
        commit to the last arrival."""
        count = QUICK_DRAIN_EVENTS if self.args.quick else FULL_DRAIN_EVENTS
        print(f"Delivery rate: {count:,} events, the {self.args.workers} workers' deliverers", flush=True)
        self.phase("webhooks: delivery rate")
        webhooks.wait_drained(self.url, business.id, timeout=600)
        receiver.reset()
        committed = webhooks.insert_events(self.url, business.id, count, webhooks.event_template(self.url, business.id))
        drained = webhooks.drain(receiver, count, committed)
        self.results["webhooks"]["rate"] = drained.as_dict() | {"owed_after": webhooks.owed(self.url, business.id)}
        print(f"  {'delivered':<42} {webhooks.drain_line(drained)}", flush=True)

    def webhook_backlog(self, business: Business, receiver: webhooks.Receiver, env: dict[str, str]) -> None:
        """A backlog made while no deliverer runs, then drained by one `clientele deliver` whose RSS is sampled."""
        count = self.args.backlog_events
        print(f"Backlog: {count:,} events drained by one `clientele deliver`", flush=True)
        self.phase("webhooks: backlog")
        receiver.reset()
        template = webhooks.event_template(self.url, business.id)
        webhooks.insert_events(self.url, business.id, count, template)
        with webhooks.delivering(self.logs, env) as process:
            drained = webhooks.drain(receiver, count, time.time(), pid=process.pid)
            hwm = memory_mb(process.pid).get("VmHWM")
        self.results["webhooks"]["backlog"] = (
            drained.as_dict()
            | {"rss": webhooks.memory_over_drain(drained), "hwm_mb": round(hwm, 1) if hwm else None}
            | {"owed_after": webhooks.owed(self.url, business.id)}
        )
        rss = self.results["webhooks"]["backlog"]["rss"]
        print(
            f"  {'delivered':<42} {webhooks.drain_line(drained)}; RSS start {rss.get('start_mb')} MB, after "
            f"{rss.get('after_events', 0):,} {rss.get('after_first_mb')} MB, peak after them "
            f"{rss.get('peak_after_first_mb')} MB, end {rss.get('end_mb')} MB",
            flush=True,
        )

    def count_businesses(self, app: Server, businesses: list[Business]) -> None:
        """Each business's active customers, as its list's total says."""
        self.results["businesses"] = {}
        for business in businesses:
            answer = get(app.base_url, "/customers?per_page=1", business.token)
            if answer.status != 200:
                raise BenchError(f"GET /customers answered {answer.status}: {answer.body[:500]!r}")
            active = answer.json["meta"]["total"]
            self.results["businesses"][str(business.customers)] = {"id": str(business.id), "active": active}

    def prepare(
        self, app: Server, big: Business, small: Business, businesses: list[Business], sample: database.Sample
    ) -> bytes:
        """Totals, filter values and list requests for each business; the body the bare app returns."""
        self.count_businesses(app, businesses)
        for business in businesses:
            active = self.results["businesses"][str(business.customers)]["active"]
            if business not in (big, small):
                continue
            own = sample if business is big else database.sample(self.url, business.id, ROTATION)
            filters = chosen_filters(app.base_url, business.token, own)
            variants = list_variants(base_url=app.base_url, token=business.token, active=active, filters=filters)
            self.variants[business.customers] = variants
            self.captured[business.customers] = capture.capture(
                self.url, business.token, [variant.path for variant in variants]
            )
        answer = get(app.base_url, f"/customers/{sample.ids[0]}", big.token)
        if answer.status != 200:
            raise BenchError(f"GET /customers/{{id}} answered {answer.status}: {answer.body[:500]!r}")
        return answer.body

    def latency(self, app: Server, businesses: list[Business], *, judged: Business) -> None:
        """Every list request, one client at a time, at each size; at the judged size, each request's
        total statement too, timed alone right after the request's own run."""
        for business in businesses:
            print(f"Single-client latency, {business.customers:,} customers", flush=True)
            self.phase(f"latency at {business.customers:,}")
            active = self.results["businesses"][str(business.customers)]["active"]
            entries = {}
            for variant in self.variants[business.customers]:
                answer = get(app.base_url, variant.path, business.token)
                entry: dict[str, Any] = asdict(variant) | {"status": answer.status, "bytes": len(answer.body)}
                if answer.status == 200:
                    total = answer.json["meta"]["total"]
                    entry |= {
                        "total": total,
                        "share": total / active if total is not None and active else None,
                        "rows": len(answer.json["data"]),
                    }
                    entry["run"] = self.one_client(
                        app, f"latency-{business.customers}-{variant.key}", variant.path, business.token
                    )
                    if business is judged:
                        counted = self.time_total(business, variant, total)
                        if counted is not None:
                            entry["count"] = counted
                else:
                    print(f"  {variant.key:<42} HTTP {answer.status}: {answer.body[:200]!r}", flush=True)
                entries[variant.key] = entry
            self.results["latency"][str(business.customers)] = entries

    def time_total(self, business: Business, variant: Variant, total: int | None) -> dict[str, Any] | None:
        """The statement the app sent for the request's total, its parameters written in, run by pgbench
        with one client for as long as the request's own run: what PostgreSQL alone needs for that
        total. None where the request sent none (a cursor page)."""
        statement = capture.total_statement(self.captured[business.customers][variant.path].statements)
        return self.total_alone(
            statement, f"count-{business.customers}-{NOT_IN_FILE_NAMES.sub('_', variant.key)}", total
        )

    def total_alone(self, statement: capture.Statement | None, name: str, total: int | None) -> dict[str, Any] | None:
        """`statement`, a request's total, checked against the response's and run alone by pgbench."""
        if statement is None:
            return None
        sql = statement.inlined()
        found: dict[str, Any] = {
            "statement": sql,
            "source": "counters" if "customer_counts" in statement.sql else "count(*)",
        }
        try:
            # The statement must count what the response said, or it is not the request's count.
            value = database.fetch(self.url, sql)[0][0]
            if value != total:
                raise BenchError(f"the statement returned {value}, the response's meta.total is {total}")
            found["run"] = run_pgbench(
                pgbench=self.pgbench,
                dsn_args=[self.url],
                scripts=[sql + ";"],
                clients=1,
                seconds=self.args.latency_duration,
                work_dir=self.logs,
                name=name,
            ).as_dict()
        except (asyncpg.PostgresError, BenchError) as error:
            found["error"] = f"{type(error).__name__}: {error}"
        label = f"  its {found['source']} alone (pgbench)"
        shown = report.short(found["run"]) if "run" in found else f"ERROR {found['error'][:300]}"
        print(f"  {label:<42} {shown}", flush=True)
        return found

    def ledger_latency(self, app: Server, big: Business, history: ledgers.History) -> None:
        """One customer's house-account entries (HISTORY_ENTRIES of them), first page, oldest and newest
        first, one client; their totals alone and their plans as for the customer lists."""
        print(f"Single-client latency, one customer's {history.entries:,} house-account entries", flush=True)
        self.phase("ledger latency")
        path = f"{ledgers.PATH}?filter[customer_id]={history.customer_id}"
        variants = [
            Variant("entries-first-page", "GET /house_account_transactions filter[customer_id]", path, "ledger"),
            Variant(
                "entries-latest-first",
                "GET /house_account_transactions filter[customer_id] sort=-created_at",
                f"{path}&sort=-created_at",
                "ledger",
            ),
        ]
        captured = capture.capture(self.url, big.token, [variant.path for variant in variants])
        entries = {}
        for variant in variants:
            answer = get(app.base_url, variant.path, big.token)
            entry: dict[str, Any] = asdict(variant) | {"status": answer.status, "bytes": len(answer.body)}
            if answer.status != 200:
                print(f"  {variant.key:<42} HTTP {answer.status}: {answer.body[:200]!r}", flush=True)
                entries[variant.key] = entry
                continue
            total = answer.json["meta"]["total"]
            entry |= {"total": total, "rows": len(answer.json["data"])}
            entry["run"] = self.one_client(app, f"latency-{variant.key}", variant.path, big.token)
            statements = [
                statement for statement in captured[variant.path].statements if capture.reads(statement, ledgers.TABLES)
            ]
            counted = self.total_alone(
                next((s for s in statements if capture.TOTAL_STATEMENT.search(s.sql)), None),
                f"count-{variant.key}",
                total,
            )
            if counted is not None:
                entry["count"] = counted
            try:
                entry["plans"] = [asdict(plan) for plan in capture.explain_all(self.url, statements)]
            except Exception as error:  # a plan that cannot be had is reported, not fatal
                entry["plans_error"] = f"{type(error).__name__}: {error}"
            entries[variant.key] = entry
        self.results["ledgers"]["latency"] = entries

    def load(
        self,
        app: Server,
        big: Business,
        sample: database.Sample,
        id_requests: list[Request],
        prefixes: set[str],
        charged: list[uuid.UUID],
    ) -> None:
        """Throughput at the big business, server memory, the long 64-connection run and the contended
        charges (only the create, charge and contended runs with --ledgers-only)."""
        print(
            f"Load runs ({self.args.connections} connections, {self.args.duration:g} s each, "
            f"{big.customers:,} customers)",
            flush=True,
        )
        self.phase("load runs")
        runs: list[tuple[str, str, list[Request]]] = []
        if not self.args.ledgers_only:
            variants = {variant.key: variant for variant in self.variants[big.customers]}
            runs += [
                ("get-by-id", "GET /customers/{id}", id_requests),
                ("list-first-page", "GET /customers", [Request("GET", "/customers")]),
            ]
            for name in ALL_FILTERS:
                variant = variants.get(f"filter[{name}]:narrow") or variants.get(f"filter[{name}]:true")
                if variant is not None:
                    runs.append(
                        (f"list-filter-{name}", f"GET /customers {variant.label}", [Request("GET", variant.path)])
                    )
            for key, label in (
                ("include", "GET /customers include=tags,addresses"),
                ("deep-offset", "GET /customers deep page by offset"),
                ("deep-cursor", "GET /customers deep page by cursor"),
            ):
                if key in variants:
                    runs.append((f"list-{key}", label, [Request("GET", variants[key].path)]))
        prefix = database.free_phone_prefix(self.url, big.id, 1, prefixes)
        prefixes.add(prefix)
        runs.append(("create", "POST /customers", [create_request(prefix)]))
        # Right after the create run that its target compares it to, in the same conditions.
        runs.append(
            (
                "house-account-charge",
                f"POST /house_account_transactions (a charge of {ledgers.CHARGE_AMOUNT}, {len(charged)} customers)",
                [ledgers.charge_request(customer_id) for customer_id in charged],
            )
        )
        if not self.args.ledgers_only:
            runs.append(
                (
                    "update",
                    "PUT /customers/{id}",
                    [Request("PUT", request.path, '{"house_account_limit": {num}}') for request in id_requests],
                )
            )
        workers = app.worker_pids()
        with RssSampler(workers) as sampler:
            for name, label, requests in runs:
                expect = CREATED if requests[0].method == "POST" else None
                self.results["load"][name] = self.measure(app, name, requests, big.token, expect_status=expect) | {
                    "label": label
                }
        self.results["rss"]["workers"] = len(workers)
        self.results["rss"]["peak_under_load_mb"] = round(max(sampler.peak.values(), default=0), 1)
        self.results["rss"]["after_load_mb"] = [round(sampler.last.get(pid, 0), 1) for pid in workers]
        if self.args.ledgers_only:
            self.contention(app, big, charged)
            return
        self.big_pages(app, big, workers)
        print(f"Soak: {self.args.soak_connections} connections for {self.args.soak_seconds:g} s", flush=True)
        self.phase("soak")
        with RssSampler(workers) as sampler:
            self.results["load"]["soak"] = self.measure(
                app,
                "soak",
                id_requests,
                big.token,
                connections=self.args.soak_connections,
                seconds=self.args.soak_seconds,
            ) | {
                "label": f"GET /customers/{{id}}, {self.args.soak_connections} "
                f"connections, {self.args.soak_seconds:g} s"
            }
        self.results["rss"]["peak_soak_mb"] = round(max(sampler.peak.values(), default=0), 1)
        self.contention(app, big, charged)

    def contention(self, app: Server, big: Business, charged: list[uuid.UUID]) -> None:
        """As many connections as customers charging them for the run's length: every charge of one
        customer waits for that customer's row. Then each balance is checked against its entries, and
        the entries the run added against the 201s wrk counted."""
        connections = self.args.contention_connections
        customers = charged[:connections]
        seconds = self.args.contention_seconds
        print(f"Contended charges: {connections} connections, {len(customers)} customers, {seconds:g} s", flush=True)
        self.phase("contended charges")
        requests = [ledgers.charge_request(customer_id) for customer_id in customers]
        self.measure(
            app,
            "charge-contention-warmup",
            requests,
            big.token,
            connections=connections,
            seconds=self.warmup,
            warm=False,
            expect_status=CREATED,
        )
        # Settled, as after the run: the warm-up's last charges may still wait in the server (for a
        # connection of the key pool, or between a fast path's two statements), where the wait for no
        # active query does not see them.
        before = ledgers.settled_count(self.url, big.id, customers)
        run = self.measure(
            app,
            "charge-contention",
            requests,
            big.token,
            connections=connections,
            seconds=seconds,
            warm=False,
            expect_status=CREATED,
        )
        added = ledgers.settled_count(self.url, big.id, customers) - before
        checked = ledgers.check_ledgers(self.url, big.id, customers)
        self.results["load"]["charge-contention"] = run | {
            "label": f"POST /house_account_transactions, {connections} connections charging the same "
            f"{len(customers)} customers, {seconds:g} s"
        }
        self.results["ledgers"]["contention"] = {
            "connections": connections,
            "customers": len(customers),
            "entries_added": added,
            "created_counted": run.get("expected"),
            "check": checked,
        }
        print(
            f"  {'entries added, 201s counted by wrk':<42} {added:,}, {run.get('expected')}; balances "
            + ("each the sum of its entries" if checked["consistent"] else f"NOT their sums: {checked}"),
            flush=True,
        )

    def big_pages(self, app: Server, big: Business, workers: list[int]) -> None:
        """1000-row pages with includes, three rounds: memory must neither pass the cap nor keep growing."""
        path = list_path(per_page=1000, include="tags,addresses")
        rounds = []
        for round_number in (1, 2, 3):
            with RssSampler(workers) as sampler:
                before = dict(sampler.last)
                run = self.measure(
                    app, f"page-1000-includes-{round_number}", [Request("GET", path)], big.token, warm=False
                )
            rounds.append(
                {
                    "before_mb": [round(before.get(pid, 0), 1) for pid in workers],
                    "peak_mb": [round(sampler.peak.get(pid, 0), 1) for pid in workers],
                    "after_mb": [round(sampler.last.get(pid, 0), 1) for pid in workers],
                }
            )
            self.results["load"][f"page-1000-includes-{round_number}"] = run | {
                "label": f"GET /customers per_page=1000 include=tags,addresses (round {round_number})"
            }
        self.results["rss"]["page_1000_rounds"] = rounds

    def references(
        self, big: Business, sample: database.Sample, id_requests: list[Request], body: bytes, prefixes: set[str]
    ) -> list[str]:
        """Every reference; the pgbench scripts of the GET route's read by key (none if it could not be captured)."""
        print("References", flush=True)
        self.phase("references")
        body_file = self.logs / "customer_body.json"
        body_file.write_bytes(body)
        references = self.results["references"]
        with self.serve_reference("bare_asgi", "bench.baselines.bare_asgi", BENCH_BODY_FILE=str(body_file)) as bare:
            references["bare_asgi"] = self.measure(bare, "bare-asgi", id_requests, big.token) | {
                "label": f"bare ASGI, pre-serialised body of {len(body)} bytes"
            }
        # The same without uvicorn's access log, which `clientele serve` turns off too: the like-for-like
        # HTTP ceiling, and what that log costs.
        with self.serve_reference(
            "bare_asgi_quiet", "bench.baselines.bare_asgi", "--no-access-log", BENCH_BODY_FILE=str(body_file)
        ) as bare:
            references["bare_asgi_quiet"] = self.measure(bare, "bare-asgi-no-access-log", id_requests, big.token) | {
                "label": "bare ASGI without the access log"
            }
        # HTTP and one driver round trip, nothing else: where uvicorn and asyncpg alone stand
        # between the two ceilings above.
        with self.serve_reference(
            "asyncpg_asgi",
            "bench.baselines.asyncpg_asgi",
            "--no-access-log",
            BENCH_BODY_FILE=str(body_file),
            BENCH_DSN=self.url,
        ) as bare:
            references["asyncpg_asgi"] = self.measure(bare, "bare-asgi-asyncpg", id_requests, big.token) | {
                "label": "bare ASGI without the access log, sending the GET statement through asyncpg"
            }
        scripts = self.pgbench_ceiling(big, sample)
        with self.serve_reference("orm_app", "bench.baselines.orm_app") as orm:
            references["orm_get"] = self.measure(orm, "orm-get", id_requests, big.token) | {
                "label": "FastAPI + ORM baseline: GET /customers/{id}"
            }
            prefix = database.free_phone_prefix(self.url, big.id, 1, prefixes)
            prefixes.add(prefix)
            references["orm_create"] = self.measure(
                orm, "orm-create", [create_request(prefix)], big.token, expect_status=CREATED
            ) | {"label": "FastAPI + ORM baseline: POST /customers"}
        return scripts

    def in_turns(self, big: Business, id_requests: list[Request], scripts: list[str]) -> None:
        """GET by id and pgbench's read by key one after the other, IN_TURNS_ROUNDS times: each pair is
        measured seconds apart, where the load runs and the references are minutes apart, on a machine
        whose speed drifts."""
        print(f"GET by id and pgbench in turns ({IN_TURNS_ROUNDS} rounds)", flush=True)
        self.phase("in turns")
        rounds = []
        with self.serve_clientele() as app:
            for number in range(1, IN_TURNS_ROUNDS + 1):
                get = self.measure(app, f"turns-get-{number}", id_requests, big.token)
                rounds.append({"get": get, "pgbench": self.pgbench_run(f"turns-pgbench-{number}", scripts)})
        self.results["in_turns"] = rounds

    def pgbench_ceiling(self, big: Business, sample: database.Sample) -> list[str]:
        """pgbench with the statements the GET route sends, captured from the app, over the same ids;
        the scripts of its read by key."""
        path = f"/customers/{sample.ids[0]}"
        captured = capture.capture(self.url, big.token, [path])[path]
        select = [
            statement
            for statement in captured.statements
            if capture.touches_customers(statement) and sample.ids[0] in statement.parameters
        ]
        if captured.status == 200 and not captured.statements:
            # Answered by its fast path, which sends its one statement outside the engine: here, as it
            # is sent for a request alone.
            read = CUSTOMERS_WITH_TOKENS.bind(token_hashes=[hash_token(big.token)], ids=[sample.ids[0]], now=utcnow())
            select = [capture.Statement(sql=read.sql, parameters=read.arguments)]
            captured = capture.Captured(status=200, statements=select)
        if captured.status != 200 or not select:
            self.results["notes"].append("pgbench: the GET route's SELECT could not be captured.")
            return []
        scripts = []
        routes = []
        for customer_id in sample.ids[:PGBENCH_MAX_SCRIPTS]:
            swapped = [with_id(statement, sample.ids[0], customer_id) for statement in captured.statements]
            scripts.append(with_id(select[0], sample.ids[0], customer_id).inlined() + ";")
            routes.append("BEGIN;\n" + "".join(statement.inlined() + ";\n" for statement in swapped) + "COMMIT;")
        self.results["pgbench_statements"] = {
            "select": select[0].inlined(),
            "route": [statement.inlined() for statement in captured.statements],
        }
        for name, chosen, label in (
            ("pgbench_get", scripts, "pgbench: the GET route's SELECT by key"),
            ("pgbench_route", routes, "pgbench: all of the GET route's statements, in one transaction"),
        ):
            self.results["references"][name] = self.pgbench_run(name, chosen) | {"label": label}
        return scripts

    def pgbench_run(self, name: str, scripts: list[str]) -> dict[str, Any]:
        """One pgbench run with the load runs' clients and length; an error is recorded, not raised."""
        try:
            result = run_pgbench(
                pgbench=self.pgbench,
                dsn_args=[self.url],
                scripts=scripts,
                clients=self.args.connections,
                seconds=self.args.duration,
                work_dir=self.logs,
                name=name,
            ).as_dict()
        except BenchError as error:
            result = {"error": str(error)}
        print(f"  {name:<42} {report.short(result)}", flush=True)
        return result

    def plans(self, businesses: list[Business]) -> None:
        """EXPLAIN (ANALYZE, BUFFERS) of the count and page queries of every list request at each size."""
        for business in businesses:
            self.plans_at(business)

    def plans_at(self, business: Business) -> None:
        print(f"Plans of the list queries at {business.customers:,} customers", flush=True)
        captured = self.captured[business.customers]
        for variant in self.variants[business.customers]:
            entry = self.results["latency"][str(business.customers)][variant.key]
            statements = [
                statement for statement in captured[variant.path].statements if capture.touches_customers(statement)
            ]
            try:
                entry["plans"] = [asdict(plan) for plan in capture.explain_all(self.url, statements)]
            except Exception as error:  # a plan that cannot be had is reported, not fatal
                entry["plans_error"] = f"{type(error).__name__}: {error}"
            flags = sorted({flag for plan in entry.get("plans", []) for flag in plan["flags"]})
            print(f"  {variant.key:<42} {', '.join(flags) or 'no Seq Scan'}", flush=True)


def create_request(prefix: str) -> Request:
    """A create whose phone is unique per request: a free prefix, then the wrk thread and a counter."""
    return Request(
        "POST",
        "/customers",
        f'{{"name": "{database.CREATED_NAME} {{seq}}", "dial_code": 1, "phone": "{prefix}{{seq}}"}}',
    )


def with_id(statement: capture.Statement, old: uuid.UUID, new: uuid.UUID) -> capture.Statement:
    def swapped(value: Any) -> Any:
        if isinstance(value, list):
            return [swapped(item) for item in value]
        return new if value == old else value

    return capture.Statement(sql=statement.sql, parameters=tuple(swapped(value) for value in statement.parameters))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        Harness(args).run()
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("bench: interrupted; every process it started has been stopped", file=sys.stderr)
        sys.exit(130)
