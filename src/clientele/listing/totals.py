"""Where a numbered page's exact total comes from: one row of counters where they answer it, a count
kept on the one parent record the filter names, else one `count(*)` of the page's own filter."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.listing.query import ListQuery
from clientele.listing.spec import Counters, KeptCount


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


def kept_count_statement(kept: KeptCount, query: ListQuery) -> Select[Any] | None:
    """The parent's kept count, where the query's one filter names exactly one parent (a parent not of
    the business, or none at all, holds no rows: no count row is read, and the total is 0)."""
    parents = query.filters.get(kept.filter)
    if query.filters.keys() != {kept.filter} or not isinstance(parents, list) or len(set(parents)) != 1:
        return None
    parent = kept.column.table
    return select(kept.column).where(parent.c.business_id == query.business_id, parent.c.id == parents[0])


def total_statement(connection: AsyncConnection, query: ListQuery) -> tuple[Select[Any], bool]:
    """The statement that reads the total of the query's rows, and whether that total is the number of
    the filter's own matches (counted, or kept on the one parent it names) rather than the business's
    counters."""
    kept = query.spec.kept_count
    from_kept = None if kept is None else kept_count_statement(kept, query)
    if from_kept is not None:
        return from_kept, True
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
    """Whether they are the filter's own matches, counted with the page's conditions or kept on the one
    parent the filter names (not the business's counters)."""


async def total_of(*, connection: AsyncConnection, query: ListQuery) -> Total:
    """The query's total, from the counters where they hold it, else counted."""
    statement, counted = total_statement(connection, query)
    return Total(rows=int(await connection.scalar(statement) or 0), counted=counted)
