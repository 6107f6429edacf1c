"""The results of a run: the issue's targets judged, and bench/results/latest.md and latest.json."""

import json
import os
import platform
import re
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bench import database

PACKAGES = ("fastapi", "starlette", "uvicorn", "uvloop", "httptools", "sqlalchemy", "asyncpg", "pydantic", "orjson")
ROOT = Path(__file__).resolve().parent.parent
RAW_JSON = "raw/latest.json"  # beside latest.md, in a folder git ignores
# A 1000-row page "does not grow" memory when its last round adds at most this to any worker.
PLATEAU_MB = 5.0
RSS_CAP_MB = 250.0
INDEX_SCAN = re.compile(r"Index (?:Only )?Scan(?: Backward)? (?:using|on) (\w+)")
# The app's runs that the ORM baseline also serves, and its run of the same route.
ORM_ROUTE = {"get-by-id": "orm_get", "soak": "orm_get", "create": "orm_create"}
# The targets of issue 18: those of issue 3 that stand, and those it restated; and those issue 20 added.
UNCHANGED, RESTATED, ADDED = "unchanged", "restated", "added by issue 20"
JUDGED_CUSTOMERS = 1_000_000  # the list targets are set at this many customers
FIRST_PAGE_MS = 20.0
LIST_MS = 50.0
# Where PostgreSQL alone needs longer to count a filter exactly, a request may take this much of
# that count's p95, plus this much for everything else.
COUNT_FACTOR = 1.5
COUNT_ALLOWANCE_MS = 20.0
# An import of this many rows at this share, at least, of the lower floor's rows/s.
IMPORT_TARGET_ROWS = 1_000_000
IMPORT_TARGET_SHARE = 0.5
# Issue 20: a house-account charge at this share, at least, of a customer create's req/s; one
# customer's entries listed within this p95 at this many entries.
CHARGE_SHARE = 0.5
ENTRIES_MS = 20.0
ENTRIES_AT = 100_000
CONTENTION_P99_OVER_P50 = 10


def first_line(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError:
        return "?"
    return ((result.stdout or result.stderr).strip().splitlines() or ["?"])[0]


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "-"


def environment(url: str, wrk: str, pgbench: str) -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = int(
        next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    )
    commit = first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = first_line(["git", "-C", str(ROOT), "status", "--porcelain"]) not in ("", "?")
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "packages": {name: package_version(name) for name in PACKAGES},
        "postgresql": database.server_version(url).split(" on ")[0],
        "postgresql_settings": database.server_settings(url),
        "database": database.database_name(url),
        "wrk": first_line([wrk, "-v"]).split(" Copyright")[0],
        "pgbench": first_line([pgbench, "--version"]),
        "commit": commit + (" + uncommitted changes" if dirty else ""),
    }


# --- formatting ----------------------------------------------------------------------------


def ms(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 10:
        return f"{value:.2f}"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def ok(run: dict[str, Any] | None) -> bool:
    return bool(run) and "error" not in run and run.get("rps") is not None


def short(run: dict[str, Any]) -> str:
    if not ok(run):
        return f"ERROR {run.get('error', '')[:300]}"
    return (
        f"{run['rps']:>9,.1f} req/s  p50 {ms(run['p50'])} ms  p95 {ms(run['p95'])} ms  "
        f"p99 {ms(run['p99'])} ms  errors {run['errors']}"
    )


def share(part: float, whole: float) -> str:
    return f"{part / whole:.1%}"


def times(part: float, whole: float) -> str:
    return f"{part / whole:.2f}×"


# --- targets -------------------------------------------------------------------------------


def target(kind: str, text: str, figure: str, met: bool | None) -> dict[str, Any]:
    """One target of issue 18: `kind` says whether it stands from issue 3 or was restated."""
    return {"kind": kind, "target": text, "figure": figure, "met": met}


def rps_ratio(
    text: str,
    run: dict[str, Any] | None,
    reference: dict[str, Any] | None,
    minimum: float,
    as_share: bool = False,
) -> dict[str, Any]:
    if not (ok(run) and ok(reference)):
        return target(UNCHANGED, text, "not measured", None)
    assert run is not None and reference is not None
    ratio = run["rps"] / reference["rps"]
    shown = f"{ratio:.0%}" if as_share else f"{ratio:.2f}×"
    return target(UNCHANGED, text, f"{shown} ({run['rps']:,.0f} vs {reference['rps']:,.0f} req/s)", ratio >= minimum)


def with_stack_ceiling(
    found: dict[str, Any], stack: dict[str, Any] | None, pgbench: dict[str, Any] | None
) -> dict[str, Any]:
    """The GET target's figure, with where uvicorn and asyncpg alone stand against the same ceiling."""
    if not (ok(stack) and ok(pgbench)):
        return found
    assert stack is not None and pgbench is not None
    return found | {
        "figure": f"{found['figure']}; bare ASGI sending the same statement through asyncpg: "
        f"{stack['rps'] / pgbench['rps']:.0%} ({stack['rps']:,.0f} req/s)"
    }


def with_turns(found: dict[str, Any], rounds: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The GET target's figure, with the shares of the pgbench ceiling measured in turns (reported, not judged)."""
    shares = [
        pair["get"]["rps"] / pair["pgbench"]["rps"] for pair in rounds or [] if ok(pair["get"]) and ok(pair["pgbench"])
    ]
    if not shares:
        return found
    return found | {
        "figure": f"{found['figure']}; in turns, each GET run right before a pgbench run: "
        f"{', '.join(f'{share:.0%}' for share in shares)} "
        f"(median {statistics.median(shares):.0%})"
    }


def judged_latency(results: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The largest business measured, and its list requests: the list targets are set at 1M."""
    size = max(results["latency"], key=int)
    return int(size), results["latency"][size]


def total_p95(entry: dict[str, Any]) -> float | None:
    """The p95 of the request's total statement run alone by pgbench, where it was timed."""
    run = (entry.get("count") or {}).get("run")
    return run["p95"] if ok(run) else None


def list_bound_ms(entry: dict[str, Any]) -> float:
    """The p95 a sort or filter must stay within: 50 ms, or more where its own total alone needs it."""
    counted = total_p95(entry)
    return LIST_MS if counted is None else max(LIST_MS, COUNT_FACTOR * counted + COUNT_ALLOWANCE_MS)


def bound_ms(entry: dict[str, Any]) -> float | None:
    """The p95 a list request must stay within, where a target sets one."""
    if entry["key"] == "first-page":
        return FIRST_PAGE_MS
    return list_bound_ms(entry) if entry["kind"] in ("sort", "filter") else None


def not_judged(size: int) -> str:
    return f"; not judged: the largest business has {size:,} customers, the target is at {JUDGED_CUSTOMERS:,}"


def first_page_target(results: dict[str, Any]) -> dict[str, Any]:
    size, entries = judged_latency(results)
    text = f"unfiltered first page p95 ≤ {FIRST_PAGE_MS:g} ms (one client, {JUDGED_CUSTOMERS:,} customers)"
    run = entries.get("first-page", {}).get("run")
    if not ok(run):
        return target(UNCHANGED, text, "not measured", None)
    assert run is not None
    figure = f"p95 {ms(run['p95'])} ms"
    if size < JUDGED_CUSTOMERS:
        return target(UNCHANGED, text, figure + not_judged(size), None)
    return target(UNCHANGED, text, figure, run["p95"] <= FIRST_PAGE_MS)


def list_target(results: dict[str, Any], kind: str, named: str) -> dict[str, Any]:
    """Every request of one kind (sort, filter) within its bound: 50 ms, or more where its own count needs it."""
    size, entries = judged_latency(results)
    text = (
        f"every {named} at {JUDGED_CUSTOMERS:,} customers: p95 ≤ {LIST_MS:g} ms, or ≤ {COUNT_FACTOR:g} × the p95 "
        f"of its own total statement run alone + {COUNT_ALLOWANCE_MS:g} ms (one client)"
    )
    chosen = [entry for entry in entries.values() if entry["kind"] == kind]
    failed = [entry["key"] for entry in chosen if entry.get("status") != 200 or not ok(entry.get("run"))]
    timed = [entry for entry in chosen if entry["key"] not in failed]
    if not timed:
        return target(RESTATED, text, "not measured", None)

    def against_bound(entry: dict[str, Any]) -> str:
        counted = total_p95(entry)
        alone = f"its total alone {ms(counted)} ms" if counted is not None else "its total not timed"
        return f"{entry['key']} p95 {ms(entry['run']['p95'])} ms, bound {ms(list_bound_ms(entry))} ms ({alone})"

    over = [entry for entry in timed if entry["run"]["p95"] > list_bound_ms(entry)]
    by_count = [entry for entry in timed if list_bound_ms(entry) > LIST_MS]
    figure = f"{len(timed) - len(over)} of {len(chosen)} within their bound"
    if by_count:
        figure += f" (for {len(by_count)}, the bound is set by their own count)"
    if over:
        figure += "; over it: " + "; ".join(against_bound(entry) for entry in over)
    else:
        # How much room the tightest one had.
        tightest = max(timed, key=lambda entry: entry["run"]["p95"] / list_bound_ms(entry))
        figure += "; closest to its bound: " + against_bound(tightest)
    if failed:
        figure += f"; failed: {', '.join(failed)}"
    if size < JUDGED_CUSTOMERS:
        return target(RESTATED, text, figure + not_judged(size), None)
    return target(RESTATED, text, figure, not over and not failed)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    found = http_targets(results) if results["latency"] else []
    if results.get("ledgers"):
        found += ledger_targets(results)
    if results.get("webhooks"):
        found += webhook_targets(results)
    if "imports" in results:
        found.append(import_target(results["imports"]))
    return found


def lower_floor(bulk: dict[str, Any]) -> tuple[str, float] | None:
    """The lower of the two floors under any import: its name and rows/s."""
    indexed, alone = bulk.get("indexed_after"), bulk.get("checks_alone")
    if not (indexed and alone):
        return None
    return min(
        ("indexed after loading", indexed["rows_per_second"]),
        (f"the checks alone on {alone['cores']} cores", alone["rows_per_second"]),
        key=lambda floor: floor[1],
    )


def import_target(bulk: dict[str, Any]) -> dict[str, Any]:
    text = (
        f"import of {IMPORT_TARGET_ROWS:,} rows at ≥ {IMPORT_TARGET_SHARE:.0%} of the rows/s of the lower of the "
        "two floors (indexed after loading; the checks alone on every core)"
    )
    run, floor = bulk.get("import"), lower_floor(bulk)
    if not (run and floor):
        return target(RESTATED, text, "not measured", None)
    name, rows_per_second = floor
    ratio = run["rows_per_second"] / rows_per_second
    complete = run["rejected"] == 0 and run["stored"] == run["rows"]
    figure = (
        f"{ratio:.0%} ({run['rows_per_second']:,.0f} vs {rows_per_second:,.0f} rows/s, {name}; "
        f"{run['stored']:,} of {run['rows']:,} rows stored, {run['rejected']} rejected)"
    )
    if run["rows"] < IMPORT_TARGET_ROWS:
        return target(
            RESTATED, text, f"{figure}; not judged: the file had fewer than {IMPORT_TARGET_ROWS:,} rows", None
        )
    return target(
        RESTATED,
        text,
        figure if complete else f"{figure}; not every row was stored",
        ratio >= IMPORT_TARGET_SHARE and complete,
    )


def http_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    load, references, rss = results["load"], results["references"], results["rss"]
    found = [
        rps_ratio("GET by id ≥ 4× the baseline's req/s", load.get("get-by-id"), references.get("orm_get"), 4),
        with_turns(
            with_stack_ceiling(
                rps_ratio(
                    "GET by id ≥ 25% of the pgbench ceiling",
                    load.get("get-by-id"),
                    references.get("pgbench_get"),
                    0.25,
                    as_share=True,
                ),
                references.get("asyncpg_asgi"),
                references.get("pgbench_get"),
            ),
            results.get("in_turns"),
        ),
        rps_ratio("POST create ≥ 3× the baseline's create req/s", load.get("create"), references.get("orm_create"), 3),
        first_page_target(results),
        list_target(results, "sort", "sort"),
        list_target(results, "filter", "filter value (each filter: narrow and broad, or true and false)"),
    ]
    rounds = rss.get("page_1000_rounds", [])
    peaks = [
        rss.get("peak_under_load_mb", 0),
        rss.get("peak_soak_mb", 0),
        *(value for round_ in rounds for value in round_["peak_mb"]),
    ]
    found.append(
        target(
            UNCHANGED,
            f"server RSS per worker ≤ {RSS_CAP_MB:.0f} MB under load",
            f"peak {max(peaks):.0f} MB",
            max(peaks) <= RSS_CAP_MB,
        )
    )
    if len(rounds) >= 2:
        steps = [
            max(after - before for before, after in zip(round_["before_mb"], round_["after_mb"], strict=True))
            for round_ in rounds
        ]
        shown = ", ".join(f"{step:+.0f}" for step in steps)
        found.append(
            target(
                UNCHANGED,
                "a 1000-row page with includes does not grow RSS",
                f"RSS change per round ({len(rounds)} rounds of {results['settings']['duration']} s): {shown} MB "
                f"(worst worker; the last round must add ≤ {PLATEAU_MB:g} MB), peak "
                f"{max(value for r in rounds for value in r['peak_mb']):.0f} MB",
                steps[-1] <= PLATEAU_MB and max(peaks) <= RSS_CAP_MB,
            )
        )
    soak = load.get("soak")
    if ok(soak):
        assert soak is not None
        found.append(
            target(
                UNCHANGED,
                "64 connections for 60 s: no error",
                f"{soak['errors']} errors in {soak['requests']:,} requests ({soak['seconds']:g} s)",
                soak["errors"] == 0,
            )
        )
        ratio = soak["p99"] / soak["p50"] if soak["p50"] else float("inf")
        found.append(
            target(
                UNCHANGED,
                "64 connections for 60 s: p99 ≤ 10× p50",
                f"{ratio:.1f}× (p50 {ms(soak['p50'])} ms, p99 {ms(soak['p99'])} ms)",
                ratio <= 10,
            )
        )
    else:
        found.append(target(UNCHANGED, "64 connections for 60 s", "not measured", None))
    return found


def ledger_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 20's: charges against creates, contended charges, one customer's entries listed."""
    load, ledgers = results["load"], results["ledgers"]
    found = []
    text = (
        f"POST /house_account_transactions (a charge, accepted: 201) ≥ {CHARGE_SHARE:.0%} of POST /customers' "
        "req/s, same connections and length"
    )
    charge, create = load.get("house-account-charge"), load.get("create")
    if ok(charge) and ok(create):
        assert charge is not None and create is not None
        ratio = charge["rps"] / create["rps"]
        figure = f"{ratio:.0%} ({charge['rps']:,.0f} vs {create['rps']:,.0f} req/s); {charge['errors']} errors"
        if create["errors"]:
            figure += f" ({create['errors']} errors in the create run)"
        found.append(target(ADDED, text, figure, ratio >= CHARGE_SHARE and not charge["errors"]))
    else:
        found.append(target(ADDED, text, "not measured", None))
    contended, run = ledgers.get("contention"), load.get("charge-contention")
    text = (
        "64 connections charging the same 64 customers for 30 s: no error, p99 ≤ "
        f"{CONTENTION_P99_OVER_P50}× p50, each balance the sum of its entries, an entry for each 201"
    )
    if contended and ok(run):
        assert run is not None
        found.append(contention_target(text, contended, run))
    else:
        found.append(target(ADDED, text, "not measured", None))
    text = (
        f"one customer's {ENTRIES_AT:,} house-account entries, first page (default sort, and sort=-created_at): "
        f"p95 ≤ {ENTRIES_MS:g} ms (one client)"
    )
    entries = list(ledgers.get("latency", {}).values())
    timed = [entry for entry in entries if entry.get("status") == 200 and ok(entry.get("run"))]
    if not entries or len(timed) < len(entries):
        found.append(target(ADDED, text, "not measured" if not entries else "a request failed", None))
    else:
        figure = "; ".join(
            f"{entry['key']} p95 {ms(entry['run']['p95'])} ms (total {entry['total']:,}"
            + (f", its count alone {ms(total_p95(entry))} ms" if total_p95(entry) is not None else "")
            + ")"
            for entry in timed
        )
        complete = all(entry["total"] >= ENTRIES_AT for entry in timed)
        met = all(entry["run"]["p95"] <= ENTRIES_MS for entry in timed)
        if not complete:
            found.append(target(ADDED, text, f"{figure}; not judged: fewer than {ENTRIES_AT:,} entries", None))
        else:
            found.append(target(ADDED, text, figure, met))
    return found


def contention_target(text: str, contended: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    check = contended["check"]
    ratio = run["p99"] / run["p50"] if run["p50"] else float("inf")
    added, counted = contended["entries_added"], contended["created_counted"]
    # wrk counts the responses it read; a request in flight when it stopped (one at most per
    # connection) may still commit its entry.
    in_flight = added - counted if counted is not None else None
    entries_match = in_flight is not None and 0 <= in_flight <= contended["connections"]
    figure = (
        f"{run['errors']} errors in {run['requests']:,} requests ({run['seconds']:g} s, {run['rps']:,.0f} req/s); "
        f"p99 {ratio:.1f}× p50 ({ms(run['p50'])} vs {ms(run['p99'])} ms); "
        + (
            f"all {check['customers']} balances the sum of their entries, every balance_after the running sum"
            if check["consistent"]
            else f"balances off their sums: {len(check['balances_off'])}, customers with a balance_after off the "
            f"running sum: {len(check['balance_after_off'])} of {check['customers']}"
        )
        + f"; {added:,} entries added, {counted if counted is not None else '?':,} 201s counted by wrk"
        + (
            f" ({in_flight} in flight when wrk stopped, ≤ {contended['connections']})"
            if entries_match
            else " (**more 201s than entries, or more entries than requests in flight could explain**)"
        )
    )
    met = not run["errors"] and ratio <= CONTENTION_P99_OVER_P50 and check["consistent"] and entries_match
    return target(ADDED, text, figure, met)


# --- the Markdown --------------------------------------------------------------------------


def verdict(met: bool | None) -> str:
    return {True: "**met**", False: "**not met**", None: "–"}[met]


def throughput_table(results: dict[str, Any]) -> str:
    references, load = results["references"], results["load"]
    bare, pgbench = references.get("bare_asgi"), references.get("pgbench_get")
    lines = [
        "| run | req/s | p50 ms | p95 ms | p99 ms | errors | of bare ASGI | of pgbench | × ORM baseline |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def row(run: dict[str, Any], orm: dict[str, Any] | None) -> str:
        if not ok(run):
            return f"| {run.get('label', '?')} | error: {run.get('error', '')[:120]!r} | | | | | | | |"
        cells = [
            run["label"],
            f"{run['rps']:,.0f}",
            ms(run["p50"]),
            ms(run["p95"]),
            ms(run["p99"]),
            str(run["errors"]),
            share(run["rps"], bare["rps"]) if ok(bare) and bare is not None else "–",
            share(run["rps"], pgbench["rps"]) if ok(pgbench) and pgbench is not None else "–",
            times(run["rps"], orm["rps"]) if ok(orm) and orm is not None else "–",
        ]
        return "| " + " | ".join(cells) + " |"

    for name in (
        "bare_asgi",
        "bare_asgi_quiet",
        "asyncpg_asgi",
        "pgbench_get",
        "pgbench_route",
        "orm_get",
        "orm_create",
    ):
        if name in references:
            lines.append(row(references[name] | {"label": f"*reference:* {references[name]['label']}"}, None))
    for name, run in load.items():
        lines.append(row(run, references.get(ORM_ROUTE[name]) if name in ORM_ROUTE else None))
    return "\n".join(lines)


def bulk_section(bulk: dict[str, Any]) -> str:
    """The import against the floors under any import of the same file (and the raw COPY and the
    database's part beside them), and the export."""
    file, copy, run, export = bulk["file"], bulk.get("raw_copy"), bulk.get("import"), bulk.get("export")
    part, indexed, alone = bulk.get("database_part"), bulk.get("indexed_after"), bulk.get("checks_alone")
    text = (
        f"One CSV file of {bulk['rows']:,} customers ({file['megabytes']} MB, written in "
        f"{file['seconds_to_write']} s by the generator `clientele seed` uses), with the {len(file['columns'])} "
        "columns `clientele import` reads. *Raw COPY*: psql `\\copy … FROM pstdin WITH (FORMAT csv, HEADER "
        "true)` into a bare table, a plain logged table with the file's columns typed as in `customers` and no "
        f"key, index, constraint or trigger (`{bulk['bare_table']}`), dropped afterwards. *The database's "
        "part*: psql `\\copy` of the file into a temporary table of the same columns, then one `INSERT … "
        "SELECT` from it into `customers` for a fresh business (ids made in SQL as the API makes them, "
        "ON CONFLICT DO NOTHING on active phones), no row checked: the work the database does for any import "
        "into `customers`, with its indexes and counters; its customers stay in the table while the import "
        "runs. *Import*: `clientele import FILE --business ID` (default batch size and jobs) into another "
        "fresh business, through the API's checks into `customers`. *Export*: `clientele export "
        "--business ID --format csv --output FILE` of that business. Each is the wall-clock time of the "
        "command, start-up included, after a CHECKPOINT; the export runs after a VACUUM of what the import "
        "wrote. Peak RSS and CPU are the command's and every process it starts (the database server's are "
        "not counted; RSS sampled every 0.2 s); the largest process is the highest peak (VmHWM) of any one "
        "of them. The businesses are deleted at the end. Two floors under any import, whatever its design: "
        "*indexed after loading*, psql `\\copy` of the file into an unindexed table of `customers`' shape (ids, "
        "stamps and lowered columns made as there), then every index `customers` has built on it with "
        "`maintenance_work_mem` 1GB, as a fresh partition would be before it is attached; *the checks alone*, "
        "the API's checks of an import (`prepare_chunk`) on the file's first rows in the harness's process, "
        "and that rate on every core of the machine (computed, not run on every core). The import's target is "
        "a share of the lower of the two floors."
    )
    floor = lower_floor(bulk)
    lines = [
        "| run | rows | seconds | rows/s | of raw COPY | of the database's part | of the lower floor | peak RSS MB "
        "| largest process MB | CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, entry in (
        ("raw COPY (psql \\copy into a bare table)", copy),
        ("indexed after loading (psql \\copy, then CREATE INDEX)", indexed),
        ("the database's part (psql \\copy and INSERT … SELECT into `customers`)", part),
        ("`clientele import`", run),
        ("`clientele export --format csv`", export),
    ):
        if not entry:
            continue
        of_copy = share(entry["rows_per_second"], copy["rows_per_second"]) if copy and entry is not export else "–"
        of_part = (
            share(entry["rows_per_second"], part["rows_per_second"])
            if part and (entry is part or entry is run)
            else "–"
        )
        of_floor = share(entry["rows_per_second"], floor[1]) if floor and entry in (indexed, run) else "–"
        lines.append(
            f"| {label} | {entry['rows']:,} | {entry['seconds']:.1f} | {entry['rows_per_second']:,.0f} | "
            f"{of_copy} | {of_part} | {of_floor} | {entry['peak_rss_mb']:.0f} | {entry['largest_rss_mb']:.0f} | "
            f"{entry['cpu_seconds']:g} |"
        )
    notes = list(bulk["notes"])
    if run:
        notes.append(
            f"The import read {run['read']:,} rows: {run['created']:,} created, {run['skipped']:,} skipped, "
            f"{run['rejected']:,} rejected"
            + (f" (see {run['rejects_file']})" if run["rejects_file"] else "")
            + f"; {run['stored']:,} customers stored. Its own clock said {run['own_seconds']:g} s: the "
            f"other {run['seconds'] - run['own_seconds']:.1f} s are start-up and the migration check."
        )
    if alone:
        notes.append(
            f"The checks alone: {alone['microseconds_per_row']:g} µs a row over the file's first "
            f"{alone['rows']:,} rows ({alone['rejected']:,} rejected) in one process; "
            f"{alone['rows_per_second']:,.0f} rows/s on {alone['cores']} cores"
            + (f", {share(alone['rows_per_second'], copy['rows_per_second'])} of the raw COPY" if copy else "")
            + (f", {share(alone['rows_per_second'], floor[1])} of the lower floor" if floor else "")
            + "."
        )
    if export:
        notes.append(f"The export wrote {export['megabytes']} MB.")
    return "\n\n".join([text, "\n".join(lines), "\n".join(f"- {note}" for note in notes)])


def targets_table(found: list[dict[str, Any]]) -> str:
    lines = ["| target | since issue 18 | measured | result |", "|---|---|---|---|"]
    lines += [f"| {item['target']} | {item['kind']} | {item['figure']} | {verdict(item['met'])} |" for item in found]
    return "\n".join(lines)


def latency_table(results: dict[str, Any]) -> str:
    sizes = sorted(results["latency"], key=int, reverse=True)
    big = results["latency"][sizes[0]]
    small = results["latency"][sizes[-1]] if len(sizes) > 1 else {}
    b, s = f"{int(sizes[0]) // 1000:,}k", f"{int(sizes[-1]) // 1000:,}k"
    columns = [
        "request",
        f"matches at {b}",
        f"p50 {b}",
        f"p95 {b}",
        f"its total alone: p95 {b}",
        f"p95 bound at {b}",
        *([f"p50 {s}", f"p95 {s}"] if small else []),
        f"plan at {b}",
        *([f"plan at {s}"] if small else []),
    ]
    lines = [
        "| " + " | ".join(columns) + " |",
        "|---|" + "---:|" * (len(columns) - 2 - bool(small)) + "---|" * (1 + bool(small)),
    ]
    for key, entry in big.items():
        run = entry.get("run")
        if entry.get("status") != 200:
            matched = f"HTTP {entry.get('status')}"
        elif entry.get("total") is None:
            matched = "no total (cursor page)"
        else:
            matched = f"{entry['total']:,} ({entry['share']:.2%})"
        cells = [
            entry["label"],
            matched,
            ms(run["p50"]) if ok(run) else "–",
            ms(run["p95"]) if ok(run) else "–",
            alone(entry),
            within(entry),
        ]
        if small:
            other = small.get(key, {}).get("run")
            cells += [ms(other["p50"]) if ok(other) else "–", ms(other["p95"]) if ok(other) else "–"]
        cells.append(plan_flags(entry))
        if small:
            cells.append(plan_flags(small.get(key, {})))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def alone(entry: dict[str, Any]) -> str:
    """The p95 of the request's total statement run alone, and where that total comes from."""
    counted = entry.get("count")
    if not counted:
        return "–"
    if "error" in counted:
        return f"failed: {counted['error'][:120]}"
    return f"{ms(counted['run']['p95'])} ({counted['source']})"


def within(entry: dict[str, Any]) -> str:
    bound, run = bound_ms(entry), entry.get("run")
    if bound is None or not ok(run):
        return "–"
    return f"{ms(bound)}: " + ("within" if run["p95"] <= bound else "**over**")


def seq_scans(results: dict[str, Any]) -> str:
    size, entries = judged_latency(results)
    scans = [
        entry["key"]
        for entry in entries.values()
        if any(plan["flags"] or plan["generic_flags"] for plan in entry.get("plans", []))
    ]
    return (
        f"At {size:,} customers, {len(scans)} of {len(entries)} requests have a Seq Scan: {', '.join(scans) or 'none'}."
    )


def plan_flags(entry: dict[str, Any]) -> str:
    """⚠ for each sequential scan in the custom plans, and in the generic ones where they differ."""
    if entry.get("plans_error"):
        return "plan failed"
    flags = sorted({flag for plan in entry.get("plans", []) for flag in plan["flags"]})
    generic = sorted({flag for plan in entry.get("plans", []) for flag in plan["generic_flags"]} - set(flags))
    shown = ", ".join(f"⚠ {flag}" for flag in flags) or ("no Seq Scan" if entry.get("plans") else "–")
    if generic:
        shown += "; generic plan: " + ", ".join(f"⚠ {flag}" for flag in generic)
    custom_indexes = {name for plan in entry.get("plans", []) for name in INDEX_SCAN.findall(plan["analyzed"])}
    generic_indexes = {name for plan in entry.get("plans", []) for name in INDEX_SCAN.findall(plan["generic"])}
    if generic_indexes - custom_indexes:
        shown += "; generic plan uses " + ", ".join(sorted(generic_indexes - custom_indexes))
    return shown


def plans_section(results: dict[str, Any]) -> str:
    """Every plan at the largest size; at the others, only the plans with a sequential scan."""
    sizes = sorted(results["latency"], key=int, reverse=True)
    parts = []
    for size in sizes:
        for entry in results["latency"][size].values():
            if size == sizes[0]:
                if not entry.get("plans") and not entry.get("plans_error"):
                    continue
            elif not any(plan["flags"] or plan["generic_flags"] for plan in entry.get("plans", [])):
                continue
            parts.append(plan_entry(int(size), entry))
    return "\n".join(parts)


def plan_entry(size: int, entry: dict[str, Any], of: str = "") -> str:
    parts = [f"### {entry['label']}, {of or f'{size:,} customers'}\n\n`GET {entry['path']}`\n"]
    if entry.get("plans_error"):
        parts.append(f"Plan not available: {entry['plans_error']}\n")
    for plan in entry.get("plans", []):
        flags = ", ".join(plan["flags"]) or "no Seq Scan"
        generic = ", ".join(plan["generic_flags"]) or "no Seq Scan"
        parts.append(
            f"```sql\n{plan['statement']}\n```\n\nCustom plan ({flags}); generic plan: {generic}.\n\n"
            f"```\n{plan['analyzed']}\n```\n"
        )
    return "\n".join(parts)


def header(results: dict[str, Any]) -> str:
    env = results["environment"]
    settings = results["settings"]
    packages = ", ".join(f"{name} {value}" for name, value in env["packages"].items())
    pg_settings = ", ".join(f"{name}={value}" for name, value in env["postgresql_settings"].items())
    businesses = ", ".join(
        f"{int(size):,} ({info['active']:,} active)"
        for size, info in sorted(results.get("businesses", {}).items(), key=lambda item: -int(item[0]))
    )
    http_lines = (
        [
            f"- **Run**: `clientele serve --workers {settings['workers']} --no-access-log` and the references on the "
            "same uvicorn "
            f"(same workers, info log level; uvicorn's access log on where a row does not say otherwise, while "
            f"`clientele serve` runs without it); {settings['connections']} connections "
            f"(wrk -t2) and pgbench clients; {settings['duration']} s per load run after a short warm-up; "
            f"{settings['latency_duration']} s per single-client run (one kept-alive connection, each request timed "
            "as it happened: no coordinated-omission correction); every request sends a token with all scopes; "
            "RATE_LIMIT_PER_MINUTE=1000000000 (the limiter runs but never refuses).",
            f"- **Data**: database `{env['database']}`, businesses of {businesses} customers, "
            "seeded by `clientele seed`.",
        ]
        if results.get("businesses")
        else [
            f"- **Run**: the {'webhook' if settings.get('webhooks_only') == 'True' else 'import and export'} phase "
            f"only, database `{env['database']}`."
        ]
    )
    return "\n".join(
        [
            f"- **Date**: {env['date']}; commit {env['commit']}; run took {results['elapsed_seconds'] // 60} min "
            f"{results['elapsed_seconds'] % 60} s.",
            f"- **Machine**: {env['cores']} cores ({env['cpu']}), {env['memory_gb']} GB, Linux {env['kernel']}; "
            f"load average at start {env['load_average_at_start']}. The server, wrk and PostgreSQL share the "
            "cores; nothing is pinned.",
            f"- **Software**: Python {env['python']}; {packages}; {env['postgresql']} ({pg_settings}); "
            f"{env['wrk']}; {env['pgbench']}.",
            *http_lines,
            "- **Other work on the machine**, as a share of its CPU taken by processes outside this run "
            "(a floor): "
            + "; ".join(
                f"{phase} {values['others_cpu_share']:.0%}" for phase, values in results.get("other_work", {}).items()
            )
            + ". Load averages as each phase started: "
            + "; ".join(f"{phase} {values}" for phase, values in results["load_average"].items())
            + ".",
            *(f"- {note}" for note in results["notes"]),
        ]
    )


def write(results: dict[str, Any], output: Path) -> str:
    """Judge the targets, write latest.md and raw/latest.json; the part worth printing."""
    results["targets"] = targets(results)
    http = bool(results["latency"])
    summary = "\n\n".join(
        [
            *(
                [
                    f"## Throughput ({results['settings']['connections']} connections unless stated)\n\n"
                    "Percentages are this run's req/s as a share of the ceilings (bare ASGI: HTTP; pgbench: the "
                    "database); × is the ratio to the common FastAPI + ORM app on the same route "
                    "(it serves GET by id and create only). Creates and charges count any status but 201 as an "
                    "error.\n\n" + throughput_table(results)
                ]
                if results["load"]
                else []
            ),
            *(["## Bulk import and export\n\n" + bulk_section(results["imports"])] if "imports" in results else []),
            "## Targets (issue 18: those of issue 3 that stand, and those it restated; issue 20's and 21's)\n\n"
            + targets_table(results["targets"]),
        ]
    )
    details = (
        [
            "## Single-client latency of every list request\n\nOne connection, `meta.total` included; the filter "
            "values are chosen from each business's own data, one matching few customers and one matching most "
            "(booleans: `true` and `false`). p50/p95 are of the same request repeated for the run's length, "
            "each timed as it happened. *Its total alone*: the statement the app sent for the request's total "
            "(captured from the app: a `count(*)` of the page's own filter, or a read of the `customer_counts` "
            "row), its parameters written in, run by pgbench with one client for as long as the request's run, "
            "right after it: what PostgreSQL alone needs for that exact total. A cursor page sends none. *p95 "
            f"bound*: {FIRST_PAGE_MS:g} ms for the unfiltered first page; for a sort or filter, {LIST_MS:g} ms, or "
            f"{COUNT_FACTOR:g} × the p95 of its total alone + {COUNT_ALLOWANCE_MS:g} ms where that is more. "
            "⚠ marks a sequential scan in the plan of the count or page query (custom plan). The generic plan "
            "is noted where it scans differently or uses an index the custom plan does not: asyncpg prepares "
            "statements, and PostgreSQL may switch a prepared statement to its generic plan after five runs, "
            "so under traffic the generic plan may be the one that runs. "
            + seq_scans(results)
            + "\n\n"
            + latency_table(results),
            "## Server memory\n\n" + memory(results),
            "## Plans of the list queries\n\nEXPLAIN (ANALYZE, BUFFERS) of the statements the app issued for each "
            "request, captured from the app itself.\n\n" + plans_section(results),
        ]
        if http
        else []
    )
    if results.get("ledgers", {}).get("latency") or results.get("ledgers", {}).get("contention"):
        details.append(ledger_section(results))
    if results.get("webhooks"):
        details.append(webhook_section(results))
    markdown = "\n\n".join(
        [
            "# Clientele benchmark: latest run\n\nWritten by `make bench` (bench/run.py); every raw number, "
            f"the captured SQL and the plans in {RAW_JSON} next to this file (not committed).",
            header(results),
            summary,
            *details,
        ]
    )
    (output / RAW_JSON).parent.mkdir(parents=True, exist_ok=True)
    (output / "latest.md").write_text(markdown + "\n")
    (output / RAW_JSON).write_text(json.dumps(results, indent=1, default=str) + "\n")
    return summary


def ledger_section(results: dict[str, Any]) -> str:
    """One customer's entries listed, and what the contended charges left in the ledger."""
    ledgers = results["ledgers"]
    history = ledgers.get("history") or {}
    parts = [
        "## The house-account ledger\n\n"
        f"*Listing*: customer `{history.get('customer_id')}` holds {history.get('entries', 0):,} entries (balance "
        f"{history.get('balance')}), seeded once in SQL (`user_id` `bench-history`) and re-used; the first page "
        "(50 entries) oldest first (the default sort) and newest first, one client, as the customer lists. "
        "*Charges*: a charge of -0.010 (`user_id` `bench`) rotating over "
        f"{ledgers.get('charged_customers', '?')} customers of the largest business with the house account enabled "
        "and room under their limit; the contended run charges the first "
        f"{(ledgers.get('contention') or {}).get('customers', '?')} of them, one per connection. Every charge is "
        "deleted at the end of the run and each balance set back to the sum of the entries left."
    ]
    entries = ledgers.get("latency", {})
    if entries:
        lines = [
            "| request | entries | rows | p50 ms | p95 ms | its count alone: p95 ms | bound | plan |",
            "|---|---:|---:|---:|---:|---:|---|---|",
        ]
        for entry in entries.values():
            run = entry.get("run")
            cells = [
                entry["label"],
                f"{entry['total']:,}" if entry.get("total") is not None else f"HTTP {entry.get('status')}",
                str(entry.get("rows", "–")),
                ms(run["p50"]) if ok(run) else "–",
                ms(run["p95"]) if ok(run) else "–",
                alone(entry),
                f"{ENTRIES_MS:g}: " + ("within" if ok(run) and run["p95"] <= ENTRIES_MS else "**over**"),
                plan_flags(entry),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        parts.append("\n".join(lines))
    contended = ledgers.get("contention")
    if contended:
        check = contended["check"]
        parts.append(
            f"*After the contended run*: {contended['entries_added']:,} entries added to its "
            f"{contended['customers']} customers, {contended['created_counted']} 201s counted by wrk (wrk stops with "
            "up to one request per connection in flight, whose entry may still be written); of "
            f"{check['customers']} customers ({check['entries']:,} entries), balances off the sum of their entries: "
            f"{check['balances_off'] or 'none'}; with a `balance_after` off the running sum: "
            f"{check['balance_after_off'] or 'none'}."
        )
    for entry in entries.values():
        if entry.get("plans") or entry.get("plans_error"):
            parts.append(plan_entry(0, entry, of=f"{entry.get('total') or 0:,} entries"))
    return "\n\n".join(parts)


def memory(results: dict[str, Any]) -> str:
    rss = results["rss"]
    lines = [
        f"- {rss.get('workers', '?')} workers; VmRSS per worker process, sampled every 0.25 s.",
        f"- Peak during the load runs: {rss.get('peak_under_load_mb', '–')} MB; after them: "
        f"{rss.get('after_load_mb', '–')} MB; peak during the soak: {rss.get('peak_soak_mb', '–')} MB.",
    ]
    for number, round_ in enumerate(rss.get("page_1000_rounds", []), start=1):
        lines.append(
            f"- 1000-row page with includes, round {number}: before {round_['before_mb']} MB, "
            f"peak {round_['peak_mb']} MB, after {round_['after_mb']} MB."
        )
    return "\n".join(lines)


# --- issue 21: webhooks --------------------------------------------------------------------

ADDED_21 = "added by issue 21"
# Creates with an endpoint subscribed at this share, at least, of creates with none; delivery at this
# rate; commit to delivery within this p95 when idle; a backlog of this many events drained with the
# deliverer's RSS growing at most this much after its first 10%.
WEBHOOK_CREATE_SHARE = 0.85
DELIVERY_RATE = 1000.0
COMMIT_TO_DELIVERY_MS = 500.0
BACKLOG_EVENTS = 100_000
BACKLOG_GROWTH_MB = 20.0


def webhook_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 21's four: creates with an endpoint against creates without, the delivery rate, commit to
    delivery when idle, and a 100,000-event backlog drained without the deliverer's memory growing."""
    load, hooks = results["load"], results["webhooks"]
    found = []
    text = (
        f"POST /customers with an endpoint subscribed (deliveries flowing) ≥ {WEBHOOK_CREATE_SHARE:.0%} of the same "
        "run with none, one right after the other"
    )
    with_endpoint, without = load.get("webhook-create-endpoint"), load.get("webhook-create-none")
    creates = hooks.get("creates") or {}
    if ok(with_endpoint) and ok(without):
        assert with_endpoint is not None and without is not None
        ratio = with_endpoint["rps"] / without["rps"]
        figure = (
            f"{ratio:.0%} ({with_endpoint['rps']:,.0f} vs {without['rps']:,.0f} req/s; errors "
            f"{with_endpoint['errors']} and {without['errors']}); {creates.get('delivered_during_run', 0):,} "
            f"delivered during the run ({creates.get('delivered_per_second')}/s)"
        )
        flowing = bool(creates.get("delivered_during_run"))
        if not flowing:
            figure += "; **no delivery arrived during the run**"
        met = ratio >= WEBHOOK_CREATE_SHARE and flowing and not with_endpoint["errors"] and not without["errors"]
        found.append(target(ADDED_21, text, figure, met))
    else:
        found.append(target(ADDED_21, text, "not measured", None))
    rate = hooks.get("rate")
    text = f"delivery to a local receiver ≥ {DELIVERY_RATE:,.0f} events/s (the serving workers' deliverers)"
    if rate and rate.get("events_per_second"):
        figure = (
            f"{rate['events_per_second']:,.0f} events/s ({rate['unique']:,} of {rate['events']:,} events in "
            f"{rate['seconds']:g} s from their commit)"
        )
        if not rate["complete"]:
            figure += "; **not all delivered**"
        met = rate["complete"] and rate["events_per_second"] >= DELIVERY_RATE
        found.append(target(ADDED_21, text, figure, met))
    else:
        found.append(target(ADDED_21, text, "not measured", None))
    idle = hooks.get("idle")
    text = (
        f"commit to delivery p95 ≤ {COMMIT_TO_DELIVERY_MS:g} ms when idle (one client, "
        f"{idle['rate'] if idle else '?':g} creates/s)"
    )
    if idle and idle.get("p95") is not None:
        figure = (
            f"p95 {idle['p95']:g} ms (p50 {idle['p50']:g}, max {idle['max']:g}; {idle['delivered']:,} of "
            f"{idle['events']:,} events)"
        )
        met = idle["p95"] <= COMMIT_TO_DELIVERY_MS and idle["delivered"] >= idle["events"] == idle["sent"]
        found.append(target(ADDED_21, text, figure, met))
    else:
        found.append(target(ADDED_21, text, "not measured", None))
    backlog = hooks.get("backlog")
    text = (
        f"a backlog of {BACKLOG_EVENTS:,} events drains (one `clientele deliver`) without growing its memory: peak "
        f"after the first 10% ≤ RSS then + {BACKLOG_GROWTH_MB:g} MB"
    )
    rss = (backlog or {}).get("rss") or {}
    if backlog and rss.get("after_first_mb") is not None:
        growth = rss["peak_after_first_mb"] - rss["after_first_mb"]
        figure = (
            f"+{growth:.1f} MB (RSS {rss['start_mb']:g} MB at start, {rss['after_first_mb']:g} after "
            f"{rss['after_events']:,} events, peak {rss['peak_mb']:g}, end {rss['end_mb']:g}); "
            f"{backlog['unique']:,} of {backlog['events']:,} delivered at {backlog['events_per_second']:,.0f} events/s"
        )
        met = growth <= BACKLOG_GROWTH_MB and backlog["complete"]
        if not backlog["complete"]:
            figure += "; **not drained**"
        if backlog["events"] < BACKLOG_EVENTS:
            found.append(
                target(ADDED_21, text, f"{figure}; not judged: a backlog of fewer than {BACKLOG_EVENTS:,}", None)
            )
        else:
            found.append(target(ADDED_21, text, figure, met))
    else:
        found.append(target(ADDED_21, text, "not measured", None))
    return found


def webhook_section(results: dict[str, Any]) -> str:
    """What the webhook phase did and found, beyond the targets' lines."""
    hooks = results["webhooks"]
    creates, idle, rate, backlog = (hooks.get(key) or {} for key in ("creates", "idle", "rate", "backlog"))
    earlier = hooks.get("earlier_events_handed_out") or {}
    lines = [
        "## Webhooks (issue 21)\n\n"
        "A business of the phase's own (`bench webhooks`, deleted with all it holds at the end), one token with "
        "every scope, and a receiver: a bare ASGI app on uvicorn (one process, `bench/baselines/receiver.py`) "
        "that answers 204 to every delivery and notes its arrival time, `webhook-id` and the body's "
        "`timestamp`, without verifying signatures or parsing JSON. `clientele serve` as for the other runs, "
        "with `WEBHOOK_ALLOW_PRIVATE_NETWORKS=1` (so that an endpoint may name http://127.0.0.1) and its "
        "deliverers on (one per worker). *Creates*: the create run without an endpoint, then the same with "
        "one endpoint subscribed to `*`, each after its own warm-up. *Commit to delivery*: one client creating "
        "customers on a fixed schedule; per event, its arrival at the receiver minus its `timestamp` (the "
        "event's `created_at`, stamped in its transaction just before the commit: the lag from the commit is "
        "at most this). *Delivery rate*: `customer.created` events inserted in SQL in one statement (shaped as "
        "the outbox writes them), delivered by the serving workers; events/s from their commit to the last "
        "arrival. *Backlog*: the same made with the server stopped, then one `clientele deliver` alone, its "
        "RSS sampled every 0.25 s. Autovacuum is off on the bench server: the harness runs ANALYZE of the "
        "events and webhook tables whenever autovacuum's default rule would, checked every 2 s "
        f"({hooks.get('analyzed', 0)} during the phase), since the claim's plan depends on them.",
    ]
    facts = [f"`clientele serve` and `clientele deliver` imported Clientele from `{hooks.get('clientele_code')}`."]
    if earlier.get("events"):
        facts.append(
            f"{earlier['events']:,} events of earlier phases were waiting to be handed out; the phase waited "
            f"{earlier['seconds']:g} s for the server's deliverers to hand them out."
        )
    if creates:
        owed = creates["owed_at_end"]
        facts.append(
            f"Creates with an endpoint: {creates['delivered_during_run']:,} deliveries arrived during the run; at "
            f"its end {owed['undispatched']:,} events were not handed out and {owed['pending']:,} deliveries "
            f"pending, delivered {creates['drain_seconds']:g} s later"
            + ("" if creates["drained"] else " (**not all within the wait**)")
            + "."
        )
    if idle:
        facts.append(
            f"Commit to delivery: {idle['sent']:,} creates in {idle['seconds']:g} s (statuses {idle['statuses']}); "
            f"p50 {idle['p50']} ms, p95 {idle['p95']} ms, p99 {idle['p99']} ms, max {idle['max']} ms."
        )
    for name, entry in (("Delivery rate", rate), ("Backlog", backlog)):
        if entry:
            facts.append(
                f"{name}: {entry['unique']:,} of {entry['events']:,} events in {entry['seconds']} s, "
                f"{entry['events_per_second']} events/s; the first arrived {entry['first_after_seconds']} s after "
                f"{'their commit' if entry is rate else 'the deliverer started'}"
                + (
                    f"; {entry['received'] - entry['unique']:,} arrived twice"
                    if entry["received"] > entry["unique"]
                    else ""
                )
                + f"; left owed: {entry['owed_after']}."
            )
    rss = backlog.get("rss") or {}
    if rss:
        facts.append(
            f"`clientele deliver`'s RSS: {rss['start_mb']} MB when it started delivering, {rss['after_first_mb']} MB "
            f"after {rss['after_events']:,} events, peak after them {rss['peak_after_first_mb']} MB, peak "
            f"{rss['peak_mb']} MB, {rss['end_mb']} MB at the end (VmHWM {backlog.get('hwm_mb')} MB)."
        )
    lines.append("\n".join(f"- {fact}" for fact in facts))
    return "\n\n".join(lines)
