"""The engine and the key pool, migrating the schema, and every SQLite/PostgreSQL difference."""

import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import orjson
from sqlalchemy import JSON, Connection, Table, Uuid, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    from alembic.config import Config

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Fail fast when the server is unreachable so that clients get a 503 with Retry-After instead of
# hanging on the driver's one-minute default.
CONNECT_TIMEOUT_SECONDS = 5
# The key pool's sessions, as pg_stat_activity shows them.
KEY_POOL_NAME = "clientele key pool"


def async_url(url: str) -> str:
    """Map a plain `sqlite://` or `postgresql://` URL to the async driver we ship."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"Unsupported DATABASE_URL {parsed.get_backend_name()!r}: use sqlite:// or postgresql://")


def is_sqlite(engine_or_connection: AsyncEngine | AsyncConnection) -> bool:
    return engine_or_connection.dialect.name == "sqlite"


def upsert_insert(connection: AsyncConnection, table: Table) -> Any:
    """INSERT … ON CONFLICT for the connection's engine."""
    return (sqlite.insert if is_sqlite(connection) else postgresql.insert)(table)


async def copy_rows(
    connection: AsyncConnection, table: Table, columns: tuple[str, ...], records: list[tuple[Any, ...]]
) -> None:
    """Append rows to a table in the connection's transaction: COPY on PostgreSQL (one statement whatever
    the number of rows, where SQLAlchemy's executemany runs an INSERT per row), executemany on SQLite.
    Ids may be UUIDs or their text."""
    if not records:
        return
    if is_sqlite(connection):
        uuids = [at for at, name in enumerate(columns) if isinstance(table.c[name].type, Uuid)]
        await connection.execute(
            table.insert(),
            [
                {
                    name: (uuid.UUID(value) if at in uuids and isinstance(value, str) else value)
                    for at, (name, value) in enumerate(zip(columns, record, strict=True))
                }
                for record in records
            ],
        )
        return
    jsons = [at for at, name in enumerate(columns) if isinstance(table.c[name].type, JSON)]
    if jsons:
        # COPY takes a json value as its text; executemany above lets the column's type write it.
        records = [
            tuple(orjson.dumps(value).decode() if at in jsons else value for at, value in enumerate(record))
            for record in records
        ]
    raw = await connection.get_raw_connection()
    assert raw.driver_connection is not None, "a checked-out connection has its driver's"
    await raw.driver_connection.copy_records_to_table(table.name, records=records, columns=columns)


def create_engine(url: str, *, pool_size: int = 10, pool_timeout: float = 10) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, a busy timeout and explicit BEGINs."""
    driver_url = async_url(url)
    if make_url(driver_url).get_backend_name() == "sqlite":
        # A fresh connection per checkout is cheap on SQLite and keeps no file handle
        # open across event loops (tests, CLI).
        engine = create_async_engine(driver_url, poolclass=NullPool, hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        driver_url,
        # A logged database error must not carry the customer data it was binding.
        hide_parameters=True,
        # A fixed pool: connections opened beyond it would be closed again as soon as they
        # were returned, so sustained load would open one per request. Requests beyond it
        # wait for a connection (pool_timeout, then 503).
        pool_size=pool_size,
        max_overflow=0,
        # No pre-ping: asyncpg's costs three round trips (BEGIN, ping, ROLLBACK) on every
        # checkout, more than a GET's own work. A connection that died with the server
        # fails its first statement instead; SQLAlchemy then drops the pool's older
        # connections, the request is a 503, and the next one connects afresh.
        pool_recycle=1800,
        pool_timeout=pool_timeout,
        connect_args={
            "timeout": CONNECT_TIMEOUT_SECONDS,
            # asyncpg prepares every statement, and after five runs PostgreSQL may switch to a
            # generic plan that cannot see the filter's value: for `filter[name]=a` that plan
            # counts through the whole trigram index (seconds) where the value's own plan
            # scans (milliseconds). Planning each time costs far less than one such miss.
            "server_settings": {"plan_cache_mode": "force_custom_plan"},
        },
    )


def unicode_lower(value: str | None) -> str | None:
    """PostgreSQL's lower(): each character on its own. Python's lower() also looks at the word
    around it, and makes "İ" two characters ("i" and a dot) and a final "Σ" "ς", so that a filter
    found different rows on SQLite ("οδοσ" missed "ΟΔΟΣ", "istanbul" missed "İstanbul")."""
    if not isinstance(value, str):
        return value
    if "İ" in value or "Σ" in value:
        # "İ" is the one character whose lowercase is two; its first is PostgreSQL's "i".
        return "".join(character.lower()[0] for character in value)
    return value.lower()


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # pysqlite's own implicit transactions are switched off so that we can send
        # BEGIN IMMEDIATE for writes: a deferred transaction that later upgrades to a
        # write fails at once with SQLITE_BUSY instead of waiting on the busy timeout.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # The timeout first: switching a new file to WAL needs its lock, which a process
        # starting at the same moment may hold.
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # SQLite's own lower() folds ASCII only; case-insensitive filters (lower(x) LIKE
        # lower(y)) should fold "É" and "О" as PostgreSQL's ILIKE does.
        dbapi_connection.create_function("lower", 1, unicode_lower, deterministic=True)

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        immediate = connection.get_execution_options().get("sqlite_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


KEY_POOL_SETTINGS = {"application_name": KEY_POOL_NAME, "plan_cache_mode": "force_generic_plan"}


async def create_key_pool(url: str, *, size: int) -> asyncpg.Pool:
    """A pool of plain asyncpg connections for the fast paths' statements by key, opened as requests
    need them, whose sessions use each statement's generic plan (docs/decisions.md, "Fast paths")."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return await asyncpg.create_pool(
        dsn,
        min_size=0,
        max_size=size,
        timeout=CONNECT_TIMEOUT_SECONDS,
        reset=keep_session,
        server_settings=KEY_POOL_SETTINGS,
    )


async def keep_session(_connection: asyncpg.Connection) -> None:
    """Nothing to undo when a connection goes back to the key pool: its statements run in autocommit
    and change no session state; asyncpg's default reset would cost a round trip per request."""


def alembic_config() -> "Config":
    """Alembic's configuration, pointing at the migrations shipped inside the package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return config


# Any fixed number will do: it only has to be the same for every Clientele process.
STARTUP_LOCK_KEY = 7_134_201


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection of the pool in a write transaction; on SQLite it takes the write lock at its start
    (BEGIN IMMEDIATE, waited for up to the busy timeout), so that writers take turns."""
    async with engine.connect() as connection:
        if is_sqlite(connection):
            connection = await connection.execution_options(sqlite_write=True)
        async with connection.begin():
            yield connection


@asynccontextmanager
async def exclusive_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that concurrent commands and server starts take in turn: SQLite's write lock, or
    on PostgreSQL a transaction-scoped advisory lock, so that two first starts cannot both see an
    empty database."""
    async with write_transaction(engine) as connection:
        if not is_sqlite(connection):
            await connection.execute(text(f"SELECT pg_advisory_xact_lock({STARTUP_LOCK_KEY})"))
        yield connection


class SchemaNotUpgradable(Exception):
    """The database's schema revision is not one of Clientele's migrations."""


class DatabaseUnreachable(Exception):
    """The database could not be reached or opened; the message says where and why in one line,
    without the URL's user or password."""


async def check_reachable(engine: AsyncEngine) -> None:
    """Open one connection, so that a wrong host, port, database, user or file is one line saying so
    rather than a traceback from whatever first needed the database."""
    try:
        if is_sqlite(engine):
            # Opened as aiosqlite would open it, but without aiosqlite: when the open fails, its worker
            # thread reports the failure after asyncio.run has closed the loop, and prints a traceback.
            sqlite3.connect(engine.url.database or ":memory:").close()
        else:
            async with engine.connect():
                pass
    except (OSError, TimeoutError, DBAPIError, sqlite3.Error) as error:
        raise DatabaseUnreachable(f"Cannot connect to {database_location(engine)}: {failure_reason(error)}.") from None


def database_location(engine: AsyncEngine) -> str:
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return f"the SQLite database {url.database}"
    return f"PostgreSQL at {url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def failure_reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT_SECONDS} s"
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    lines = str(cause).strip().splitlines()
    return lines[0].rstrip(".") if lines else type(cause).__name__


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema up to date; concurrent starts take turns."""
    async with exclusive_transaction(engine) as connection:
        await connection.run_sync(_upgrade_to_head)


def _upgrade_to_head(connection: Connection) -> None:
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = alembic_config()
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    unknown = set(MigrationContext.configure(connection).get_current_heads()) - known
    if unknown:
        raise SchemaNotUpgradable(
            f"This database has schema revision {', '.join(sorted(unknown))}, from a development version of "
            "Clientele whose migrations were replaced by one initial migration; it cannot be upgraded: "
            "recreate it (drop the PostgreSQL database, or delete the SQLite file) and run `clientele migrate`."
        )
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
