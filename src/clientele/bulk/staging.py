"""The write path of import and seed: checked customers into a business through a staging table,
a batch per transaction, with the next batches checked in worker processes meanwhile.
"""

import asyncio
import os
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing import get_context
from typing import Any, TypeVar

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    and_,
    bindparam,
    case,
    func,
    literal,
    select,
    text,
    true,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from clientele.addresses.models import addresses
from clientele.auth import service as auth
from clientele.customers.models import customers
from clientele.db.clock import utcnow
from clientele.db.engine import copy_rows, is_sqlite, upsert_insert
from clientele.db.ids import new_id
from clientele.events import service as events
from clientele.ledgers.models import MONEY, house_account_transactions, loyalty_transactions
from clientele.tags.models import customer_tags

DEFAULT_BATCH_SIZE = 20_000
DEFAULT_JOBS = os.cpu_count() or 1

T = TypeVar("T")
Record = tuple[Any, ...]
"""One checked customer, in STAGED_COLUMNS order."""


class BulkError(Exception):
    """A problem with a command's input as a whole (no such business, no header): nothing is written."""


staging_metadata = MetaData()
staged_rows = Table(
    "clientele_staged_customers",
    staging_metadata,
    Column("line", Integer, nullable=False),
    Column("id", Uuid, nullable=False),
    Column("name", String, nullable=False),
    Column("dial_code", Integer, nullable=False),
    Column("phone", String, nullable=False),
    Column("email", String),
    Column("gender", Integer),
    Column("birth_date", Date),
    Column("house_account_limit", Integer),
    Column("is_loyalty_enabled", Boolean, nullable=False),
    Column("is_blacklisted", Boolean, nullable=False),
    Column("is_house_account_enabled", Boolean, nullable=False),
    Column("last_order_at", DateTime),
    Column("order_count", Integer, nullable=False),
    Column("notes", Text),
    Column("house_account_balance", MONEY, nullable=False),
    Column("loyalty_balance", MONEY, nullable=False),
    # None: the time the batch is stored (an import's rows), so that a sync starting a few seconds
    # before the last updated_at it stored finds them; checking may end long before the commit.
    Column("created_at", DateTime),
    Column("updated_at", DateTime),
    prefixes=["TEMPORARY"],
)
# The first line of the file that had each phone: later lines with it are duplicates.
staged_phones = Table(
    "clientele_staged_phones",
    staging_metadata,
    Column("dial_code", Integer, primary_key=True),
    Column("phone", String, primary_key=True),
    Column("line", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
STAGED_COLUMNS = tuple(column.name for column in staged_rows.columns)
STAGED_AT = {name: at for at, name in enumerate(STAGED_COLUMNS)}
CUSTOMER_COLUMNS = STAGED_COLUMNS[1:]
STAMPS = ("created_at", "updated_at")

# Each balance a customer is created with, and the ledger whose opening entry makes it its sum (SPEC §9).
LEDGERS = {"house_account_balance": house_account_transactions, "loyalty_balance": loyalty_transactions}
# The customer's count of entries in each of those ledgers: 1 where the balance opens one.
ENTRY_COUNTS = {"house_account_balance": "house_account_entries", "loyalty_balance": "loyalty_entries"}
OPENING_ENTRY_COLUMNS = (
    "business_id",
    "id",
    "customer_id",
    "amount",
    "balance_after",
    "meta",
    "created_at",
    "updated_at",
)
OPENING_ENTRY_META = {"source": "import"}


# The tables a batch's related rows go to, by name.
RELATED_TABLES = {table.name: table for table in (addresses, customer_tags)}


@dataclass(frozen=True)
class Related:
    """Rows of another table that belong to customers of the batch (the seed's tags and addresses).

    Only those of customers the batch really created are written: a skipped customer has none.
    The table goes by name, so that a batch made in a worker process pickles small.
    """

    table: str
    columns: tuple[str, ...]
    records: list[Record]

    def of(self, created: set[str]) -> list[Record]:
        at = self.columns.index("customer_id")
        return [record for record in self.records if record[at] in created]


@dataclass
class Prepared:
    """A batch after checking: the good rows, the rejected ones, and the rows that come with them."""

    records: list[Record]
    rejects: list[dict[str, Any]]
    related: list[Related] = field(default_factory=list)
    deleted: int = 0  # rows of deleted customers, left out
    position: int = 0


@dataclass(frozen=True)
class Written:
    created: set[str]
    existing: int
    duplicates: list[tuple[int, int]]  # (line, line of the first row with the same phone)
    related: dict[str, int]  # rows written per related table


class StagedWriter:
    """Writes checked customers of one business, one transaction per batch, through the staging tables."""

    def __init__(self, connection: AsyncConnection, business_id: uuid.UUID):
        self.connection = connection
        self.business_id = business_id
        self.analyzed = False
        rows, phones = staged_rows.c, staged_phones.c
        same_phone = and_(phones.dial_code == rows.dial_code, phones.phone == rows.phone)
        # SQLite reads `… JOIN … ON x ON CONFLICT` ambiguously unless the SELECT has a WHERE.
        self.remember_first_phones = (
            upsert_insert(connection, staged_phones)
            .from_select(
                ["dial_code", "phone", "line"],
                select(rows.dial_code, rows.phone, func.min(rows.line))
                .where(true())
                .group_by(rows.dial_code, rows.phone),
            )
            .on_conflict_do_nothing()
        )
        self.find_duplicates = (
            select(rows.line, phones.line.label("first_line"))
            .join(staged_phones, same_phone)
            .where(rows.line != phones.line)
        )
        c = customers.c
        stored_at = bindparam("stored_at", type_=DateTime)
        self.insert_new = (
            upsert_insert(connection, customers)
            .from_select(
                ["business_id", *CUSTOMER_COLUMNS, *ENTRY_COUNTS.values()],
                select(
                    literal(business_id, Uuid),
                    *(
                        func.coalesce(rows[name], stored_at) if name in STAMPS else rows[name]
                        for name in CUSTOMER_COLUMNS
                    ),
                    *(case((rows[balance] != 0, 1), else_=0) for balance in ENTRY_COUNTS),
                )
                .join(staged_phones, and_(same_phone, phones.line == rows.line))
                .where(true()),
            )
            .on_conflict_do_nothing(
                index_elements=[c.business_id, c.dial_code, c.phone], index_where=c.deleted_at.is_(None)
            )
            .returning(c.id)
        )

    async def write(self, prepared: Prepared) -> Written:
        connection = self.connection
        async with connection.begin():
            # Emptying the staging table also opens the transaction, which a raw COPY would not.
            await connection.execute(
                text(f"{'DELETE FROM' if is_sqlite(connection) else 'TRUNCATE'} {staged_rows.name}")
            )
            await copy_rows(connection, staged_rows, STAGED_COLUMNS, prepared.records)
            await connection.execute(self.remember_first_phones)
            duplicates = [(row.line, row.first_line) for row in await connection.execute(self.find_duplicates)]
            stored_at = utcnow()
            created = {str(row.id) for row in await connection.execute(self.insert_new, {"stored_at": stored_at})}
            # Once, with the first customers a run creates and before any related rows: a seed of 20,000
            # customers took 131 s instead of 8 without it, and the API's writes after an import read
            # every customer of the business for each address.
            if created and not self.analyzed and not is_sqlite(connection):
                await analyze_customers(connection)
                self.analyzed = True
            related_counts = {}
            for balance, ledger in LEDGERS.items():
                entries = opening_entries(prepared.records, created, balance, self.business_id, stored_at)
                await copy_rows(connection, ledger, OPENING_ENTRY_COLUMNS, entries)
                related_counts[ledger.name] = len(entries)
            for related in prepared.related:
                records = related.of(created)
                await copy_rows(connection, RELATED_TABLES[related.table], related.columns, records)
                related_counts[related.table] = len(records)
        return Written(
            created=created,
            existing=len(prepared.records) - len(duplicates) - len(created),
            duplicates=sorted(duplicates),
            related=related_counts,
        )

    async def record_run(self, *, source: str, created: int, rejected: int, skipped: int) -> None:
        """The run's one `customers.imported` event, once its last batch has committed: a summary, not an
        event per row (docs/decisions.md, "Events")."""
        async with self.connection.begin():
            await events.record_event(
                connection=self.connection,
                business_id=self.business_id,
                type=events.IMPORTED,
                record_id=None,
                data={
                    "business": {"id": str(self.business_id)},
                    "source": source,
                    "created": created,
                    "rejected": rejected,
                    "skipped": skipped,
                },
            )


def opening_entries(
    records: list[Record], created: set[str], balance: str, business_id: uuid.UUID, stored_at: datetime
) -> list[Record]:
    """The ledger entries that open the non-zero `balance` of each customer the batch created, stamped
    as their customer is: in the same transaction, each balance is then the sum of its ledger."""
    at = STAGED_AT[balance]
    id_at, created_at = STAGED_AT["id"], STAGED_AT["created_at"]
    return [
        (
            str(business_id),
            str(new_id()),
            record[id_at],
            record[at],
            record[at],
            OPENING_ENTRY_META,
            record[created_at] or stored_at,
            record[created_at] or stored_at,
        )
        for record in records
        if record[at] and record[id_at] in created
    ]


async def analyze_customers(connection: AsyncConnection) -> None:
    """Take PostgreSQL's statistics of `customers` again, so that they know the business being written
    (docs/decisions.md, "Bulk import and export")."""
    await connection.execute(text(f"ANALYZE {customers.name}"))


@asynccontextmanager
async def staging(engine: AsyncEngine, business_id: uuid.UUID) -> AsyncIterator[StagedWriter]:
    """A writer for the business (BulkError if there is none), on one connection for the whole run:
    the temporary tables live in it."""
    async with engine.connect() as connection:
        if is_sqlite(connection):
            connection = await connection.execution_options(sqlite_write=True)
        async with connection.begin():
            if not await auth.business_exists(connection=connection, business_id=business_id):
                raise BulkError(f"No business with id {business_id}.")
            # A pooled connection may still hold the tables of a run that failed.
            await connection.run_sync(staging_metadata.drop_all)
            await connection.run_sync(staging_metadata.create_all)
        yield StagedWriter(connection, business_id)
        async with connection.begin():
            await connection.run_sync(staging_metadata.drop_all)


async def pipeline(
    chunks: Iterator[T],
    prepare: Callable[[T], Prepared],
    consume: Callable[[T, Prepared], Awaitable[None]],
    *,
    jobs: int,
) -> None:
    """Prepare chunks in workers, `jobs` at a time, and consume each with its chunk, in order, as the
    database takes them.

    At most `jobs + 1` batches are in memory. A single batch is prepared here: starting
    workers would cost more than it saves. One job is a thread: it still checks the next
    batch while the database writes this one. Workers are spawned processes, so a program
    that calls this with more than one job must guard its main module
    (`if __name__ == "__main__":`), as the `clientele` script does.
    """
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None)
    if second is None:
        await consume(first, prepare(first))
        return
    loop = asyncio.get_running_loop()
    # Spawned, not forked: the parent has threads (the event loop's, the SQLite driver's).
    with ThreadPoolExecutor(1) if jobs <= 1 else ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as executor:
        pending = deque((chunk, loop.run_in_executor(executor, prepare, chunk)) for chunk in (first, second))
        for chunk in chunks:
            pending.append((chunk, loop.run_in_executor(executor, prepare, chunk)))
            if len(pending) > jobs:
                done, prepared = pending.popleft()
                await consume(done, await prepared)
        while pending:
            done, prepared = pending.popleft()
            await consume(done, await prepared)
