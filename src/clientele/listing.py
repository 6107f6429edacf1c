"""The one list engine: filter, sort, include and page parsing, and the page body.

Every list route declares a `ListSpec`; the engine turns the query string into SQL
clauses (400 for anything it does not know), counts and fetches one page, and builds
the `data`/`links`/`meta` body. Single-record routes use the same `include` parsing.

A page is chosen either by number (`page`, OFFSET) or by keyset (`cursor`): a cursor holds
the sort values of the last row served, and the next page is the rows after it in the sort
order, which an index finds directly however deep the page is.
"""

import math
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, Field
from sqlalchemy import (
    CTE,
    Column,
    ColumnElement,
    Select,
    Subquery,
    and_,
    false,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.util import ClauseAdapter
from sqlalchemy.sql.visitors import iterate

from clientele.auth.dependencies import Authenticated
from clientele.cursors import CursorSigner, cursor_key
from clientele.database import Connection
from clientele.errors import BadRequest
from clientele.wire import parse_uuid

PHONE_SEPARATORS = re.compile(r"[\s\-.()+]")
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 1000
# Any page past the last is a valid, empty page; this bound only keeps the number (and the
# `page+1` of its links) within the 64-bit integers JSON encoders and databases accept.
MAX_PAGE = 10**18 - 1
BOOLEAN_VALUES = {"true": True, "1": True, "false": False, "0": False}
# How the sort values a cursor carries as text are read back, by the column's Python type.
CURSOR_VALUE_PARSERS: dict[type, Callable[[str], Any]] = {datetime: datetime.fromisoformat, uuid.UUID: uuid.UUID}
CURSOR_WITH_PAGE = "The cursor and page parameters cannot be combined: a cursor already says where the page starts."
CURSOR_DESCRIPTION = (
    "Keyset paging, for syncs and deep walks: the `meta.next_cursor` of the previous response. "
    "Send it with the same `sort` and filters (`per_page` and `include` may change); the page is the rows "
    "after the last row of that response, found through an index, so it costs the same at any depth, and "
    "rows written during a walk never make it skip a row that was already there. Not together with `page`. "
    "In a cursor page, `meta.current_page`, `from` and `to` are null (a position would cost counting every "
    "row before it); `total`, `last_page`, `per_page` and `path` are as for numbered pages; `links.next` "
    "carries the next cursor; `links.prev` is null (cursors only go forward); `links.first` and "
    "`links.last` are numbered pages. A cursor that was altered, or that belongs to another sort, filter, "
    "list or business, is a 400 naming `cursor`."
)
T = TypeVar("T")
Build = Callable[[str], ColumnElement[bool]]
"""A filter's condition for the value sent."""


class PageLinks(BaseModel):
    first: str
    last: str
    prev: str | None
    next: str | None


class PageMeta(BaseModel):
    current_page: int | None = Field(description="The page number; null on a page fetched by `cursor`.")
    from_: int | None = Field(alias="from")
    last_page: int
    next_cursor: str | None = Field(
        description="Pass as `cursor` (with the same sort and filters) for the rows after this page; "
                    "null on the last page.")
    path: str
    per_page: int
    to: int | None
    total: int


class Page(BaseModel, Generic[T]):
    """The body of every list response (documentation; bodies are built by `page_body`)."""

    data: list[T]
    links: PageLinks
    meta: PageMeta


# How /openapi.json types a query value. Each admits only values the parser accepts, so that a
# client generated from the document never sends a 400; the parser may accept more (`1`/`0` for a
# boolean, separators in a phone, values that match nothing).
TEXT_VALUE: dict[str, Any] = {"type": "string"}
BOOLEAN_VALUE: dict[str, Any] = {"type": "boolean"}
PHONE_VALUE: dict[str, Any] = {"type": "string", "pattern": r"^[0-9 ().+-]*[0-9][0-9 ().+-]*$"}
# A calendar date (29 February aside) from year 1000, optionally with a time of day.
UPDATED_AFTER_VALUE: dict[str, Any] = {"type": "string", "pattern": (
    r"^[1-9][0-9]{3}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|(?:0[13578]|1[02])-31)(?:[ T](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])?$")}


def comma_list(items: dict[str, Any]) -> dict[str, Any]:
    """A comma-separated list, as OpenAPI says it (`include=tags,addresses`)."""
    return {"schema": {"type": "array", "items": items}, "style": "form", "explode": False}


@dataclass(frozen=True)
class Filter:
    """One `filter[name]`: how its text becomes a SQL condition, and how the docs describe it."""

    build: Build
    description: str
    # The parameter's `schema` (and `style`, `explode`) in /openapi.json.
    documented: dict[str, Any] = field(default_factory=lambda: {"schema": TEXT_VALUE})


@dataclass(frozen=True)
class ListSpec:
    """What one list route accepts. Sort columns are NOT NULL: cursors compare their values."""

    filters: dict[str, Filter]
    sort_columns: dict[str, Column[Any]]
    id_column: Column[Any]
    deleted_at: Column[Any]
    includes: tuple[str, ...] = ()
    implied_includes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SortKey:
    column: Column[Any]
    descending: bool

    @property
    def order(self) -> ColumnElement[Any]:
        return self.column.desc() if self.descending else self.column.asc()


@dataclass(frozen=True)
class ListQuery:
    conditions: list[ColumnElement[bool]]
    sort: list[SortKey]
    includes: frozenset[str]
    page: int
    per_page: int
    filters: dict[str, str]
    """The filter values given, by filter name (empty ones, which are ignored, left out)."""
    cursors: CursorSigner
    after: list[Any] | None = None
    """With `cursor`: the sort values of the last row already served."""

    @property
    def order_by(self) -> list[ColumnElement[Any]]:
        return [key.order for key in self.sort]


def invalid(parameter: str, sentence: str) -> BadRequest:
    return BadRequest(sentence, errors={parameter: [sentence]})


# --- filter builders -------------------------------------------------------------------


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def longer_than(column: Column[Any], value: str) -> bool:
    """Whether `value` is longer than any text `column` holds, and so matches nothing in it. Such a
    value is not sent: SQLite refuses a LIKE pattern over 50,000 bytes, an error where the answer is plain."""
    return len(value) > column.type.length  # type: ignore[attr-defined]


def within_column(column: Column[Any], build: Build) -> Build:
    """`build`, except that a value longer than `column` can hold matches nothing."""
    return lambda value: false() if longer_than(column, value) else build(value)


def substring_filter(column: Column[Any], what: str) -> Filter:
    """Case-insensitive substring match."""
    return Filter(
        build=within_column(column, lambda value: column.ilike(f"%{escape_like(value)}%", escape="\\")),
        description=f"Case-insensitive substring of the {what}.",
    )


def lowered_contains(lowered: ColumnElement[Any], value: str) -> ColumnElement[bool]:
    """`value` is a case-insensitive substring of `lowered`, a lowered text: ILIKE's match, which
    lowers both sides, without lowering each row as it is read where `lowered` is stored so."""
    return lowered.like(func.lower(literal(f"%{escape_like(value)}%")), escape="\\")


def lowered_substring_filter(lowered: Column[Any], what: str) -> Filter:
    return Filter(build=within_column(lowered, lambda value: lowered_contains(lowered, value)),
                  description=f"Case-insensitive substring of the {what}.")


def email_filter(lowered: Column[Any], column: Column[Any]) -> Filter:
    """Case-insensitive substring of the email (`lowered` holds it lowered).

    A value with three or more characters before an `@` is looked up in the index by that part
    alone and then checked whole: most addresses share a few domains, so the trigrams of
    `@gmail.com` are in nearly every index entry, and searching for them too made finding one
    address at a million customers 2–3 times slower.
    """

    def build(value: str) -> ColumnElement[bool]:
        local_part, at, _ = value.rpartition("@")
        if not at or len(local_part) < 3:
            return lowered_contains(lowered, value)
        # The whole value is checked on `lower(column)`, which no index covers, so that the
        # index is asked for the local part only.
        return and_(lowered_contains(lowered, local_part),
                    lowered_contains(func.lower(column), value))

    return Filter(build=within_column(lowered, build), description="Case-insensitive substring of the email.")


def exact_text_filter(column: Column[Any], what: str) -> Filter:
    return Filter(build=within_column(column, lambda value: column == value), description=f"Exact {what}.")


def phone_filter(column: Column[Any]) -> Filter:
    """Substring of the stored digits; separators in the value are ignored."""

    def build(value: str) -> ColumnElement[bool]:
        digits = PHONE_SEPARATORS.sub("", value)
        if not digits.isdigit() or not digits.isascii():
            raise invalid("filter[phone]", "The phone filter must contain digits only.")
        return false() if longer_than(column, digits) else column.like(f"%{digits}%")

    return Filter(build=build, description="Substring of the stored phone digits (separators are ignored).",
                  documented={"schema": PHONE_VALUE})


def parse_integer(name: str, value: str) -> int:
    """The integer value of `filter[name]` (trimmed, as every filter value); 400 where it is not one."""
    if not re.fullmatch(r"-?[0-9]{1,9}", value):
        raise invalid(f"filter[{name}]", f"The {name} filter must be an integer.")
    return int(value)


def integer_filter(column: Column[Any], name: str, *, minimum: int, maximum: int) -> Filter:
    """An exact integer; any integer is taken, and the document offers the range that can match."""
    return Filter(build=lambda value: column == parse_integer(name, value), description=f"Exact {name} (integer).",
                  documented={"schema": {"type": "integer", "minimum": minimum, "maximum": maximum}})


def parse_boolean(parameter: str, value: str) -> bool:
    parsed = BOOLEAN_VALUES.get(value.lower())
    if parsed is None:
        raise invalid(parameter, f"The {parameter} value must be one of true, false, 1, 0.")
    return parsed


def boolean_filter(name: str, when_true: ColumnElement[bool], when_false: ColumnElement[bool],
                   description: str) -> Filter:
    return Filter(
        build=lambda value: when_true if parse_boolean(f"filter[{name}]", value) else when_false,
        description=f"{description} (`true`, `false`, `1` or `0`).",
        documented={"schema": BOOLEAN_VALUE},
    )


def boolean_column_filter(column: Column[Any], name: str) -> Filter:
    return boolean_filter(name, column.is_(True), column.is_(False), f"Whether {name.removeprefix('is_')}")


def parse_timestamp(parameter: str, value: str) -> datetime:
    for layout in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, layout)
        except ValueError:
            continue
    raise invalid(parameter, f"The {parameter} value must be a date YYYY-MM-DD or a UTC time YYYY-MM-DD HH:MM:SS.")


def updated_after_filter(column: Column[Any]) -> Filter:
    return Filter(
        build=lambda value: column > parse_timestamp("filter[updated_after]", value),
        description="Updated strictly after this UTC time (`YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`).",
        documented={"schema": UPDATED_AFTER_VALUE},
    )


def parse_ids(value: str) -> list[uuid.UUID]:
    """The UUIDs of a comma list; values that are not UUIDs are dropped, so they match nothing."""
    return [parsed for part in value.split(",") if (parsed := parse_uuid(part.strip())) is not None]


def ids_filter(match_any: Callable[[list[uuid.UUID]], ColumnElement[bool]], name: str) -> Filter:
    """Any of a comma list of ids; values that are not UUIDs match nothing."""

    def build(value: str) -> ColumnElement[bool]:
        ids = parse_ids(value)
        return match_any(ids) if ids else false()

    return Filter(build=build, description=f"Comma-separated {name}s; a record with any of them matches.",
                  documented=comma_list({"type": "string", "format": "uuid"}))


def deleted_filter(deleted_at: Column[Any]) -> Filter:
    return boolean_filter(
        "is_deleted", deleted_at.is_not(None), deleted_at.is_(None),
        "`true` lists only deleted records; `false` or absent, only non-deleted ones",
    )


# --- parsing ---------------------------------------------------------------------------


# Greedy, so that a nested key such as `filter[name][0]` is an unknown filter, not ignored.
FILTER_KEY = re.compile(r"^filter\[(?P<name>.*)\]$")


def parse_includes(raw: str | None, spec: ListSpec) -> frozenset[str]:
    """The `include` list, with implied relations added; 400 for an unknown name."""
    if raw is None or not raw.strip():
        return frozenset()
    names = {name.strip() for name in raw.split(",") if name.strip()}
    unknown = sorted(names - set(spec.includes))
    if unknown:
        allowed = ", ".join(spec.includes) or "nothing"
        raise invalid("include", f"Unknown include {unknown[0]!r}; allowed: {allowed}.")
    for name in list(names):
        if name in spec.implied_includes:
            names.add(spec.implied_includes[name])
    return frozenset(names)


def parse_sort(raw: str | None, spec: ListSpec) -> list[SortKey]:
    """`sort` keys with `-` for descending; ties broken by id in the last key's direction.

    A key given again is left out: it could only order rows its first mention left tied, and it
    leaves none (SQLite also refuses an ORDER BY of over 2,000 terms).
    """
    keys = [key.strip() for key in (raw or "created_at").split(",") if key.strip()] or ["created_at"]
    order: list[SortKey] = []
    descending = False
    for key in keys:
        descending = key.startswith("-")
        column = spec.sort_columns.get(key.removeprefix("-"))
        if column is None:
            allowed = ", ".join(spec.sort_columns)
            raise invalid("sort", f"Unknown sort {key!r}; allowed: {allowed} (prefix - for descending).")
        if all(sort_key.column is not column for sort_key in order):
            order.append(SortKey(column, descending))
    order.append(SortKey(spec.id_column, descending))
    return order


def parse_positive(parameter: str, raw: str | None, default: int, maximum: int) -> int:
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not re.fullmatch(r"[0-9]{1,18}", text) or not 1 <= int(text) <= maximum:
        raise invalid(parameter, f"The {parameter} value must be an integer between 1 and {maximum}.")
    return int(text)


def signer_for(*, spec: ListSpec, business_id: uuid.UUID, sort: list[SortKey], filters: dict[str, str],
               key: bytes) -> CursorSigner:
    """The signer of this list's cursors: bound to its resource, business, sort and filter values."""
    binding = orjson.dumps([
        spec.id_column.table.name,
        str(business_id),
        [f"{'-' if sort_key.descending else ''}{sort_key.column.name}" for sort_key in sort],
        sorted(filters.items()),
    ])
    return CursorSigner(key=key, binding=binding)


def parse_cursor(raw: str, *, sort: list[SortKey], cursors: CursorSigner) -> list[Any]:
    """The typed sort values of the row a cursor points after; 400 naming `cursor` if it is not valid."""
    # Verified, so these are the values `cursor_after` wrote for this very sort.
    return [CURSOR_VALUE_PARSERS[key.column.type.python_type](value)
            for key, value in zip(sort, cursors.open(raw), strict=True)]


def parse_list_query(request: Request, spec: ListSpec, *, business_id: uuid.UUID, signing_key: bytes) -> ListQuery:
    """Everything a list request asks for, or a 400 naming the parameter at fault."""
    params = request.query_params
    conditions: list[ColumnElement[bool]] = []
    filters: dict[str, str] = {}
    deleted_given = False
    for key, value in params.items():
        match = FILTER_KEY.match(key)
        if match is None:
            continue
        name = match["name"]
        list_filter = spec.filters.get(name)
        if list_filter is None:
            allowed = ", ".join(spec.filters)
            raise invalid(key, f"Unknown filter {name!r}; allowed: {allowed}.")
        # Trimmed, as text in a body is.
        value = value.strip()
        if value == "":
            continue
        if "\x00" in value:
            # No stored text holds NUL (writes refuse it), and PostgreSQL refuses it as a parameter.
            raise invalid(key, f"The {key} value must not contain NUL characters.")
        deleted_given = deleted_given or name == "is_deleted"
        conditions.append(list_filter.build(value))
        filters[name] = value
    if not deleted_given:
        conditions.append(spec.deleted_at.is_(None))
    sort = parse_sort(params.get("sort"), spec)
    includes = parse_includes(params.get("include"), spec)
    page = parse_positive("page", params.get("page"), 1, MAX_PAGE)
    per_page = parse_positive("per_page", params.get("per_page"), DEFAULT_PER_PAGE, MAX_PER_PAGE)
    cursors = signer_for(spec=spec, business_id=business_id, sort=sort, filters=filters, key=signing_key)
    after = None
    # Empty values are ignored, as for filters and `page`.
    raw_cursor = (params.get("cursor") or "").strip()
    if raw_cursor:
        if (params.get("page") or "").strip():
            raise invalid("cursor", CURSOR_WITH_PAGE)
        after = parse_cursor(raw_cursor, sort=sort, cursors=cursors)
    return ListQuery(conditions=conditions, sort=sort, includes=includes, page=page, per_page=per_page,
                     filters=filters, cursors=cursors, after=after)


def list_query_dependency(spec: ListSpec) -> Callable[..., Awaitable[ListQuery]]:
    """The route dependency; after the caller's own (401, 403), since cursors are tied to its business."""

    async def list_query(request: Request, principal: Authenticated, connection: Connection) -> ListQuery:
        key = await cursor_key(state=request.app.state, settings=request.app.state.settings, connection=connection)
        return parse_list_query(request, spec, business_id=principal.business_id, signing_key=key)

    return list_query


def include_dependency(spec: ListSpec) -> Callable[[Request], Awaitable[frozenset[str]]]:
    # Async although it awaits nothing: FastAPI runs a plain function in a worker thread.
    async def includes(request: Request) -> frozenset[str]:
        return parse_includes(request.query_params.get("include"), spec)

    return includes


# --- fetching and the page body ---------------------------------------------------------


@dataclass(frozen=True)
class FetchedPage:
    rows: list[Any]
    total: int
    next_cursor: str | None


def beyond(descending: bool, keys: list[tuple[Column[Any], Any]], *, inclusive: bool = False) -> ColumnElement[bool]:
    """These columns compared with these values in the sort direction: one row value for several."""
    columns = [column for column, _ in keys]
    values = [literal(value, column.type) for column, value in keys]
    left, right = (columns[0], values[0]) if len(keys) == 1 else (tuple_(*columns), tuple_(*values))
    if descending:
        return left <= right if inclusive else left < right
    return left >= right if inclusive else left > right


def equal(keys: list[tuple[Column[Any], Any]]) -> ColumnElement[bool]:
    return and_(*(column == literal(value, column.type) for column, value in keys))


def after_condition(sort: list[SortKey], values: list[Any]) -> ColumnElement[bool]:
    """The rows strictly after `values` in the order `sort`, in a form the indexes can serve.

    Consecutive keys in one direction compare as one row value, `(a, b) > (x, y)`, which both
    engines answer with an index range. Where the direction changes, the comparison expands
    to "beyond on this group, or equal on it and beyond on the rest", and a bound on the first
    group (`>=` or `<=`) still tells the index where to start.
    """
    groups: list[tuple[bool, list[tuple[Column[Any], Any]]]] = []
    for key, value in zip(sort, values, strict=True):
        if groups and groups[-1][0] == key.descending:
            groups[-1][1].append((key.column, value))
        else:
            groups.append((key.descending, [(key.column, value)]))
    *outer, (last_descending, last_keys) = groups
    condition = beyond(last_descending, last_keys)
    for descending, keys in reversed(outer):
        condition = or_(beyond(descending, keys), and_(equal(keys), condition))
    if outer:
        condition = and_(beyond(*groups[0], inclusive=True), condition)
    return condition


def cursor_after(query: ListQuery, row: Any) -> str:
    """The cursor for the rows after `row`."""
    return query.cursors.sign([str(row._mapping[key.column.name]) for key in query.sort])


# A filter matching at most this share of a list's rows is served by gathering its matches and
# sorting them, rather than by walking the sort's index until a page of matches turns up.
GATHERED_SHARE = 0.01
# Before gathering matches whose total it knows, a page first walks the sort's index, where that
# is expected to read no more rows than gathering would: reading at most this many times the
# rows it would read were the matches spread evenly, then giving up (they are bunched elsewhere).
WALK_SLACK = 4


def gathering_pays(query: ListQuery) -> bool:
    """Whether a page of this query, if its filters are selective, is better sorted from its matches:
    a filter is given (`is_deleted` aside), and none bounds the first sort column (the sort's
    index would then start at the matches, as `filter[updated_after]` with `sort=updated_at`)."""
    sort_column = query.sort[0].column
    return bool(set(query.filters) - {"is_deleted"}) and not any(
        element is sort_column for condition in query.conditions for element in iterate(condition))


def count_statement(matching: Select[Any]) -> Select[Any]:
    """The number of rows `matching` selects."""
    return select(func.count()).select_from(matching.order_by(None).subquery())


async def fetch_page(*, connection: AsyncConnection, query: ListQuery, base: Select[Any],
                     scope: Iterable[ColumnElement[bool]], known_total: int | None = None,
                     population: int | None = None, at_least: int = 0,
                     count: Callable[[Select[Any]], Awaitable[int]] | None = None) -> FetchedPage:
    """One page of rows of `base`, the total count and the next page's cursor, under the tenant
    `scope` and the filters; by keyset after `query.after` when given, else by offset.

    `known_total` is an exact total the caller already has (e.g. from counters); without it
    the matching rows are counted, by `count` where given (it counts the rows of the statement
    it is handed). `population`, where the caller knows it, is how many rows the list has
    unfiltered: a page of a filter that matches at most `GATHERED_SHARE` of them is sorted
    from its gathered matches (PostgreSQL). The planner would rather walk the sort's index,
    expecting matches spread evenly along it; where they are not (recently updated
    customers, in creation order), that walk reads most of the index for one page. Where the
    total is not known yet, the matches are gathered first, up to that share: if they are
    all there, they give the total and the page in one statement, and the filter's index is
    searched once instead of twice, unless `at_least` (matches the caller knows of) is already
    more than that share. Where the total is known and not so small that gathering
    reads fewer rows than a walk would, the walk is tried first, bounded (`WALK_SLACK`): a
    selective filter on a large list is then found in a stretch of the sort's index, not
    fetched row by row from all over the table.
    """
    scope = list(scope)
    conditions = [*scope, *query.conditions]
    bound = int(population * GATHERED_SHARE) if population and gathering_pays(query) else None
    if known_total is None and bound and at_least <= bound:
        gathered = await gathered_page(connection=connection, query=query, base=base, scope=scope, bound=bound)
        if gathered is not None:
            return gathered
    total = known_total
    if total is None:
        matching = base.where(*conditions)
        total = await count(matching) if count is not None else await connection.scalar(count_statement(matching)) or 0
    if query.after is None:
        offset = (query.page - 1) * query.per_page
        if offset >= total:
            # Past the last row (or no rows at all): nothing to fetch, and an offset this large
            # could overflow the database's integer.
            return FetchedPage(rows=[], total=total, next_cursor=None)
        limit = query.per_page
    else:
        # One row more than the page tells whether another page follows, whatever the total says
        # about rows before the cursor.
        limit, offset = query.per_page + 1, 0
    if bound is not None and total <= bound:
        # Read in order, a walk's rows lie together; gathered, each match is a row of its own.
        walk = math.ceil((offset + limit) * population / total) if total else None
        if walk is not None and walk <= total:
            walked = await walked_page(connection=connection, query=query, base=base, scope=scope, total=total,
                                       rows_read=WALK_SLACK * walk, limit=limit, offset=offset)
            if walked is not None:
                return walked
        page_keys = sorted_keys(query, gathered_keys(query, base.where(*conditions)), limit=limit, offset=offset)
        statement = rows_of(query, base, scope, page_keys)
    else:
        matching = base.where(*conditions)
        if query.after is not None:
            matching = matching.where(after_condition(query.sort, query.after))
        statement = matching.order_by(*query.order_by).limit(limit).offset(offset)
    return paged(query, list(await connection.execute(statement)), total, offset=offset)


async def walked_page(*, connection: AsyncConnection, query: ListQuery, base: Select[Any],
                      scope: list[ColumnElement[bool]], total: int, rows_read: int, limit: int,
                      offset: int) -> FetchedPage | None:
    """The page found among the first `rows_read` rows of the list in sort order (after the cursor,
    if any); None where they do not hold the whole page."""
    walk = base.where(*scope)
    if query.after is not None:
        walk = walk.where(after_condition(query.sort, query.after))
    walked = walk.order_by(*query.order_by).limit(rows_read).subquery("walked")
    to_walked = ClauseAdapter(walked)
    statement = (select(walked).where(*(to_walked.traverse(condition) for condition in query.conditions))
                 .order_by(*(to_walked.traverse(order) for order in query.order_by)).limit(limit).offset(offset))
    rows = list(await connection.execute(statement))
    # Fewer rows than asked for: by offset, a walk is only tried where the matches fill the page
    # (fetch_page's rule implies offset + limit <= total), so the walk ran out; by cursor, the
    # page may end the list, which the walk cannot tell. Either way, gathering answers.
    if len(rows) < limit:
        return None
    return paged(query, rows, total, offset=offset)


def gathered_keys(query: ListQuery, matching: Select[Any], *, at_most: int | None = None) -> CTE:
    """The sort keys (the last is the id) of the matching rows, gathered apart from the rows:
    sorting them moves a few bytes a row, not whole rows."""
    keys = matching.with_only_columns(*(key.column for key in query.sort))
    if at_most is not None:
        keys = keys.limit(at_most)
    return keys.cte("matches").prefix_with("MATERIALIZED", dialect="postgresql")


def sorted_keys(query: ListQuery, keys: CTE, *, limit: int, offset: int) -> Subquery:
    """The page's keys: those after the cursor, if any, in sort order, from `offset`."""
    to_keys = ClauseAdapter(keys)
    page = select(keys)
    if query.after is not None:
        page = page.where(to_keys.traverse(after_condition(query.sort, query.after)))
    return (page.order_by(*(to_keys.traverse(order) for order in query.order_by))
            .limit(limit).offset(offset).subquery("page_keys"))


def rows_of(query: ListQuery, base: Select[Any], scope: list[ColumnElement[bool]], page_keys: Subquery) -> Select[Any]:
    """The rows of `base` with these keys, by id, in sort order."""
    id_column = query.sort[-1].column
    return base.join(page_keys, id_column == page_keys.c[id_column.name]).where(*scope).order_by(*query.order_by)


def paged(query: ListQuery, rows: list[Any], total: int, *, offset: int) -> FetchedPage:
    """The page of these rows: by cursor, they are the page and one more row if another page
    follows; by offset, the page's rows from `offset`."""
    if query.after is not None:
        more = len(rows) > query.per_page
        rows = rows[:query.per_page]
    else:
        more = offset + len(rows) < total
    return FetchedPage(rows=rows, total=total, next_cursor=cursor_after(query, rows[-1]) if more and rows else None)


GATHERED_TOTAL = "gathered_total"


async def gathered_page(*, connection: AsyncConnection, query: ListQuery, base: Select[Any],
                        scope: list[ColumnElement[bool]], bound: int) -> FetchedPage | None:
    """The page and the total of a filter that matches at most `bound` rows, from one statement
    that gathers the keys of up to `bound + 1` matches; None where it matches more (nothing is
    then known).

    The statement always returns a row, with the total, even where the page is empty: the page
    is joined to a single row.
    """
    keys = gathered_keys(query, base.where(*scope, *query.conditions), at_most=bound + 1)
    if query.after is not None:
        limit, offset = query.per_page + 1, 0
    else:
        # No page starts beyond the gathered rows, and the offset stays within the database's integer.
        limit, offset = query.per_page, min((query.page - 1) * query.per_page, bound + 1)
    page = rows_of(query, base, scope, sorted_keys(query, keys, limit=limit, offset=offset)).subquery("page")
    to_page = ClauseAdapter(page)
    counted = select(func.count()).select_from(keys).scalar_subquery().label(GATHERED_TOTAL)
    one_row = select(literal(1).label("one")).subquery("one_row")
    statement = (select(counted, *page.c).select_from(one_row.outerjoin(page, true()))
                 .order_by(*(to_page.traverse(order) for order in query.order_by)))
    result = list(await connection.execute(statement))
    total = result[0]._mapping[GATHERED_TOTAL]
    if total > bound:
        return None
    return paged(query, [row for row in result if row.id is not None], total, offset=offset)


def page_body(*, request: Request, data: list[dict[str, Any]], fetched: FetchedPage,
              query: ListQuery) -> dict[str, Any]:
    """The `data`/`links`/`meta` body; links are absolute and keep the other parameters.

    A numbered page links to numbered pages, exactly as SPEC describes, and also offers
    `meta.next_cursor`; a cursor page links forward by cursor and has no position.
    """
    by_cursor = query.after is not None
    last_page = max(1, math.ceil(fetched.total / query.per_page))
    numbered = request.url.remove_query_params("cursor")

    def page_url(page: int) -> str:
        return str(numbered.include_query_params(page=page))

    if by_cursor:
        prev = None
        following = (str(request.url.remove_query_params("page").include_query_params(cursor=fetched.next_cursor))
                     if fetched.next_cursor else None)
    else:
        prev = page_url(query.page - 1) if query.page > 1 else None
        following = page_url(query.page + 1) if query.page < last_page else None
    first_index = (query.page - 1) * query.per_page
    positioned = bool(data) and not by_cursor
    return {
        "data": data,
        "links": {"first": page_url(1), "last": page_url(last_page), "prev": prev, "next": following},
        "meta": {
            "current_page": None if by_cursor else query.page,
            "from": first_index + 1 if positioned else None,
            "last_page": last_page,
            "next_cursor": fetched.next_cursor,
            "path": str(request.url.replace(query="")),
            "per_page": query.per_page,
            "to": first_index + len(data) if positioned else None,
            "total": fetched.total,
        },
    }


def openapi_parameters(spec: ListSpec, *, listing: bool = True) -> list[dict[str, Any]]:
    """The query parameters of a route, described for `/openapi.json` from the spec itself."""
    parameters: list[dict[str, Any]] = []
    if spec.includes:
        parameters.append({
            "name": "include", "in": "query", "required": False,
            "description": "Comma-separated relations to include: " + ", ".join(spec.includes) + ".",
            **comma_list({"type": "string", "enum": list(spec.includes)}),
        })
    if not listing:
        return parameters
    for name, list_filter in spec.filters.items():
        parameters.append({
            "name": f"filter[{name}]", "in": "query", "required": False,
            "description": list_filter.description, **list_filter.documented,
        })
    parameters += [
        {"name": "sort", "in": "query", "required": False,
         "description": "Comma-separated sort keys: " + ", ".join(spec.sort_columns)
         + "; prefix `-` for descending. Default `created_at`; ties are broken by id.",
         **comma_list({"type": "string", "enum": [f"{prefix}{name}" for name in spec.sort_columns
                                                  for prefix in ("", "-")]})},
        {"name": "page", "in": "query", "required": False, "description": "Page number, from 1.",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}},
        {"name": "cursor", "in": "query", "required": False, "description": CURSOR_DESCRIPTION,
         "schema": {"type": "string"}},
        {"name": "per_page", "in": "query", "required": False, "description": "Page size, 1 to 1000.",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE}},
    ]
    return parameters
