"""A list request's query string read against its `ListSpec`: filters, sort, includes, page or cursor.

Anything the spec does not know, and any value not of its filter's type, is a 400 naming the
parameter; other query parameters are ignored.
"""

import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Column, ColumnElement

from clientele.db.cursors import CursorSigner
from clientele.errors import Forbidden
from clientele.listing.filters import invalid
from clientele.listing.spec import ListSpec

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 1000
# Any page past the last is a valid, empty page; this bound only keeps the number (and the
# `page+1` of its links) within the 64-bit integers JSON encoders and databases accept.
MAX_PAGE = 10**18 - 1
# How the sort values a cursor carries as text are read back, by the column's Python type.
CURSOR_VALUE_PARSERS: dict[type, Callable[[str], Any]] = {
    datetime: datetime.fromisoformat,
    uuid.UUID: uuid.UUID,
    str: str,
    int: int,
    Decimal: Decimal,
    bool: lambda text: text == "True",
}
CURSOR_WITH_PAGE = "The cursor and page parameters cannot be combined: a cursor already says where the page starts."
# Greedy, so that a nested key such as `filter[name][0]` is an unknown filter, not ignored.
FILTER_KEY = re.compile(r"^filter\[(?P<name>.*)\]$")
# Sent more than once, these are one comma list (SPEC §8); any other parameter a list reads is a 400.
LIST_VALUED = frozenset({"include", "sort", "filter[id]", "filter[tags.id]", "filter[branches.id]"})
SINGLE_VALUED = frozenset({"page", "per_page", "cursor"})


def query_values(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The query string, one value per parameter: a list-valued parameter sent more than once is its
    values joined, and any other parameter a list reads sent more than once is a 400 naming it, as
    silently keeping one of the values would answer another question than the one asked. Parameters
    no list reads are ignored however often they come."""
    values: dict[str, str] = {}
    for key, value in items:
        if key not in values:
            values[key] = value
        elif key in LIST_VALUED:
            values[key] = f"{values[key]},{value}"
        elif key in SINGLE_VALUED or FILTER_KEY.match(key):
            raise invalid(key, f"The {key} parameter was sent more than once; it takes one value.")
    return values


@dataclass(frozen=True)
class SortKey:
    column: Column[Any]
    descending: bool

    @property
    def order(self) -> ColumnElement[Any]:
        return self.order_of(self.column)

    def order_of(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """This key's order applied to `column` (the key's own, or its copy in a subquery)."""
        if not self.column.nullable:
            return column.desc() if self.descending else column.asc()
        # NULL counts as above every value, last ascending and first descending: PostgreSQL's own
        # default, so its indexes serve both directions; SQLite needs it said.
        return column.desc().nulls_first() if self.descending else column.asc().nulls_last()


@dataclass(frozen=True)
class ListQuery:
    """One list request, parsed: which rows (the business's, filtered), in which order, which page."""

    spec: ListSpec
    business_id: uuid.UUID
    conditions: list[ColumnElement[bool]]
    filters: dict[str, Any]
    """Each filter given, by name, with its value as the filter read it (empty ones are left out)."""
    sort: list[SortKey]
    includes: frozenset[str]
    page: int
    per_page: int
    cursors: CursorSigner
    after: list[Any] | None = None
    """With `cursor`: the sort values of the last row already served."""

    @property
    def order_by(self) -> list[ColumnElement[Any]]:
        return [key.order for key in self.sort]


def parse_includes(raw: str | None, spec: ListSpec) -> frozenset[str]:
    """The `include` list, with implied relations added; 400 for an unknown name."""
    if raw is None or not raw.strip():
        return frozenset()
    names = {name.strip() for name in raw.split(",") if name.strip()}
    ignored = spec.ignored_includes
    if ignored is not None:
        names = {name for name in names if name in spec.includes or not ignored.fullmatch(name)}
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
    order.append(SortKey(spec.table.c.id, descending))
    return order


def parse_positive(parameter: str, raw: str | None, default: int, maximum: int) -> int:
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not re.fullmatch(r"[0-9]{1,18}", text) or not 1 <= int(text) <= maximum:
        raise invalid(parameter, f"The {parameter} value must be an integer between 1 and {maximum}.")
    return int(text)


def parse_per_page(raw: str | None) -> int:
    """`per_page`, with any integer above the maximum served as the maximum (SPEC §8)."""
    if raw is None or raw.strip() == "":
        return DEFAULT_PER_PAGE
    digits = raw.strip().lstrip("0")
    if not digits.isascii() or not digits.isdigit():
        raise invalid(
            "per_page",
            f"The per_page value must be an integer of at least 1 (above {MAX_PER_PAGE} is served as {MAX_PER_PAGE}).",
        )
    # Compared by length first: Python refuses to read an integer of over 4,300 digits.
    return MAX_PER_PAGE if len(digits) > len(str(MAX_PER_PAGE)) else min(int(digits), MAX_PER_PAGE)


def parse_filters(params: Mapping[str, str], spec: ListSpec) -> dict[str, Any]:
    """Each `filter[name]` given, read by its filter; empty values are left out."""
    filters: dict[str, Any] = {}
    for key, raw in params.items():
        match = FILTER_KEY.match(key)
        if match is None:
            continue
        name = match["name"]
        list_filter = spec.filters.get(name)
        if list_filter is None:
            raise invalid(key, f"Unknown filter {name!r}; allowed: {', '.join(spec.filters)}.")
        # Trimmed, as text in a body is.
        value = raw.strip()
        if value == "":
            continue
        if "\x00" in value:
            # No stored text holds NUL (writes refuse it), and PostgreSQL refuses it as a parameter.
            raise invalid(key, f"The {key} value must not contain NUL characters.")
        filters[name] = list_filter.parse(value)
    return filters


def signer_for(
    *, spec: ListSpec, business_id: uuid.UUID, sort: list[SortKey], filters: dict[str, Any], key: bytes
) -> CursorSigner:
    """The signer of this list's cursors: bound to its table, business, sort and filter values."""
    binding = orjson.dumps(
        [
            spec.table.name,
            str(business_id),
            [f"{'-' if sort_key.descending else ''}{sort_key.column.name}" for sort_key in sort],
            sorted(filters.items()),
        ]
    )
    return CursorSigner(key=key, binding=binding)


def parse_cursor(raw: str, *, sort: list[SortKey], cursors: CursorSigner) -> list[Any]:
    """The typed sort values of the row a cursor points after; 400 naming `cursor` if it is not valid."""
    # Verified, so these are the values `cursor_after` wrote for this very sort.
    return [
        None if value is None else CURSOR_VALUE_PARSERS[key.column.type.python_type](value)
        for key, value in zip(sort, cursors.open(raw), strict=True)
    ]


def check_read_scopes(spec: ListSpec, filters: Mapping[str, Any], sort: list[SortKey], scopes: frozenset[str]) -> None:
    """403 for a filter or sort on a field the token may not read: its answer would tell the field."""
    sorted_by = {name for name, column in spec.sort_columns.items() if any(key.column is column for key in sort)}
    for name in [*filters, *sorted_by]:
        needed = spec.read_scopes.get(name)
        if needed is not None and needed not in scopes:
            kind = "filter" if name in filters else "sort"
            raise Forbidden(f"The {name} {kind} requires the {needed} scope.")


def parse_list_query(
    params: Mapping[str, str],
    spec: ListSpec,
    *,
    business_id: uuid.UUID,
    signing_key: bytes,
    scopes: frozenset[str],
) -> ListQuery:
    """Everything a list request asks for, or a 400 naming the parameter at fault (then a 403 for a
    filter or sort the token may not read)."""
    filters = parse_filters(params, spec)
    table = spec.table
    # A deleted_on filter finds deleted records whatever is_deleted says (SPEC §8).
    applied = {name: value for name, value in filters.items() if name != "is_deleted" or "deleted_on" not in filters}
    conditions = [
        table.c.business_id == business_id,
        *(spec.filters[name].condition(value) for name, value in applied.items()),
    ]
    # Ledger entries are never deleted, and have no `deleted_at`.
    if "deleted_at" in table.c and "is_deleted" not in filters and "deleted_on" not in filters:
        conditions.append(table.c.deleted_at.is_(None))
    sort = parse_sort(params.get("sort"), spec)
    includes = parse_includes(params.get("include"), spec)
    page = parse_positive("page", params.get("page"), 1, MAX_PAGE)
    per_page = parse_per_page(params.get("per_page"))
    cursors = signer_for(spec=spec, business_id=business_id, sort=sort, filters=filters, key=signing_key)
    after = None
    # Empty values are ignored, as for filters and `page`.
    raw_cursor = (params.get("cursor") or "").strip()
    if raw_cursor:
        if (params.get("page") or "").strip():
            raise invalid("cursor", CURSOR_WITH_PAGE)
        after = parse_cursor(raw_cursor, sort=sort, cursors=cursors)
    check_read_scopes(spec, filters, sort, scopes)
    return ListQuery(
        spec=spec,
        business_id=business_id,
        conditions=conditions,
        filters=filters,
        sort=sort,
        includes=includes,
        page=page,
        per_page=per_page,
        cursors=cursors,
        after=after,
    )
