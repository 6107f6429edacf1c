"""The one list engine: filter, sort, include and page parsing, and the page body.

Every list route declares a `ListSpec`; the engine turns the query string into SQL
clauses (400 for anything it does not know), counts and fetches one page, and builds
the `data`/`links`/`meta` body. Single-record routes use the same `include` parsing.
"""

import math
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from fastapi import Request
from pydantic import BaseModel, Field
from sqlalchemy import Column, ColumnElement, Select, false, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.errors import BadRequest
from clientele.wire import parse_uuid

PHONE_SEPARATORS = re.compile(r"[\s\-.()+]")
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 1000
# Any page past the last is a valid, empty page; this bound only keeps the number (and the
# `page+1` of its links) within the 64-bit integers JSON encoders and databases accept.
MAX_PAGE = 10**18 - 1
BOOLEAN_VALUES = {"true": True, "1": True, "false": False, "0": False}
T = TypeVar("T")


class PageLinks(BaseModel):
    first: str
    last: str
    prev: str | None
    next: str | None


class PageMeta(BaseModel):
    current_page: int
    from_: int | None = Field(alias="from")
    last_page: int
    path: str
    per_page: int
    to: int | None
    total: int


class Page(BaseModel, Generic[T]):
    """The body of every list response (documentation; bodies are built by `page_body`)."""

    data: list[T]
    links: PageLinks
    meta: PageMeta


@dataclass(frozen=True)
class Filter:
    """One `filter[name]`: how its text becomes a SQL condition, and how the docs describe it."""

    build: Callable[[str], ColumnElement[bool]]
    description: str


@dataclass(frozen=True)
class ListSpec:
    """What one list route accepts."""

    filters: dict[str, Filter]
    sort_columns: dict[str, Column[Any]]
    id_column: Column[Any]
    deleted_at: Column[Any]
    includes: tuple[str, ...] = ()
    implied_includes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ListQuery:
    conditions: list[ColumnElement[bool]]
    order_by: list[ColumnElement[Any]]
    includes: frozenset[str]
    page: int
    per_page: int


def invalid(parameter: str, sentence: str) -> BadRequest:
    return BadRequest(sentence, errors={parameter: [sentence]})


# --- filter builders -------------------------------------------------------------------


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def substring_filter(column: Column[Any], what: str) -> Filter:
    """Case-insensitive substring match."""
    return Filter(
        build=lambda value: column.ilike(f"%{escape_like(value)}%", escape="\\"),
        description=f"Case-insensitive substring of the {what}.",
    )


def exact_text_filter(column: Column[Any], what: str) -> Filter:
    return Filter(build=lambda value: column == value, description=f"Exact {what}.")


def phone_filter(column: Column[Any]) -> Filter:
    """Substring of the stored digits; separators in the value are ignored."""

    def build(value: str) -> ColumnElement[bool]:
        digits = PHONE_SEPARATORS.sub("", value)
        if not digits.isdigit() or not digits.isascii():
            raise invalid("filter[phone]", "The phone filter must contain digits only.")
        return column.like(f"%{digits}%")

    return Filter(build=build, description="Substring of the stored phone digits (separators are ignored).")


def integer_filter(column: Column[Any], name: str) -> Filter:
    def build(value: str) -> ColumnElement[bool]:
        if not re.fullmatch(r"-?\d{1,9}", value.strip()):
            raise invalid(f"filter[{name}]", f"The {name} filter must be an integer.")
        return column == int(value)

    return Filter(build=build, description=f"Exact {name} (integer).")


def parse_boolean(parameter: str, value: str) -> bool:
    parsed = BOOLEAN_VALUES.get(value.strip().lower())
    if parsed is None:
        raise invalid(parameter, f"The {parameter} value must be one of true, false, 1, 0.")
    return parsed


def boolean_filter(name: str, when_true: ColumnElement[bool], when_false: ColumnElement[bool],
                   description: str) -> Filter:
    return Filter(
        build=lambda value: when_true if parse_boolean(f"filter[{name}]", value) else when_false,
        description=f"{description} (`true`, `false`, `1` or `0`).",
    )


def boolean_column_filter(column: Column[Any], name: str) -> Filter:
    return boolean_filter(name, column.is_(True), column.is_(False), f"Whether {name.removeprefix('is_')}")


def parse_timestamp(parameter: str, value: str) -> datetime:
    text = value.strip()
    for layout in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, layout)
        except ValueError:
            continue
    raise invalid(parameter, f"The {parameter} value must be a date YYYY-MM-DD or a UTC time YYYY-MM-DD HH:MM:SS.")


def updated_after_filter(column: Column[Any]) -> Filter:
    return Filter(
        build=lambda value: column > parse_timestamp("filter[updated_after]", value),
        description="Updated strictly after this UTC time (`YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`).",
    )


def parse_ids(value: str) -> list[uuid.UUID]:
    """The UUIDs of a comma list; values that are not UUIDs are dropped, so they match nothing."""
    return [parsed for part in value.split(",") if (parsed := parse_uuid(part.strip())) is not None]


def ids_filter(match_any: Callable[[list[uuid.UUID]], ColumnElement[bool]], name: str) -> Filter:
    """Any of a comma list of ids; values that are not UUIDs match nothing."""

    def build(value: str) -> ColumnElement[bool]:
        ids = parse_ids(value)
        return match_any(ids) if ids else false()

    return Filter(build=build, description=f"Comma-separated {name}s; a record with any of them matches.")


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


def parse_sort(raw: str | None, spec: ListSpec) -> list[ColumnElement[Any]]:
    """`sort` keys with `-` for descending; ties broken by id in the last key's direction."""
    keys = [key.strip() for key in (raw or "created_at").split(",") if key.strip()] or ["created_at"]
    order: list[ColumnElement[Any]] = []
    descending = False
    for key in keys:
        descending = key.startswith("-")
        column = spec.sort_columns.get(key.removeprefix("-"))
        if column is None:
            allowed = ", ".join(spec.sort_columns)
            raise invalid("sort", f"Unknown sort {key!r}; allowed: {allowed} (prefix - for descending).")
        order.append(column.desc() if descending else column.asc())
    order.append(spec.id_column.desc() if descending else spec.id_column.asc())
    return order


def parse_positive(parameter: str, raw: str | None, default: int, maximum: int) -> int:
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not re.fullmatch(r"[0-9]{1,18}", text) or not 1 <= int(text) <= maximum:
        raise invalid(parameter, f"The {parameter} value must be an integer between 1 and {maximum}.")
    return int(text)


def parse_list_query(request: Request, spec: ListSpec) -> ListQuery:
    """Everything a list request asks for, or a 400 naming the parameter at fault."""
    params = request.query_params
    conditions: list[ColumnElement[bool]] = []
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
        if value.strip() == "":
            continue
        if "\x00" in value:
            # No stored text holds NUL (writes refuse it), and PostgreSQL refuses it as a parameter.
            raise invalid(key, f"The {key} value must not contain NUL characters.")
        deleted_given = deleted_given or name == "is_deleted"
        conditions.append(list_filter.build(value))
    if not deleted_given:
        conditions.append(spec.deleted_at.is_(None))
    return ListQuery(
        conditions=conditions,
        order_by=parse_sort(params.get("sort"), spec),
        includes=parse_includes(params.get("include"), spec),
        page=parse_positive("page", params.get("page"), 1, MAX_PAGE),
        per_page=parse_positive("per_page", params.get("per_page"), DEFAULT_PER_PAGE, MAX_PER_PAGE),
    )


def list_query_dependency(spec: ListSpec) -> Callable[[Request], ListQuery]:
    def list_query(request: Request) -> ListQuery:
        return parse_list_query(request, spec)

    return list_query


def include_dependency(spec: ListSpec) -> Callable[[Request], frozenset[str]]:
    def includes(request: Request) -> frozenset[str]:
        return parse_includes(request.query_params.get("include"), spec)

    return includes


# --- fetching and the page body ---------------------------------------------------------


async def fetch_page(*, connection: AsyncConnection, query: ListQuery, base: Select[Any],
                     scope: Iterable[ColumnElement[bool]]) -> tuple[list[Any], int]:
    """One page of rows of `base` and the total count, under the tenant `scope` and the filters."""
    conditions = [*scope, *query.conditions]
    total = await connection.scalar(
        select(func.count()).select_from(base.where(*conditions).order_by(None).subquery())
    ) or 0
    offset = (query.page - 1) * query.per_page
    if offset >= total:
        # Past the last row (or no rows at all): nothing to fetch, and an offset this large
        # could overflow the database's integer.
        return [], total
    rows = await connection.execute(
        base.where(*conditions).order_by(*query.order_by).limit(query.per_page).offset(offset)
    )
    return list(rows), total


def page_url(request: Request, page: int) -> str:
    return str(request.url.include_query_params(page=page))


def page_body(*, request: Request, data: list[dict[str, Any]], total: int, query: ListQuery) -> dict[str, Any]:
    """The `data`/`links`/`meta` body; links are absolute and keep the other parameters."""
    last_page = max(1, math.ceil(total / query.per_page))
    first_index = (query.page - 1) * query.per_page
    has_rows = bool(data)
    return {
        "data": data,
        "links": {
            "first": page_url(request, 1),
            "last": page_url(request, last_page),
            "prev": page_url(request, query.page - 1) if query.page > 1 else None,
            "next": page_url(request, query.page + 1) if query.page < last_page else None,
        },
        "meta": {
            "current_page": query.page,
            "from": first_index + 1 if has_rows else None,
            "last_page": last_page,
            "path": str(request.url.replace(query="")),
            "per_page": query.per_page,
            "to": first_index + len(data) if has_rows else None,
            "total": total,
        },
    }


def openapi_parameters(spec: ListSpec, *, listing: bool = True) -> list[dict[str, Any]]:
    """The query parameters of a route, described for `/openapi.json` from the spec itself."""
    parameters: list[dict[str, Any]] = []
    if spec.includes:
        parameters.append({
            "name": "include", "in": "query", "required": False,
            "description": "Comma-separated relations to include: " + ", ".join(spec.includes) + ".",
            "schema": {"type": "string"},
        })
    if not listing:
        return parameters
    for name, list_filter in spec.filters.items():
        parameters.append({
            "name": f"filter[{name}]", "in": "query", "required": False,
            "description": list_filter.description, "schema": {"type": "string"},
        })
    parameters += [
        {"name": "sort", "in": "query", "required": False,
         "description": "Comma-separated sort keys: " + ", ".join(spec.sort_columns)
         + "; prefix `-` for descending. Default `created_at`; ties are broken by id.",
         "schema": {"type": "string"}},
        {"name": "page", "in": "query", "required": False, "description": "Page number, from 1.",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}},
        {"name": "per_page", "in": "query", "required": False, "description": "Page size, 1 to 1000.",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE}},
    ]
    return parameters
