"""Where a numbered page's exact total comes from: one row of counters where they answer it,
else one `count(*)` of the page's own filter."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.listing.query import ListQuery
from clientele.listing.spec import Counters


def counters_statement(counters: Counters, query: ListQuery) -> Select[Any] | None:
    """The sum of counters that is the query's total, or None where no counter holds it: no filter,
    `is_deleted` alone, or one boolean filter with counters (`false`: active less `true`)."""
    table = counters.table

    def summed(column: str) -> ColumnElement[Any]:
        return func.coalesce(func.sum(table.c[column]), 0)

    others = {name: value for name, value in query.filters.items() if name != "is_deleted"}
    total: ColumnElement[Any] | None = None
    if query.filters.get("is_deleted", False):
        total = None if others else summed(counters.deleted)
    elif not others:
        total = summed(counters.active)
    elif len(others) == 1:
        [(name, value)] = others.items()
        if name in counters.flags:
            flagged = summed(counters.flags[name])
            total = flagged if value else summed(counters.active) - flagged
    return None if total is None else select(total).where(table.c.business_id == query.business_id)


def total_statement(connection: AsyncConnection, query: ListQuery) -> tuple[Select[Any], bool]:
    """The statement that reads the total of the query's rows, and whether it counts them."""
    counters = query.spec.counters
    if counters is not None and connection.dialect.name == "postgresql":
        from_counters = counters_statement(counters, query)
        if from_counters is not None:
            return from_counters, False
    return select(func.count()).select_from(query.spec.table).where(*query.conditions), True


@dataclass(frozen=True)
class Total:
    rows: int
    """The exact number of rows the query matches, all pages together."""
    counted: bool
    """Whether the database counted them with the page's own conditions (not read from counters)."""


async def total_of(*, connection: AsyncConnection, query: ListQuery) -> Total:
    """The query's total, from the counters where they hold it, else counted."""
    statement, counted = total_statement(connection, query)
    return Total(rows=int(await connection.scalar(statement) or 0), counted=counted)
