"""The SQL the app itself issues for a request, captured in-process, and PostgreSQL's plans for it.

The app runs in this process (Starlette's TestClient) on the bench database, with a listener
on its engine that records every statement and its parameters. The harness thus explains
and replays exactly what the routes send, not a hand-written imitation of it.
"""

import asyncio
import datetime
import decimal
import os
import re
import uuid
import warnings
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import event

from clientele.app import create_app
from clientele.config import load_settings


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: tuple[Any, ...]

    def inlined(self) -> str:
        """The statement with its parameters written in as SQL literals (for psql and pgbench)."""
        return PLACEHOLDER.sub(lambda match: literal(self.parameters[int(match[1]) - 1]), self.sql)


@dataclass(frozen=True)
class Captured:
    status: int
    statements: list[Statement]


PLACEHOLDER = re.compile(r"\$(\d+)")


def literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | uuid.UUID):
        return f"'{value}'"
    if isinstance(value, list | tuple):
        return "ARRAY[" + ", ".join(literal(item) for item in value) + "]"
    return "'" + str(value).replace("'", "''") + "'"


def capture(url: str, token: str, paths: list[str]) -> dict[str, Captured]:
    """Send GET requests to an in-process app on `url`; the statements each one issued."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette's note that its TestClient will move off httpx
        from fastapi.testclient import TestClient

    os.environ["DATABASE_URL"] = url
    app = create_app(load_settings())
    results: dict[str, Captured] = {}
    log: list[Statement] = []

    def record(_connection: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        log.append(Statement(sql=statement, parameters=tuple(parameters or ())))

    with TestClient(app, raise_server_exceptions=True) as client:
        event.listen(app.state.engine.sync_engine, "before_cursor_execute", record)
        headers = {"Authorization": f"Bearer {token}"}
        client.get(paths[0], headers=headers)  # loads per-process state (e.g. the cursor key) outside the log
        for path in paths:
            log.clear()
            response = client.get(path, headers=headers)
            results[path] = Captured(status=response.status_code, statements=list(log))
    return results


# The list's own statements read customers (the page and its count) or the per-business counters;
# the token lookup and the include loaders read other tables first.
LIST_STATEMENT = re.compile(r"^\s*(customers|customer_counts)\b")
# Where a numbered page's total comes from (clientele.listing.totals): a count of the page's own
# filter, or the counters' row.
TOTAL_STATEMENT = re.compile(r"\bcount\(\*\)|\bFROM customer_counts\b")


def touches_customers(statement: Statement) -> bool:
    """Whether a statement is the count or the page of a customers list (or a customer by key)."""
    first_from = re.search(r"\bFROM\b(.*)", statement.sql, re.DOTALL)
    return bool(first_from and LIST_STATEMENT.match(first_from[1]))


def reads(statement: Statement, tables: frozenset[str]) -> bool:
    """Whether a statement's first FROM is one of these tables (a list's count or page of them)."""
    first_from = re.search(r"\bFROM\s+(\w+)", statement.sql)
    return bool(first_from and first_from[1] in tables)


def total_statement(statements: list[Statement]) -> Statement | None:
    """The statement that read a list request's total; None for a cursor page, which sends none."""
    return next(
        (
            statement
            for statement in statements
            if touches_customers(statement) and TOTAL_STATEMENT.search(statement.sql)
        ),
        None,
    )


# A few counter rows per business (clientele.listing.spec.Counters): reading them all is the right plan.
SMALL_TABLES = frozenset({"customer_counts"})


def plan_flags(plan: str) -> list[str]:
    """Plan nodes worth a flag: every sequential scan, with its table, but of the small tables."""
    return sorted(
        {match[0] for match in re.finditer(r"(?:Parallel )?Seq Scan on (\w+)", plan) if match[1] not in SMALL_TABLES}
    )


@dataclass(frozen=True)
class Plan:
    statement: str
    analyzed: str
    execution_ms: float | None
    generic: str
    flags: list[str]
    generic_flags: list[str]


async def explain(url: str, statements: list[Statement]) -> list[Plan]:
    """EXPLAIN (ANALYZE, BUFFERS) each statement as a custom plan (the values known), and the
    generic plan PostgreSQL may switch a prepared statement to after five runs."""
    connection = await asyncpg.connect(url)
    plans = []
    try:
        for index, statement in enumerate(statements):
            name = f"bench_{index}"
            await connection.execute(f"PREPARE {name} AS {statement.sql}")
            arguments = ", ".join(literal(value) for value in statement.parameters)
            execute = f"EXECUTE {name}({arguments})" if statement.parameters else f"EXECUTE {name}"
            analyzed = "\n".join(row[0] for row in await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {execute}"))
            await connection.execute("SET plan_cache_mode = force_generic_plan")
            generic = "\n".join(row[0] for row in await connection.fetch(f"EXPLAIN {execute}"))
            await connection.execute(f"RESET plan_cache_mode; DEALLOCATE {name}")
            found = re.search(r"Execution Time: ([\d.]+) ms", analyzed)
            plans.append(
                Plan(
                    statement=statement.inlined(),
                    analyzed=analyzed,
                    execution_ms=float(found[1]) if found else None,
                    generic=generic,
                    flags=plan_flags(analyzed),
                    generic_flags=plan_flags(generic),
                )
            )
    finally:
        await connection.close()
    return plans


def explain_all(url: str, statements: list[Statement]) -> list[Plan]:
    return asyncio.run(explain(url, statements))
