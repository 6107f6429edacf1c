"""How values look on the wire: JSON bodies, timestamps and dates, and a record's body made from its row."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, Field, WithJsonSchema
from starlette.responses import JSONResponse as StarletteJSONResponse

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
T = TypeVar("T")


class JSONResponse(StarletteJSONResponse):
    """A JSON response serialised by orjson, which is several times faster than json."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def format_timestamp(value: datetime | None) -> str | None:
    """A stored timestamp shown to the second (truncated, never rounded up)."""
    # isoformat is several times faster than strftime, and every row shows three of these.
    return None if value is None else value.isoformat(" ", "seconds")


def format_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


class Data(BaseModel, Generic[T]):
    """The envelope of every single-record response."""

    data: T


@dataclass(frozen=True)
class Shown:
    """A response field's metadata: shown as `convert` makes it of the stored row's `column` (by
    default the column of the field's own name)."""

    convert: Callable[[Any], Any]
    column: str | None = None


@dataclass(frozen=True)
class ReadScope:
    """A response field's metadata: shown only to a token with this scope."""

    scope: str


class Included:
    """A response field's metadata: a relation, present only where `include` asks for it."""


def record_stub(record_id: Any) -> dict[str, str] | None:
    """A related record as `{"id": …}`, or None where there is none."""
    return None if record_id is None else {"id": str(record_id)}


RecordId = Annotated[str, Shown(str), WithJsonSchema({"type": "string", "format": "uuid"})]
Timestamp = Annotated[str, Shown(format_timestamp), Field(description="UTC, YYYY-MM-DD HH:MM:SS")]
OptionalTimestamp = Annotated[str | None, Shown(format_timestamp), Field(description="UTC, YYYY-MM-DD HH:MM:SS")]
OptionalDate = Annotated[str | None, Shown(format_date), WithJsonSchema({"type": ["string", "null"], "format": "date"})]


class RecordStub(BaseModel):
    """A related record that was not included: its id alone."""

    id: RecordId


@dataclass(frozen=True)
class ShownField:
    name: str
    column: str
    convert: Callable[[Any], Any] | None
    scope: str | None


class RecordShape:
    """A response model read as the recipe of a record's body: each field, in order, from the stored
    row, as its `Shown` says (as stored where it has none), left out without its `ReadScope`, and
    left to the includes where it is `Included`."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.fields: list[ShownField] = []
        for name, info in model.model_fields.items():
            if any(isinstance(item, Included) for item in info.metadata):
                continue
            shown = next((item for item in info.metadata if isinstance(item, Shown)), None)
            scope = next((item.scope for item in info.metadata if isinstance(item, ReadScope)), None)
            column = shown.column if shown is not None and shown.column is not None else name
            convert = shown.convert if shown is not None else None
            self.fields.append(ShownField(name=name, column=column, convert=convert, scope=scope))

    def body(self, row: Any, scopes: frozenset[str] = frozenset()) -> dict[str, Any]:
        """The record's body, as a token with these scopes sees it."""
        body: dict[str, Any] = {}
        for field in self.fields:
            if shown_to(field, scopes):
                value = getattr(row, field.column)
                body[field.name] = value if field.convert is None else field.convert(value)
        return body

    def visible(self, body: dict[str, Any], scopes: frozenset[str]) -> dict[str, Any]:
        """A body made for every scope (a change event's), as a token with these scopes sees it."""
        hidden = {field.name for field in self.fields if not shown_to(field, scopes)}
        return {name: value for name, value in body.items() if name not in hidden}


def shown_to(field: ShownField, scopes: frozenset[str]) -> bool:
    """The field-visibility rule: a field with a read scope is shown only to a token holding it."""
    return field.scope is None or field.scope in scopes
