"""One page of a list: by number (OFFSET, with the exact total) or after a cursor (keyset, no total)."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, ColumnElement, Select, and_, false, literal, or_, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.listing.query import ListQuery, SortKey
from clientele.listing.totals import Total, total_of


@dataclass(frozen=True)
class FetchedPage:
    rows: list[Any]
    total: int | None
    """The rows of every page together; None on a cursor page, which never counts."""
    next_cursor: str | None
    more: bool = False
    """Whether rows follow this page."""


# A numbered page whose filter the database counted at most this many matches of is sorted from them.
GATHERED_AT_MOST = 10_000


async def fetch_page(*, connection: AsyncConnection, query: ListQuery) -> FetchedPage:
    """The query's page of rows, its total (numbered pages only) and the cursor of the rows after it."""
    matching = select(query.spec.table).where(*query.conditions).order_by(*query.order_by)
    if query.after is not None:
        # One row more than the page tells whether another page follows.
        rows = list(
            await connection.execute(matching.where(after_condition(query.sort, query.after)).limit(query.per_page + 1))
        )
        more = len(rows) > query.per_page
        return page_of(query, rows[: query.per_page], total=None, more=more)
    total = await total_of(connection=connection, query=query)
    offset = (query.page - 1) * query.per_page
    if offset >= total.rows:
        # Past the last row: nothing to fetch, and an offset this large could overflow the database's integer.
        return FetchedPage(rows=[], total=total.rows, next_cursor=None)
    if few_counted_matches(query, total):
        statement = sorted_from_matches(query, offset)
    else:
        statement = matching.limit(query.per_page).offset(offset)
    rows = list(await connection.execute(statement))
    return page_of(query, rows, total=total.rows, more=offset + len(rows) < total.rows)


def few_counted_matches(query: ListQuery, total: Total) -> bool:
    """Whether a filter narrows the list (`is_deleted` aside: it keeps whole stretches of the sort's
    index) to matches the database counted and found few: sorting them costs about what counting did."""
    return bool(query.filters.keys() - {"is_deleted"}) and total.counted and total.rows <= GATHERED_AT_MOST


def sorted_from_matches(query: ListQuery, offset: int) -> Select[Any]:
    """The page's rows found as the count found them: the matches' sort keys gathered (fenced, so
    that the planner cannot turn it back into a walk of the sort's index), sorted, and the page's
    rows read by id (docs/decisions.md, "Lists")."""
    table = query.spec.table
    keys = (
        select(*(key.column for key in query.sort))
        .where(*query.conditions)
        .cte("matches")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    page_keys = (
        select(keys.c.id)
        .order_by(*(key.order_of(keys.c[key.column.name]) for key in query.sort))
        .limit(query.per_page)
        .offset(offset)
        .subquery("page_keys")
    )
    return (
        select(table)
        .join(page_keys, table.c.id == page_keys.c.id)
        .where(table.c.business_id == query.business_id)
        .order_by(*query.order_by)
    )


def page_of(query: ListQuery, rows: list[Any], *, total: int | None, more: bool) -> FetchedPage:
    """These rows as a page, with a cursor for the rows after them if there are more (or may be: `follows`)."""
    next_cursor = None
    if rows and (more or query.spec.follows):
        next_cursor = cursor_after(query, rows[-1])
    elif query.spec.follows and query.after is not None:
        next_cursor = signed(query, query.after)
    return FetchedPage(rows=rows, total=total, next_cursor=next_cursor, more=more)


def cursor_after(query: ListQuery, row: Any) -> str:
    """The cursor for the rows after `row`."""
    return signed(query, [row._mapping[key.column.name] for key in query.sort])


def signed(query: ListQuery, values: list[Any]) -> str:
    return query.cursors.sign([None if value is None else str(value) for value in values])


def after_condition(sort: list[SortKey], values: list[Any]) -> ColumnElement[bool]:
    """The rows strictly after `values` in the order `sort`, in a form the indexes can serve.

    Consecutive keys in one direction compare as one row value, `(a, b) > (x, y)`, which both
    engines answer with an index range. Where the direction changes, the comparison expands
    to "past this group, or equal on it and past the rest", and a bound on the first group
    (`>=` or `<=`) still tells the index where to start. A column that holds NULL is a group
    of its own, as a row value with a NULL in it compares to nothing.
    """
    groups: list[tuple[bool, list[tuple[Column[Any], Any]]]] = []
    for key, value in zip(sort, values, strict=True):
        if groups and groups[-1][0] == key.descending and not key.column.nullable and not groups[-1][1][0][0].nullable:
            groups[-1][1].append((key.column, value))
        else:
            groups.append((key.descending, [(key.column, value)]))
    *outer, (last_descending, last_keys) = groups
    condition = past(last_descending, last_keys)
    for descending, keys in reversed(outer):
        condition = or_(past(descending, keys), and_(equal(keys), condition))
    if outer:
        condition = and_(past(*groups[0], inclusive=True), condition)
    return condition


def past(descending: bool, keys: list[tuple[Column[Any], Any]], *, inclusive: bool = False) -> ColumnElement[bool]:
    """These columns after these values in the sort direction, compared as one row value where several."""
    if keys[0][0].nullable:
        [(column, value)] = keys
        return past_nullable(descending, column, value, inclusive=inclusive)
    columns = [column for column, _ in keys]
    values = [literal(value, column.type) for column, value in keys]
    left, right = (columns[0], values[0]) if len(keys) == 1 else (tuple_(*columns), tuple_(*values))
    if descending:
        return left <= right if inclusive else left < right
    return left >= right if inclusive else left > right


def past_nullable(descending: bool, column: Column[Any], value: Any, *, inclusive: bool) -> ColumnElement[bool]:
    """`column` after `value` where NULL sorts above every value (`SortKey.order_of`)."""
    if value is None:
        if descending:
            return true() if inclusive else column.is_not(None)
        return column.is_(None) if inclusive else false()
    bound = literal(value, column.type)
    if descending:
        return column <= bound if inclusive else column < bound
    return or_(column >= bound if inclusive else column > bound, column.is_(None))


def equal(keys: list[tuple[Column[Any], Any]]) -> ColumnElement[bool]:
    return and_(
        *(column.is_(None) if value is None else column == literal(value, column.type) for column, value in keys)
    )
