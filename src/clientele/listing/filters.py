"""The kinds of `filter[name]` a list can offer: how each reads its value, and the condition it makes."""

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Column, ColumnElement, String, Table, and_, false, func, literal

from clientele.db.ids import parse_uuid
from clientele.errors import BadRequest

BOOLEAN_VALUES = {"true": True, "1": True, "false": False, "0": False}

# How /openapi.json types a filter's value. Each admits only values the filter accepts, so that a
# client generated from the document never sends a 400; a filter may accept more (`1`/`0` for a
# boolean, separators in a phone, values that match nothing).
# Without NUL, which no stored text holds and a filter refuses (400).
TEXT_VALUE: dict[str, Any] = {"type": "string", "pattern": r"^[^\x00]*$"}
BOOLEAN_VALUE: dict[str, Any] = {"type": "boolean"}
# A calendar date (29 February aside) from year 1000, optionally with a time of day.
UPDATED_AFTER_VALUE: dict[str, Any] = {
    "type": "string",
    "pattern": (
        r"^[1-9][0-9]{3}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
        r"|(?:0[13578]|1[02])-31)(?:[ T](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])?$"
    ),
}


def comma_list(items: dict[str, Any]) -> dict[str, Any]:
    """A comma-separated list, as OpenAPI says it (`include=tags,addresses`)."""
    return {"schema": {"type": "array", "items": items}, "style": "form", "explode": False}


def invalid(parameter: str, sentence: str) -> BadRequest:
    """The 400 for a query parameter, naming it."""
    return BadRequest(sentence, errors={parameter: [sentence]})


def as_text(value: str) -> str:
    return value


@dataclass(frozen=True)
class Filter:
    """One `filter[name]`: how its text is read (400 where it cannot be), the condition the value
    makes, and how /openapi.json describes it."""

    condition: Callable[[Any], ColumnElement[bool]]
    description: str
    parse: Callable[[str], Any] = as_text
    documented: dict[str, Any] = field(default_factory=lambda: {"schema": TEXT_VALUE})


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def longer_than(column: Column[Any], value: str) -> bool:
    """Whether `value` is longer than any text `column` holds, and so matches nothing in it. Such a
    value is not sent: SQLite refuses a LIKE pattern over 50,000 bytes, an error where the answer is plain."""
    length = column.type.length if isinstance(column.type, String) else None
    return length is not None and len(value) > length


def within_column(
    column: Column[Any], condition: Callable[[str], ColumnElement[bool]]
) -> Callable[[str], ColumnElement[bool]]:
    """`condition`, except that a value longer than `column` can hold matches nothing."""
    return lambda value: false() if longer_than(column, value) else condition(value)


def substring_filter(column: Column[Any], what: str) -> Filter:
    """Case-insensitive substring match."""
    return Filter(
        condition=within_column(column, lambda value: column.ilike(f"%{escape_like(value)}%", escape="\\")),
        description=f"Case-insensitive substring of the {what}.",
    )


def lowered_contains(lowered: ColumnElement[Any], value: str) -> ColumnElement[bool]:
    """`value` is a case-insensitive substring of `lowered`, a lowered text: ILIKE's match, which
    lowers both sides, without lowering each row as it is read where `lowered` is stored so."""
    return lowered.like(func.lower(literal(f"%{escape_like(value)}%")), escape="\\")


def lowered_substring_filter(lowered: Column[Any], what: str) -> Filter:
    """Case-insensitive substring of a text whose lowered copy is the column `lowered`."""
    return Filter(
        condition=within_column(lowered, lambda value: lowered_contains(lowered, value)),
        description=f"Case-insensitive substring of the {what}.",
    )


def email_filter(lowered: Column[Any], column: Column[Any]) -> Filter:
    """Case-insensitive substring of the email (`lowered` holds it lowered); docs/decisions.md,
    "Substring filters", says why the part before an `@` is searched on its own."""

    def condition(value: str) -> ColumnElement[bool]:
        local_part, at, _ = value.rpartition("@")
        if not at or len(local_part) < 3:
            return lowered_contains(lowered, value)
        # The whole value is checked on `lower(column)`, which no index covers, so that the
        # index is asked for the local part only.
        return and_(lowered_contains(lowered, local_part), lowered_contains(func.lower(column), value))

    return Filter(condition=within_column(lowered, condition), description="Case-insensitive substring of the email.")


def exact_text_filter(column: Column[Any], description: str) -> Filter:
    return Filter(condition=within_column(column, lambda value: column == value), description=description)


def integer_filter(column: Column[Any], name: str, *, minimum: int, maximum: int) -> Filter:
    """An exact integer; any integer is taken, and the document offers the range that can match."""

    def parse(value: str) -> int:
        if not re.fullmatch(r"-?[0-9]{1,9}", value):
            raise invalid(f"filter[{name}]", f"The {name} filter must be an integer.")
        return int(value)

    return Filter(
        parse=parse,
        condition=lambda number: column == number,
        description=f"Exact {name} (integer).",
        documented={"schema": {"type": "integer", "minimum": minimum, "maximum": maximum}},
    )


def parse_boolean(parameter: str, value: str) -> bool:
    parsed = BOOLEAN_VALUES.get(value.lower())
    if parsed is None:
        raise invalid(parameter, f"The {parameter} value must be one of true, false, 1, 0.")
    return parsed


def boolean_filter(
    name: str, when_true: ColumnElement[bool], when_false: ColumnElement[bool], description: str
) -> Filter:
    return Filter(
        parse=lambda value: parse_boolean(f"filter[{name}]", value),
        condition=lambda flag: when_true if flag else when_false,
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
        parse=lambda value: parse_timestamp("filter[updated_after]", value),
        condition=lambda moment: column > moment,
        description="Updated strictly after this UTC time (`YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`).",
        documented={"schema": UPDATED_AFTER_VALUE},
    )


DAY_VALUE: dict[str, Any] = {"type": "string", "format": "date"}


def parse_day(parameter: str, value: str) -> date:
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise invalid(parameter, f"The {parameter} value must be a date YYYY-MM-DD.")


def day_filter(column: Column[Any], name: str, what: str) -> Filter:
    """That UTC day, as a range of the column (which its index can answer)."""

    def condition(day: date) -> ColumnElement[bool]:
        start = datetime(day.year, day.month, day.day)
        return and_(column >= start, column < start + timedelta(days=1))

    return Filter(
        parse=lambda value: parse_day(f"filter[{name}]", value),
        condition=condition,
        description=f"{what} on this UTC day (`YYYY-MM-DD`).",
        documented={"schema": DAY_VALUE},
    )


def parse_ids(value: str) -> list[uuid.UUID]:
    """The UUIDs of a comma list; values that are not UUIDs are dropped, so they match nothing."""
    return [parsed for part in value.split(",") if (parsed := parse_uuid(part.strip())) is not None]


def ids_filter(match_any: Callable[[list[uuid.UUID]], ColumnElement[bool]], name: str) -> Filter:
    """Any of a comma list of ids; values that are not UUIDs match nothing."""
    return Filter(
        parse=parse_ids,
        condition=lambda ids: match_any(ids) if ids else false(),
        description=f"Comma-separated {name}s; a record with any of them matches.",
        documented=comma_list({"type": "string", "format": "uuid"}),
    )


def deleted_filter(deleted_at: Column[Any]) -> Filter:
    return boolean_filter(
        "is_deleted",
        deleted_at.is_not(None),
        deleted_at.is_(None),
        "`true` lists only deleted records; `false` or absent, only non-deleted ones",
    )


def uniform_filters(table: Table, what: str) -> dict[str, Filter]:
    """The filters every list has (SPEC §8): `id`, and the day each record was created, updated or
    deleted (where records are deleted: ledger entries never are). `deleted_on` finds deleted records
    whatever `is_deleted` says (`parse_list_query`)."""
    filters = {
        "id": ids_filter(table.c.id.in_, f"{what} id"),
        "created_on": day_filter(table.c.created_at, "created_on", "Created"),
        "updated_on": day_filter(table.c.updated_at, "updated_on", "Last updated"),
    }
    if "deleted_at" in table.c:
        filters["deleted_on"] = day_filter(table.c.deleted_at, "deleted_on", "Deleted")
    return filters
