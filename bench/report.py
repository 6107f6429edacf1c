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
# A 1000-row page "does not grow" memory when its last round adds at most this to any worker.
PLATEAU_MB = 5.0
RSS_CAP_MB = 250.0
# The app's runs that the ORM baseline also serves, and its run of the same route.
INDEX_SCAN = re.compile(r"Index (?:Only )?Scan(?: Backward)? (?:using|on) (\w+)")
ORM_ROUTE = {"get-by-id": "orm_get", "soak": "orm_get", "create": "orm_create"}
# Issue 3 §4: an import of this many rows at this share, at least, of a raw COPY's rows/s.
IMPORT_TARGET_ROWS = 1_000_000
IMPORT_TARGET_SHARE = 0.5


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


def target(section: str, text: str, figure: str, met: bool | None) -> dict[str, Any]:
    return {"section": section, "target": text, "figure": figure, "met": met}


def rps_ratio(
    section: str,
    text: str,
    run: dict[str, Any] | None,
    reference: dict[str, Any] | None,
    minimum: float,
    as_share: bool = False,
) -> dict[str, Any]:
    if not (ok(run) and ok(reference)):
        return target(section, text, "not measured", None)
    assert run is not None and reference is not None
    ratio = run["rps"] / reference["rps"]
    shown = f"{ratio:.0%}" if as_share else f"{ratio:.2f}×"
    return target(section, text, f"{shown} ({run['rps']:,.0f} vs {reference['rps']:,.0f} req/s)", ratio >= minimum)


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


def cold_ok(entry: dict[str, Any]) -> bool:
    return bool(entry.get("cold")) and "error" not in entry["cold"]


def measured(entry: dict[str, Any], field: str) -> bool:
    return ok(entry.get("run")) if field == "run" else cold_ok(entry)


def worst(entries: list[dict[str, Any]], field: str, stat: str) -> tuple[float, str] | None:
    found = [(entry[field][stat], entry["key"]) for entry in entries]
    return max(found) if found else None


def latency_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    sizes = sorted(results["latency"], key=int)
    big, small = results["latency"][sizes[-1]], results["latency"][sizes[0]]
    size = f"{int(sizes[-1]):,}"
    found = []
    ranked = [entry for entry in big.values() if entry["kind"] in ("first-page", "sort", "filter")]
    failed = [entry["key"] for entry in ranked if entry.get("status") != 200 or not ok(entry.get("run"))]
    narrow = [entry for entry in ranked if entry["kind"] == "filter" and (entry.get("share") or 0) <= 0.01]
    # Repeated requests read a counted total remembered from the first; a request right after a
    # write counts it again. `cold` has a dozen samples, so its slowest stands in for p95 (it bounds it).
    for how, field, stat in (("repeated", "run", "p95"), ("each right after a write", "cold", "max")):
        named = "p95" if stat == "p95" else "slowest (≥ p95)"
        slowest = worst([entry for entry in narrow if measured(entry, field)], field, stat)
        found.append(
            target(
                "§2",
                f"p95 ≤ 50 ms, first page of a filter matching ≤ 1% ({size}, one client, {how})",
                f"worst {named} {ms(slowest[0])} ms ({slowest[1]})" if slowest else "not measured",
                slowest is not None and slowest[0] <= 50 and not failed,
            )
        )
        slowest = worst([entry for entry in ranked if measured(entry, field)], field, stat)
        found.append(
            target(
                "§2",
                f"p95 ≤ 250 ms, any filter value and sort ({size}, one client, {how})",
                f"worst {named} {ms(slowest[0])} ms ({slowest[1]})"
                + (f"; failed: {', '.join(failed)}" if failed else "")
                if slowest
                else "not measured",
                slowest is not None and slowest[0] <= 250 and not failed,
            )
        )
        ratios = [
            (entry[field]["p50"] / small[entry["key"]][field]["p50"], entry["key"])
            for entry in ranked
            if measured(entry, field)
            and measured(small.get(entry["key"], {}), field)
            and small[entry["key"]][field]["p50"] > 0
        ]
        if len(sizes) > 1 and ratios:
            highest = max(ratios)
            found.append(
                target(
                    "§2",
                    f"p50 at {size} ≤ 3× p50 at {int(sizes[0]):,} ({how})",
                    f"worst {highest[0]:.1f}× ({highest[1]})",
                    highest[0] <= 3,
                )
            )
        elif field == "run":
            found.append(target("§2", "p50 at 1M ≤ 3× p50 at 10k", "not measured (one business size)", None))
    first = big.get("first-page", {}).get("run")
    found.append(
        target(
            "§2",
            "unfiltered first page p95 ≤ 20 ms",
            f"p95 {ms(first['p95'])} ms" if ok(first) else "not measured",
            ok(first) and first["p95"] <= 20 if first else None,
        )
    )
    scans = [
        entry["key"]
        for entry in big.values()
        if any(plan["flags"] or plan["generic_flags"] for plan in entry.get("plans", []))
    ]
    found.append(
        target(
            "§2",
            "plan of each list request printed, sequential scans flagged",
            f"{len(scans)} of {len(big)} requests have a Seq Scan: {', '.join(scans) or 'none'}",
            None,
        )
    )
    cursor, first_100 = big.get("deep-cursor", {}).get("run"), big.get("first-page-100", {}).get("run")
    if ok(cursor) and ok(first_100):
        assert cursor is not None and first_100 is not None
        ratio = cursor["p50"] / first_100["p50"]
        found.append(
            target(
                "§3",
                "a page by cursor at 90% depth costs ≤ 2× the first page (same per_page)",
                f"{ratio:.2f}× (p50 {ms(cursor['p50'])} vs {ms(first_100['p50'])} ms)",
                ratio <= 2,
            )
        )
    return found


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    found = http_targets(results) if results["latency"] else []
    if "imports" in results:
        found += [
            import_target(results["imports"]),
            import_against_database_part(results["imports"]),
            import_floor(results["imports"]),
        ]
    return found


def import_target(bulk: dict[str, Any]) -> dict[str, Any]:
    text = (
        f"import of {IMPORT_TARGET_ROWS:,} rows at ≥ {IMPORT_TARGET_SHARE:.0%} of the speed of a raw COPY of "
        "the same file into a bare table"
    )
    copy, run = bulk.get("raw_copy"), bulk.get("import")
    if not (copy and run):
        return target("§4", text, "not measured", None)
    ratio = run["rows_per_second"] / copy["rows_per_second"]
    complete = run["rejected"] == 0 and run["stored"] == run["rows"]
    figure = (
        f"{ratio:.0%} ({run['rows_per_second']:,.0f} vs {copy['rows_per_second']:,.0f} rows/s; "
        f"{run['stored']:,} of {run['rows']:,} rows stored, {run['rejected']} rejected)"
    )
    if run["rows"] < IMPORT_TARGET_ROWS:
        return target("§4", text, f"{figure}; not judged: the file had fewer than {IMPORT_TARGET_ROWS:,} rows", None)
    return target(
        "§4",
        text,
        figure if complete else f"{figure}; not every row was stored",
        ratio >= IMPORT_TARGET_SHARE and complete,
    )


def import_against_database_part(bulk: dict[str, Any]) -> dict[str, Any]:
    """How near the import comes to the database's own part of it: what its checks and its process cost."""
    text = "import against the database's part of it (the same file into `customers` by COPY and INSERT, unchecked)"
    part, run = bulk.get("database_part"), bulk.get("import")
    if not (part and run):
        return target("§4", text, "not measured", None)
    return target(
        "§4",
        text,
        f"{run['rows_per_second'] / part['rows_per_second']:.0%} "
        f"({run['rows_per_second']:,.0f} vs {part['rows_per_second']:,.0f} rows/s)",
        None,
    )


def import_floor(bulk: dict[str, Any]) -> dict[str, Any]:
    """The most any import into `customers` could reach: the lower of the database's floor and the checks'."""
    text = (
        "the most any import, of any design, could reach: the lower of *indexed after loading* and *the checks "
        "alone*, against the raw COPY"
    )
    copy, indexed, alone = bulk.get("raw_copy"), bulk.get("indexed_after"), bulk.get("checks_alone")
    if not (copy and indexed and alone):
        return target("§4", text, "not measured", None)
    best = min(indexed["rows_per_second"], alone["rows_per_second"])
    return target(
        "§4",
        text,
        f"{best / copy['rows_per_second']:.1%} (indexed after loading "
        f"{indexed['rows_per_second']:,.0f}, the checks alone {alone['rows_per_second']:,.0f}, "
        f"raw COPY {copy['rows_per_second']:,.0f} rows/s)",
        None,
    )


def http_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    load, references, rss = results["load"], results["references"], results["rss"]
    found = [
        rps_ratio("§2", "GET by id ≥ 4× the baseline's req/s", load.get("get-by-id"), references.get("orm_get"), 4),
        with_turns(
            with_stack_ceiling(
                rps_ratio(
                    "§2",
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
        rps_ratio(
            "§2", "POST create ≥ 3× the baseline's create req/s", load.get("create"), references.get("orm_create"), 3
        ),
        *latency_targets(results),
    ]
    rounds = rss.get("page_1000_rounds", [])
    peaks = [
        rss.get("peak_under_load_mb", 0),
        rss.get("peak_soak_mb", 0),
        *(value for round_ in rounds for value in round_["peak_mb"]),
    ]
    found.append(
        target(
            "§2",
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
                "§2",
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
                "§2",
                "64 connections for 60 s: no error",
                f"{soak['errors']} errors in {soak['requests']:,} requests ({soak['seconds']:g} s)",
                soak["errors"] == 0,
            )
        )
        ratio = soak["p99"] / soak["p50"] if soak["p50"] else float("inf")
        found.append(
            target(
                "§2",
                "64 connections for 60 s: p99 ≤ 10× p50",
                f"{ratio:.1f}× (p50 {ms(soak['p50'])} ms, p99 {ms(soak['p99'])} ms)",
                ratio <= 10,
            )
        )
    else:
        found.append(target("§2", "64 connections for 60 s", "not measured", None))
    return found


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
    """The import against the raw COPY of the same file, and the export."""
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
        "and that rate on every core of the machine (computed, not run on every core)."
    )
    lines = [
        "| run | rows | seconds | rows/s | of raw COPY | of the database's part | peak RSS MB "
        "| largest process MB | CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
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
        lines.append(
            f"| {label} | {entry['rows']:,} | {entry['seconds']:.1f} | {entry['rows_per_second']:,.0f} | "
            f"{of_copy} | {of_part} | {entry['peak_rss_mb']:.0f} | {entry['largest_rss_mb']:.0f} | "
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
            + "."
        )
    if export:
        notes.append(f"The export wrote {export['megabytes']} MB.")
    return "\n\n".join([text, "\n".join(lines), "\n".join(f"- {note}" for note in notes)])


def targets_table(found: list[dict[str, Any]]) -> str:
    lines = ["| § | target | measured | result |", "|---|---|---|---|"]
    lines += [f"| {item['section']} | {item['target']} | {item['figure']} | {verdict(item['met'])} |" for item in found]
    return "\n".join(lines)


def latency_table(results: dict[str, Any]) -> str:
    sizes = sorted(results["latency"], key=int, reverse=True)
    big = results["latency"][sizes[0]]
    small = results["latency"][sizes[-1]] if len(sizes) > 1 else {}
    b, s = f"{int(sizes[0]) // 1000:,}k", f"{int(sizes[-1]) // 1000:,}k"

    def cold(entry: dict[str, Any]) -> str:
        return ms(entry["cold"]["p50"]) if cold_ok(entry) else "–"

    if small:
        lines = [
            f"| request | matches at {b} | p50 {b} | p95 {b} | p50 {s} | p95 {s} | p50 {b}/{s} "
            f"| after a write: p50 {b} | p50 {s} | p50 {b}/{s} | plan at {b} | plan at {s} |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
        ]
    else:
        lines = [
            f"| request | matches at {b} | p50 {b} | p95 {b} | after a write: p50 {b} | plan at {b} |",
            "|---|---:|---:|---:|---:|---|",
        ]
    for key, entry in big.items():
        run = entry.get("run")
        other_entry = small.get(key, {})
        other = other_entry.get("run")
        matched = (
            f"{entry['total']:,} ({entry['share']:.2%})"
            if entry.get("share") is not None
            else f"HTTP {entry.get('status')}"
        )
        cells = [entry["label"], matched, ms(run["p50"]) if ok(run) else "–", ms(run["p95"]) if ok(run) else "–"]
        if small:
            cells += [
                ms(other["p50"]) if ok(other) else "–",
                ms(other["p95"]) if ok(other) else "–",
                f"{run['p50'] / other['p50']:.1f}×" if ok(run) and ok(other) and other["p50"] else "–",
                cold(entry),
                cold(other_entry),
                f"{entry['cold']['p50'] / other_entry['cold']['p50']:.1f}×"
                if cold_ok(entry) and cold_ok(other_entry) and other_entry["cold"]["p50"]
                else "–",
                plan_flags(entry),
                plan_flags(other_entry),
            ]
        else:
            cells += [cold(entry), plan_flags(entry)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


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


def plan_entry(size: int, entry: dict[str, Any]) -> str:
    parts = [f"### {entry['label']}, {size:,} customers\n\n`GET {entry['path']}`\n"]
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
            f"- **Run**: `clientele serve --workers {settings['workers']}` and the references on the same uvicorn "
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
        else [f"- **Run**: the import and export phase only, database `{env['database']}`."]
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
    """Judge the targets, write latest.md and latest.json; the part worth printing."""
    results["targets"] = targets(results)
    http = bool(results["latency"])
    summary = "\n\n".join(
        [
            *(
                [
                    f"## Throughput ({results['settings']['connections']} connections unless stated)\n\n"
                    "Percentages are this run's req/s as a share of the ceilings (bare ASGI: HTTP; pgbench: the "
                    "database); × is the ratio to the common FastAPI + ORM app on the same route "
                    "(it serves GET by id and create only).\n\n" + throughput_table(results)
                ]
                if http
                else []
            ),
            *(["## Bulk import and export\n\n" + bulk_section(results["imports"])] if "imports" in results else []),
            "## Targets (issue 3)\n\n" + targets_table(results["targets"]),
        ]
    )
    details = (
        [
            "## Single-client latency of every list request\n\nOne connection, `meta.total` included; the filter "
            "values are chosen from each business's own data, one matching few customers and one matching most. "
            "p50/p95 are of the same request repeated for the run's length: a total the database counts row by "
            'row is counted once and then remembered until a write to the business. "After a write" is the '
            "median of a dozen requests (four with --quick), each sent right after a write to one of the "
            "business's customers, so every such total is counted again: what the first request after a change "
            "costs. "
            "⚠ marks a sequential scan in the plan of the count or page query (custom plan). The generic plan "
            "is noted where it scans differently or uses an index the custom plan does not: asyncpg prepares "
            "statements, and PostgreSQL may switch a prepared statement to its generic plan after five runs, "
            "so under traffic the generic plan may be the one that runs.\n\n" + latency_table(results),
            "## Server memory\n\n" + memory(results),
            "## Plans of the list queries\n\nEXPLAIN (ANALYZE, BUFFERS) of the statements the app issued for each "
            "request, captured from the app itself.\n\n" + plans_section(results),
        ]
        if http
        else []
    )
    markdown = "\n\n".join(
        [
            "# Clientele benchmark: latest run\n\nWritten by `make bench` (bench/run.py); raw numbers in "
            "latest.json next to this file.",
            header(results),
            summary,
            *details,
        ]
    )
    output.mkdir(parents=True, exist_ok=True)
    (output / "latest.md").write_text(markdown + "\n")
    (output / "latest.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    return summary


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
