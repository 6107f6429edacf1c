"""A list's query parameters, described for /openapi.json from its `ListSpec`."""

import re
from collections.abc import Sequence
from typing import Any

from clientele.listing.filters import comma_list
from clientele.listing.query import DEFAULT_PER_PAGE, MAX_PAGE, MAX_PER_PAGE
from clientele.listing.spec import ListSpec

CURSOR_DESCRIPTION = (
    "Keyset paging, for syncs and deep walks: the `meta.next_cursor` of the previous response. "
    "Send it with the same `sort` and filters (`per_page` and `include` may change); the page is the rows "
    "after the last row of that response, found through an index, so it costs the same at any depth, and "
    "rows written during a walk never make it skip a row that was already there. Not together with `page`. "
    "A cursor page never counts: its `meta.total`, `last_page`, `current_page`, `from` and `to` are null; "
    "`per_page` and `path` are as for numbered pages; `links.next` carries the next cursor; `links.prev` "
    "and `links.last` are null (cursors only go forward); `links.first` is the numbered first page. A cursor "
    "that was altered, or that belongs to another sort, filter, list or business, is a 400 naming `cursor`."
)


def pascal_case(name: str) -> str:
    return "".join(word.capitalize() for word in name.split("_"))


def singular(noun: str) -> str:
    """`addresses` is `address`, `deliveries` `delivery`, `tags` `tag`: the plurals of this API's paths."""
    if noun.endswith("ies"):
        return noun.removesuffix("ies") + "y"
    if noun.endswith("sses"):
        return noun.removesuffix("es")
    return noun.removesuffix("s")


def record_name(spec: ListSpec) -> str:
    """`Customer` for the customers list, `DeliveryZone` for the delivery zones'."""
    return pascal_case(singular(spec.table.name))


def enum_name(value: str) -> str:
    """The name a generated client gives a value: `addresses.delivery_zone` is `ADDRESSES_DELIVERY_ZONE`,
    `customersCount` is `CUSTOMERS_COUNT`, and a descending sort key, `-created_at`, `CREATED_AT_DESC`."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", value.removeprefix("-"))
    name = re.sub(r"[^A-Za-z0-9]+", "_", words).strip("_").upper()
    return f"{name}_DESC" if value.startswith("-") else name


def named_enum(title: str, values: Sequence[str]) -> dict[str, Any]:
    """A string enum that names its values (`x-enum-varnames`): left to themselves, generators name a value
    that does not start with a letter by its position (`VALUE_1` for `-created_at`). Titled, it becomes one
    component that every operation using it shares (`web.openapi_clients.for_generated_clients`)."""
    return {
        "title": title,
        "type": "string",
        "enum": list(values),
        "x-enum-varnames": [enum_name(value) for value in values],
    }


def include_parameter(spec: ListSpec) -> list[dict[str, Any]]:
    """The `include` parameter, where the list has relations to include."""
    if not spec.includes:
        return []
    return [
        {
            "name": "include",
            "in": "query",
            "required": False,
            "description": "Comma-separated relations to include: " + ", ".join(spec.includes) + ".",
            **comma_list(named_enum(f"{record_name(spec)}Include", spec.includes)),
        }
    ]


def list_parameters(spec: ListSpec) -> list[dict[str, Any]]:
    """Every query parameter of the list route."""
    filters = [
        {
            "name": f"filter[{name}]",
            "in": "query",
            "required": False,
            "description": list_filter.description,
            **list_filter.documented,
        }
        for name, list_filter in spec.filters.items()
    ]
    sorts = [f"{prefix}{name}" for name in spec.sort_columns for prefix in ("", "-")]
    return [
        *include_parameter(spec),
        *filters,
        {
            "name": "sort",
            "in": "query",
            "required": False,
            "description": "Comma-separated sort keys: "
            + ", ".join(spec.sort_columns)
            + "; prefix `-` for descending. Default `created_at`; ties are broken by id.",
            **comma_list(named_enum(f"{record_name(spec)}Sort", sorts)),
        },
        {
            "name": "page",
            "in": "query",
            "required": False,
            # No `default` on page or per_page: a generated client sends a declared default as if it were the
            # caller's choice, and a page beside a cursor is a 400.
            "description": "Page number, from 1; 1 when absent. Not together with `cursor`.",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
        },
        {
            "name": "cursor",
            "in": "query",
            "required": False,
            "description": CURSOR_DESCRIPTION,
            "schema": {"type": "string"},
        },
        {
            "name": "per_page",
            "in": "query",
            "required": False,
            "description": f"Page size, 1 to {MAX_PER_PAGE} ({DEFAULT_PER_PAGE} when absent; more is served as "
            f"{MAX_PER_PAGE}).",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
        },
    ]
