"""Bulk import and export: `clientele import` against the floors under any import of the same file.

One CSV file of realistic customers, written by the seed's own generator in the format
`clientele import` reads, goes in twice: by psql's `\\copy` into a bare table (the file's
columns with the types `customers` gives them; no key, index, constraint or trigger; a plain
logged table, as durable as `customers`), and by `clientele import` into a fresh business.
Between the two, the database's part of an import: psql's `\\copy` into a temporary table and
one INSERT … SELECT from it into `customers` for another fresh business, with no check of any
row; what no import into `customers`, with its indexes and counters, can beat. Each is timed
from the outside, as the wall-clock time of the command, so the import pays for its start-up
and its checks as a user does. Then `clientele export` writes the imported business back out
as CSV. The bare table and the businesses are removed at the end.

Two floors under any import, whatever its design, are measured beside them; the import's
target is a share of the lower one. *Indexed after loading*: the file by `\\copy` into an
unindexed table of `customers`' shape, then every index of `customers` built on it, as a fresh
partition would be before it is attached. *The checks alone*: the API's checks of an import's
rows (`prepare_chunk`) on a sample of the file, in one process, and the rate every core of the
machine would reach at that speed.
"""

import csv
import itertools
import os
import random
import re
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.dialects import postgresql

from bench import database
from bench.processes import BenchError, Repeating, ensure_tool, memory_mb, process_tree, stop_group
from clientele.bulk.files import IMPORT_FIELDS, Chunk, csv_cell, prepare_chunk
from clientele.bulk.seeding import SPAN, SeedChunk, customer_fields, phone_offsets
from clientele.cli import ROWS_REJECTED
from clientele.customers.models import customers
from clientele.db.clock import utcnow

BARE_TABLE = "bench_raw_copy"
STAGED_TABLE = "bench_staged"
INDEXED_TABLE = "bench_indexed_after"
CHECK_SAMPLE_ROWS = 50_000
RANDOM_SEED = 20_240_301
IMPORTED = re.compile(r"Read (\d+) rows in ([\d.]+) s: (\d+) created, (\d+) skipped.*?, (\d+) rejected\.")
EXPORTED = re.compile(r"Exported (\d+) customers")


# --- the file --------------------------------------------------------------------------------


def customer_rows(count: int, random_seed: int) -> Iterator[list[Any]]:
    """CSV rows of `count` customers as `clientele seed` makes them: every phone distinct."""
    now = utcnow()
    # The generator reads only `now` from its chunk: tags and addresses are not part of an import file.
    chunk = SeedChunk(random_seed=random_seed, start=0, count=count, business_id="", tag_ids=(), zones=(), now=now)
    offsets = phone_offsets(random_seed)
    rng = random.Random(f"{random_seed}:import")
    for row in range(count):
        fields = customer_fields(rng, row, chunk, offsets, now - SPAN * rng.random())
        yield [csv_cell(fields.get(name)) for name in IMPORT_FIELDS]


def write_file(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(IMPORT_FIELDS)
        writer.writerows(customer_rows(count, RANDOM_SEED))


# --- running a command and what it cost --------------------------------------------------------


@dataclass
class Timed:
    """A command run to its end: its wall-clock time, output and memory."""

    seconds: float
    returncode: int
    output: str
    peak_rss_mb: float  # the command and every process it started, summed, sampled every 0.2 s
    largest_rss_mb: float  # the highest peak (VmHWM) of any one of these processes
    cpu_seconds: float  # user + system, its worker processes included


def timed(command: list[str], *, env: dict[str, str], log: Path, stdin: Path | None = None) -> Timed:
    """Run a command with its output in `log`; stopped with its whole process group if the run is interrupted."""
    peak = largest = 0.0
    with log.open("wb") as output, stdin.open("rb") if stdin else open(os.devnull, "rb") as source:
        started = time.monotonic()
        process = subprocess.Popen(
            command, env=env, stdin=source, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )

        def sample() -> None:
            nonlocal peak, largest
            memory = [memory_mb(pid) for pid in process_tree(process.pid)]
            peak = max(peak, sum(values.get("VmRSS", 0.0) for values in memory))
            largest = max([largest, *(values.get("VmHWM", 0.0) for values in memory)])

        sampler = Repeating(0.2, sample)
        sampler.start()
        try:
            # Popen returns once the child has run exec: from here on its memory is its own, not a copy of ours.
            sample()
            # wait4, unlike wait, gives this child's own CPU time (its reaped workers included). Its ru_maxrss
            # is no use: it counts the harness's own memory, which the child shared until it ran exec.
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.monotonic() - started
            process.returncode = os.waitstatus_to_exitcode(status)
        finally:
            sampler.stop()
            stop_group(process)
    return Timed(
        seconds=seconds,
        returncode=process.returncode,
        output=log.read_text(errors="replace"),
        peak_rss_mb=round(peak, 1),
        largest_rss_mb=round(largest, 1),
        cpu_seconds=round(usage.ru_utime + usage.ru_stime, 1),
    )


def checked(step: str, run: Timed, log: Path, *, succeeded: tuple[int, ...] = (0,)) -> Timed:
    if run.returncode not in succeeded:
        raise BenchError(f"{step} failed ({run.returncode}); see {log}:\n{run.output[-2000:]}")
    return run


def figures(run: Timed, rows: int) -> dict[str, Any]:
    return asdict(run) | {
        "rows": rows,
        "seconds": round(run.seconds, 2),
        "rows_per_second": rows / run.seconds,
        "output": run.output[-1000:],
    }


# --- the bench database --------------------------------------------------------------------------


def bare_table_sql(name: str = BARE_TABLE, *, temporary: bool = False) -> str:
    """A table of the file's columns, typed as in `customers`, and nothing else."""
    dialect = postgresql.dialect()
    columns = ", ".join(f"{field} {customers.c[field].type.compile(dialect=dialect)}" for field in IMPORT_FIELDS)
    return f"CREATE {'TEMPORARY ' if temporary else ''}TABLE {name} ({columns})"


def copy_file_into(table: str) -> str:
    """psql's `\\copy` of the CSV file on its standard input into a table of the file's columns."""
    return f"\\copy {table} ({', '.join(IMPORT_FIELDS)}) FROM pstdin WITH (FORMAT csv, HEADER true)"


# An id as the API makes it (UUIDv7), in SQL: the first 48 bits a millisecond clock, the version
# nibble 7 (bits 52 and 53 set in a version 4 UUID).
TIME_ORDERED_ID = (
    "encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing "
    "substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) "
    "FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid"
)
UTC_NOW = "now() AT TIME ZONE 'UTC'"


def database_part_statements(business_id: uuid.UUID) -> list[str]:
    """The database's part of an import into this business, for psql: the file into a temporary table,
    then into `customers` with ids made as the API makes them (UUIDv7) and nothing checked."""
    c = customers.c
    columns = ", ".join(IMPORT_FIELDS)
    # What import fills in for a missing cell: the column's default.
    values = ", ".join(
        f"coalesce({name}, {c[name].server_default.arg})" if c[name].server_default is not None else name
        for name in IMPORT_FIELDS
    )
    return [
        bare_table_sql(STAGED_TABLE, temporary=True),
        copy_file_into(STAGED_TABLE),
        f"INSERT INTO customers (business_id, id, {columns}, created_at, updated_at) "
        f"SELECT '{business_id}', {TIME_ORDERED_ID}, {values}, {UTC_NOW}, {UTC_NOW} "
        f"FROM {STAGED_TABLE} ON CONFLICT (business_id, dial_code, phone) WHERE deleted_at IS NULL DO NOTHING",
    ]


def indexed_after_statements(url: str) -> list[str]:
    """For psql: the file into an unindexed table of `customers`' shape, then `customers`' own indexes
    (as the database defines them now) built on it, with the memory a one-off bulk load would give them."""
    c = customers.c
    # A missing cell is left NULL where import would write the column's default: that costs the database less.
    nullable = [
        f"ALTER {name} DROP NOT NULL"
        for name in IMPORT_FIELDS
        if c[name].server_default is not None and not c[name].nullable
    ]
    made_as_in_customers = [
        f"ALTER business_id SET DEFAULT '{uuid.uuid4()}'",
        f"ALTER id SET DEFAULT {TIME_ORDERED_ID}",
        f"ALTER created_at SET DEFAULT {UTC_NOW}",
        f"ALTER updated_at SET DEFAULT {UTC_NOW}",
    ]
    indexes = database.fetch(
        url,
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'customers'",
    )
    return [
        f"CREATE TABLE {INDEXED_TABLE} (LIKE customers INCLUDING DEFAULTS INCLUDING GENERATED)",
        f"ALTER TABLE {INDEXED_TABLE} {', '.join(made_as_in_customers + nullable)}",
        copy_file_into(INDEXED_TABLE),
        "SET maintenance_work_mem = '1GB'",
        *(
            re.sub(
                rf"INDEX {re.escape(index['indexname'])} ON (\S+\.)?customers ",
                f"INDEX {INDEXED_TABLE}_{number} ON {INDEXED_TABLE} ",
                index["indexdef"],
                count=1,
            )
            for number, index in enumerate(indexes)
        ),
    ]


def checks_alone(file: Path) -> dict[str, Any]:
    """The API's checks of the file's first rows, timed in this process, and that rate on every core."""
    with file.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = tuple(next(reader))
        lines = list(enumerate(itertools.islice(reader, CHECK_SAMPLE_ROWS), start=2))
    started = time.perf_counter()
    prepared = prepare_chunk(Chunk(format="csv", header=header, lines=lines, position=0))
    seconds = time.perf_counter() - started
    cores = os.cpu_count() or 1
    return {
        "rows": len(lines),
        "seconds": round(seconds, 2),
        "rejected": len(prepared.rejects),
        "cores": cores,
        "microseconds_per_row": round(seconds / len(lines) * 1e6, 1),
        "rows_per_second": cores * len(lines) / seconds,
    }


def settle(url: str) -> None:
    """Start a timed step with no query running and no dirty buffers left by the step before."""
    database.wait_until_idle(url)
    database.execute(url, "CHECKPOINT")


def count_rows(url: str, sql: str, *args: Any) -> int:
    return database.fetch(url, sql, *args)[0]["n"]


def customers_of(url: str, business_id: uuid.UUID) -> int:
    return count_rows(url, "SELECT count(*) AS n FROM customers WHERE business_id = $1", business_id)


def psql_command(psql: str, url: str, *statements: str) -> list[str]:
    """psql running these statements (`\\copy` included) in one session, stopping at the first error."""
    return [
        psql,
        "-X",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        url,
        *(argument for statement in statements for argument in ("-c", statement)),
    ]


# --- the phase -------------------------------------------------------------------------------------


def measure(url: str, *, rows: int, log_dir: Path, phase: Callable[[str], None]) -> dict[str, Any]:
    """Write the file, COPY it raw, import it, export it back; every figure of the phase."""
    psql = ensure_tool("psql", "postgresql-client")
    env = os.environ | {"DATABASE_URL": url}
    results: dict[str, Any] = {"rows": rows, "bare_table": bare_table_sql(), "notes": []}
    leftovers = database.remove_import_businesses(url)
    if leftovers:
        results["notes"].append(f"Removed {leftovers} import business(es) left by an interrupted run.")
    database.execute(url, f"DROP TABLE IF EXISTS {BARE_TABLE}, {INDEXED_TABLE}")
    try:
        with tempfile.TemporaryDirectory(prefix="clientele-bench-import-") as folder:
            file = Path(folder) / "customers.csv"
            phase("import: writing the file")
            started = time.monotonic()
            write_file(file, rows)
            results["file"] = {
                "path": str(file),
                "megabytes": round(file.stat().st_size / 1e6, 1),
                "seconds_to_write": round(time.monotonic() - started, 1),
                "columns": list(IMPORT_FIELDS),
            }
            print(
                f"  wrote {rows:,} customers ({results['file']['megabytes']} MB) "
                f"in {results['file']['seconds_to_write']} s",
                flush=True,
            )

            def into_own_table(step: str, table: str, statements: list[str], log_name: str) -> dict[str, Any]:
                """The psql statements that fill `table` from the file, timed; the table is dropped after."""
                settle(url)
                log = log_dir / log_name
                run = checked(step, timed(psql_command(psql, url, *statements), env=env, log=log, stdin=file), log)
                rows = count_rows(url, f"SELECT count(*) AS n FROM {table}")
                database.execute(url, f"DROP TABLE {table}")
                return figures(run, rows)

            phase("import: raw COPY")
            database.execute(url, bare_table_sql())
            copy = results["raw_copy"] = into_own_table(
                "psql \\copy", BARE_TABLE, [copy_file_into(BARE_TABLE)], "raw_copy.log"
            )
            print(
                f"  raw COPY (psql \\copy, bare table)          {copy['rows']:,} rows in {copy['seconds']:.1f} s: "
                f"{copy['rows_per_second']:,.0f} rows/s",
                flush=True,
            )

            phase("import: indexed after loading")
            loaded = results["indexed_after"] = into_own_table(
                "psql \\copy and CREATE INDEX", INDEXED_TABLE, indexed_after_statements(url), "indexed_after.log"
            )
            print(
                f"  indexed after loading (\\copy, CREATE INDEX) {loaded['rows']:,} rows in "
                f"{loaded['seconds']:.1f} s: {loaded['rows_per_second']:,.0f} rows/s",
                flush=True,
            )

            phase("import: the checks alone")
            alone = results["checks_alone"] = checks_alone(file)
            print(
                f"  the checks alone ({alone['rows']:,} rows, one process)   {alone['microseconds_per_row']} µs "
                f"a row: {alone['rows_per_second']:,.0f} rows/s on {alone['cores']} cores",
                flush=True,
            )

            phase("import: the database's part")
            # Its customers stay while the import runs: the import writes into the larger table.
            reference_id = database.create_business(url, database.IMPORT_BUSINESS)
            settle(url)
            log = log_dir / "database_part.log"
            part = checked(
                "psql \\copy and INSERT",
                timed(psql_command(psql, url, *database_part_statements(reference_id)), env=env, log=log, stdin=file),
                log,
            )
            inserted = customers_of(url, reference_id)
            results["database_part"] = figures(part, inserted)
            print(
                f"  the database's part (\\copy, INSERT … SELECT) {inserted:,} rows in {part.seconds:.1f} s: "
                f"{inserted / part.seconds:,.0f} rows/s",
                flush=True,
            )

            phase("import: clientele import")
            business_id = database.create_business(url, database.IMPORT_BUSINESS)
            results["business"] = str(business_id)
            settle(url)
            log = log_dir / "import.log"
            rejects = log_dir / "import.rejects.jsonl"
            run = checked(
                "clientele import",
                timed(
                    [
                        database.CLIENTELE,
                        "import",
                        str(file),
                        "--business",
                        str(business_id),
                        "--rejects",
                        str(rejects),
                    ],
                    env=env,
                    log=log,
                ),
                log,
                # Rejected rows are reported, and judged, with the run's figures.
                succeeded=(0, ROWS_REJECTED),
            )
            stored = customers_of(url, business_id)
            report = IMPORTED.search(run.output)
            if report is None:
                raise BenchError(f"`clientele import` did not print its summary; see {log}")
            read, own_seconds, created, skipped, rejected = report.groups()
            results["import"] = figures(run, rows) | {
                "read": int(read),
                "created": int(created),
                "skipped": int(skipped),
                "rejected": int(rejected),
                "stored": stored,
                "own_seconds": float(own_seconds),
                "rejects_file": str(rejects) if int(rejected) else None,
            }
            print(
                f"  clientele import                           {rows:,} rows in {run.seconds:.1f} s: "
                f"{rows / run.seconds:,.0f} rows/s; {stored:,} stored, {rejected} rejected; "
                f"peak RSS {run.peak_rss_mb:.0f} MB",
                flush=True,
            )

            # The export reads what the import just wrote: vacuumed first, as an export some time later
            # would find it, and so that autovacuum does not start in the middle of it.
            database.execute(url, "VACUUM (ANALYZE) customers")
            phase("import: clientele export")
            settle(url)
            log = log_dir / "export.log"
            exported_file = Path(folder) / "export.csv"
            run = checked(
                "clientele export",
                timed(
                    [
                        database.CLIENTELE,
                        "export",
                        "--business",
                        str(business_id),
                        "--format",
                        "csv",
                        "--output",
                        str(exported_file),
                    ],
                    env=env,
                    log=log,
                ),
                log,
            )
            counted = EXPORTED.search(run.output)
            exported = int(counted[1]) if counted else sum(1 for _ in exported_file.open("rb")) - 1
            results["export"] = figures(run, exported) | {"megabytes": round(exported_file.stat().st_size / 1e6, 1)}
            print(
                f"  clientele export --format csv              {exported:,} rows in {run.seconds:.1f} s: "
                f"{exported / run.seconds:,.0f} rows/s; peak RSS {run.peak_rss_mb:.0f} MB",
                flush=True,
            )
    finally:
        database.execute(url, f"DROP TABLE IF EXISTS {BARE_TABLE}, {INDEXED_TABLE}")
        removed = database.remove_import_businesses(url)
        if removed:
            # Dead rows of the removed business would otherwise slow the next run's first queries.
            database.execute(url, "VACUUM customers")
    return results
