"""Where a numbered page's exact total comes from: one row of counters where they answer it,
else one `count(*)` of the page's own filter."""

from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.listing.query import ListQuery
from clientele.listing.spec import Counters


def counted_total(counters: Counters, filters: dict[str, Any]) -> ColumnElement[Any] | None:
    """The sum of counters that is the total of these filters, or None where no counter holds it:
    no filter, `is_deleted` alone, or one boolean filter with counters (`false`: active less `true`)."""
    table = counters.table

    def summed(column: str) -> ColumnElement[Any]:
        return func.coalesce(func.sum(table.c[column]), 0)

    others = {name: value for name, value in filters.items() if name != "is_deleted"}
    if filters.get("is_deleted", False):
        return None if others else summed(counters.deleted)
    if not others:
        return summed(counters.active)
    if len(others) != 1:
        return None
    [(name, value)] = others.items()
    if name not in counters.flags:
        return None
    flagged = summed(counters.flags[name])
    return flagged if value else summed(counters.active) - flagged


def total_statement(connection: AsyncConnection, query: ListQuery) -> Select[Any]:
    """The statement that reads the total of the query's rows."""
    counters = query.spec.counters
    counted = None
    if counters is not None and connection.dialect.name == "postgresql":
        counted = counted_total(counters, query.filters)
    if counted is not None:
        return select(counted).where(counters.table.c.business_id == query.business_id)
    return select(func.count()).select_from(query.spec.table).where(*query.conditions)


async def total_of(*, connection: AsyncConnection, query: ListQuery) -> int:
    """The exact number of rows the query matches, all pages together."""
    return int(await connection.scalar(total_statement(connection, query)) or 0)
