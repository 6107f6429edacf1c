"""The bench database: made and owned by the harness, seeded once with `clientele seed`, and
queried directly for what a run needs (ids to rotate over, filter values, plans)."""

import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.processes import BenchError

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/clientele_bench"
OWNER_COMMENT = "clientele bench harness: dropped and rebuilt at will"
# Databases the test suites use; the harness never connects to them.
FORBIDDEN = re.compile(r"^test(_[a-z0-9]+)?$")
CLIENTELE = str(Path(sys.executable).parent / "clientele")
T = TypeVar("T")


def business_name(customers: int) -> str:
    return f"bench {customers} customers"


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def checked_url(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme not in ("postgresql", "postgres"):
        raise BenchError(f"The harness runs on PostgreSQL only; DATABASE_URL is {scheme}://…")
    name = database_name(url)
    if not name or FORBIDDEN.match(name):
        raise BenchError(
            f"Refusing to use the database {name!r}: it belongs to the test suites. "
            f"Point DATABASE_URL at a bench database (default {DEFAULT_URL})."
        )
    return url


def run(work: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(work())


async def connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url)


def fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    async def work() -> list[asyncpg.Record]:
        connection = await connect(url)
        try:
            return await connection.fetch(sql, *args)
        finally:
            await connection.close()

    return run(work)


def execute(url: str, *statements: str) -> None:
    async def work() -> None:
        connection = await connect(url)
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    run(work)


# --- the database itself -----------------------------------------------------------------


def prepare_database(url: str, *, rebuild: bool) -> None:
    """Create the bench database if missing (or rebuild it); refuse one the harness did not make."""
    name = database_name(url)
    maintenance = with_database(url, "postgres")
    rows = fetch(
        maintenance, "SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1", name
    )
    quoted = '"' + name.replace('"', '""') + '"'
    if rows and rows[0]["comment"] != OWNER_COMMENT:
        tables = fetch(url, "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'")[0]["n"]
        if tables:
            raise BenchError(
                f"The database {name!r} exists and was not made by the harness; it will not seed "
                "or drop it. Point DATABASE_URL at another database name."
            )
        execute(maintenance, f"COMMENT ON DATABASE {quoted} IS '{OWNER_COMMENT}'")
    if rows and rebuild:
        print(f"Dropping the bench database {name!r} to seed it again", flush=True)
        execute(maintenance, f"DROP DATABASE {quoted} WITH (FORCE)")
        rows = []
    if not rows:
        print(f"Creating the bench database {name!r}", flush=True)
        execute(maintenance, f"CREATE DATABASE {quoted}", f"COMMENT ON DATABASE {quoted} IS '{OWNER_COMMENT}'")


def clientele(url: str, *arguments: str, echo: bool = False) -> str:
    """Run the `clientele` command on the bench database; its output (echoed live when asked)."""
    env = os.environ | {"DATABASE_URL": url}
    if echo:
        result = subprocess.run([CLIENTELE, *arguments], env=env, check=False, stdout=subprocess.PIPE, text=True)
        print(result.stdout, end="", flush=True)
    else:
        result = subprocess.run([CLIENTELE, *arguments], env=env, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        raise BenchError(
            f"`clientele {' '.join(arguments)}` failed ({result.returncode}):\n"
            f"{result.stdout[-2000:]}{(result.stderr or '')[-2000:]}"
        )
    return result.stdout


def create_business(url: str, name: str) -> uuid.UUID:
    """A new business, made by `clientele business create`."""
    return uuid.UUID(last_line(clientele(url, "business", "create", name)))


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1].strip()


@dataclass(frozen=True)
class Business:
    customers: int
    id: uuid.UUID
    token: str = ""


def bench_businesses(url: str) -> dict[str, tuple[uuid.UUID, int]]:
    """Bench businesses by name, with how many customers each holds."""
    rows = fetch(
        url,
        "SELECT b.id, b.name, (SELECT count(*) FROM customers c WHERE c.business_id = b.id) AS n "
        "FROM businesses b WHERE b.name LIKE 'bench % customers'",
    )
    return {row["name"]: (row["id"], row["n"]) for row in rows}


def seeded_businesses(url: str, sizes: list[int], *, reseed: bool) -> list[Business]:
    """The bench businesses of these sizes, seeded with `clientele seed` where missing.

    A database whose businesses do not hold the counts they should (an interrupted seed) is
    rebuilt from scratch, as with `--reseed`.
    """
    prepare_database(url, rebuild=reseed)
    clientele(url, "migrate")
    # An interrupted import phase's businesses would skew the statistics of `customers` (taken over
    # the whole table), which are taken afresh below.
    remove_import_businesses(url)
    existing = bench_businesses(url)
    wrong = [
        name
        for name, (_, count) in existing.items()
        if name in {business_name(size) for size in sizes} and count != int(name.split()[1])
    ]
    if wrong:
        print(f"The bench businesses {', '.join(wrong)} do not hold their customer counts: reseeding", flush=True)
        prepare_database(url, rebuild=True)
        clientele(url, "migrate")
        existing = {}
    businesses = []
    seeded_any = False
    for size in sizes:
        name = business_name(size)
        if name in existing:
            print(f"Re-using {name} ({existing[name][0]})", flush=True)
            businesses.append(Business(customers=size, id=existing[name][0]))
            continue
        business_id = create_business(url, name)
        print(f"Seeding {name} ({business_id}) with `clientele seed`…", flush=True)
        clientele(
            url, "seed", "--business", str(business_id), "--customers", str(size), "--random-seed", str(size), echo=True
        )
        businesses.append(Business(customers=size, id=business_id))
        seeded_any = True
    if seeded_any:
        print("VACUUM ANALYZE after seeding…", flush=True)
    # Always: a previous run's cleanup leaves dead rows, and plans need fresh statistics.
    execute(url, "VACUUM (ANALYZE)")
    return businesses


def issue_token(url: str, business: Business) -> Business:
    token = last_line(
        clientele(url, "token", "create", "--business", str(business.id), "--scopes", "all", "--name", "bench")
    )
    return Business(customers=business.customers, id=business.id, token=token)


# --- what the requests are made of ------------------------------------------------------

CREATED_NAME = "Bench Create"
IMPORT_BUSINESS = "bench import run"  # the fresh business each import phase imports into, removed afterwards


@dataclass(frozen=True)
class Sample:
    """Real values from a business: ids to rotate over and text to filter by."""

    ids: list[uuid.UUID]
    names: list[str]
    emails: list[str]
    phones: list[str]
    dial_codes: list[tuple[int, int]]  # (dial code, customers), most common first
    tags: list[tuple[uuid.UUID, int]]  # (tag id, customers), most used first
    updated_at_995: Any
    updated_at_min: Any
    days: dict[str, list[tuple[Any, int]]]  # per day filter: (UTC day, customers), fewest first


def sample(url: str, business_id: uuid.UUID, size: int = 1000) -> Sample:
    async def work() -> Sample:
        connection = await connect(url)
        try:
            rows = await connection.fetch(
                "SELECT id, name, email, phone FROM customers WHERE business_id = $1 AND deleted_at IS NULL "
                "ORDER BY random() LIMIT $2",
                business_id,
                size,
            )
            dial_codes = await connection.fetch(
                "SELECT dial_code, count(*) AS n FROM customers WHERE business_id = $1 AND deleted_at IS NULL "
                "GROUP BY dial_code ORDER BY n DESC, dial_code",
                business_id,
            )
            tags = await connection.fetch(
                "SELECT t.id, count(ct.customer_id) AS n FROM tags t LEFT JOIN customer_tags ct "
                "ON ct.business_id = t.business_id AND ct.tag_id = t.id "
                "WHERE t.business_id = $1 AND t.deleted_at IS NULL GROUP BY t.id ORDER BY n DESC, t.id",
                business_id,
            )
            times = await connection.fetchrow(
                "SELECT percentile_disc(0.995) WITHIN GROUP (ORDER BY updated_at) AS p995, min(updated_at) AS low "
                "FROM customers WHERE business_id = $1 AND deleted_at IS NULL",
                business_id,
            )
            days = {
                f"{stamp.removesuffix('_at')}_on": [
                    (row["day"], row["n"])
                    for row in await connection.fetch(
                        f"SELECT {stamp}::date AS day, count(*) AS n FROM customers WHERE business_id = $1 "
                        f"AND {stamp} IS NOT NULL GROUP BY day ORDER BY n, day",
                        business_id,
                    )
                ]
                for stamp in ("created_at", "updated_at", "deleted_at")
            }
        finally:
            await connection.close()
        return Sample(
            ids=[row["id"] for row in rows],
            names=[row["name"] for row in rows],
            emails=[row["email"] for row in rows if row["email"]],
            phones=[row["phone"] for row in rows],
            dial_codes=[(row["dial_code"], row["n"]) for row in dial_codes],
            tags=[(row["id"], row["n"]) for row in tags],
            updated_at_995=times["p995"],
            updated_at_min=times["low"],
            days=days,
        )

    return run(work)


def free_phone_prefix(url: str, business_id: uuid.UUID, dial_code: int, taken: set[str]) -> str:
    """A 3-digit phone prefix no customer of the business has under this dial code, for create runs."""
    used = {
        row["prefix"]
        for row in fetch(
            url,
            "SELECT DISTINCT left(phone, 3) AS prefix FROM customers WHERE business_id = $1 AND dial_code = $2",
            business_id,
            dial_code,
        )
    }
    for number in range(200, 1000):
        prefix = str(number)
        if prefix not in used and prefix not in taken:
            return prefix
    raise BenchError("No free phone prefix left for create runs")


def remove_import_businesses(url: str) -> int:
    """Delete every business this phase made (an interrupted run's too), with its customers; how many."""
    rows = fetch(url, "SELECT id FROM businesses WHERE name = $1", IMPORT_BUSINESS)
    ids = [row["id"] for row in rows]
    if not ids:
        return 0
    # Import makes customers only, and the counters their triggers keep; nothing refers to those counters.
    referring = [
        row["name"]
        for row in fetch(
            url,
            "SELECT DISTINCT conrelid::regclass::text AS name FROM pg_constraint "
            "WHERE contype = 'f' AND confrelid = 'businesses'::regclass AND conrelid <> 'customers'::regclass",
        )
    ]
    quoted = "ARRAY[" + ", ".join(f"'{business_id}'::uuid" for business_id in ids) + "]"
    # One string of statements: asyncpg runs it as one transaction.
    execute(
        url,
        "; ".join(
            [
                f"DELETE FROM customers WHERE business_id = ANY({quoted})",
                *(f"DELETE FROM {name} WHERE business_id = ANY({quoted})" for name in referring),
                f"DELETE FROM businesses WHERE id = ANY({quoted})",
            ]
        ),
    )
    return len(ids)


def remove_created(url: str, business_ids: list[uuid.UUID]) -> int:
    """Delete the customers that create runs added, so the seeded counts stay as they were, and their
    events, so the events table does not grow from run to run."""
    rows = fetch(
        url,
        "WITH gone AS (DELETE FROM customers WHERE business_id = ANY($1::uuid[]) AND name LIKE $2 "
        "RETURNING business_id, id), told AS (DELETE FROM events e USING gone "
        "WHERE e.business_id = gone.business_id AND e.record_id = gone.id) SELECT count(*) AS n FROM gone",
        business_ids,
        f"{CREATED_NAME} %",
    )
    return rows[0]["n"]


def wait_until_idle(url: str, timeout: float = 300) -> float:
    """Wait until no other query runs on the bench database; the seconds waited.

    A client that stops at the end of a run leaves its slow requests running in the server and
    the database; the next run must not pay for them.
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        busy = fetch(
            url,
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'active' AND backend_type = 'client backend' "
            "AND pid <> pg_backend_pid()",
        )[0]["n"]
        if not busy:
            break
        time.sleep(0.2)
    return time.monotonic() - started


def server_version(url: str) -> str:
    return fetch(url, "SELECT version() AS v")[0]["v"]


def server_settings(url: str) -> dict[str, str]:
    names = ["shared_buffers", "work_mem", "effective_cache_size", "max_connections", "random_page_cost"]
    rows = fetch(url, "SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1::text[])", names)
    return {row["name"]: f"{row['setting']}{row['unit'] or ''}" for row in rows}
