"""What one list offers: its table, filters, sorts and includes, and the counters behind its totals."""

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Table

from clientele.listing.filters import Filter


@dataclass(frozen=True)
class Counters:
    """Per-business counts kept by triggers (PostgreSQL; docs/decisions.md, "Totals"), in slot rows
    that are summed: the active records, the deleted ones, and, per boolean filter, the active
    records for which it is true."""

    table: Table
    active: str
    deleted: str
    flags: dict[str, str]


@dataclass(frozen=True)
class KeptCount:
    """How many rows of the list each record of another table (the parent) holds, kept on the parent's
    row (keyed by `business_id` and `id`) in every transaction that adds one: the total of the list
    filtered by `filter` naming one parent, and nothing else."""

    filter: str
    column: Column[Any]


@dataclass(frozen=True)
class ListSpec:
    """What one list route accepts. A sort column that holds NULL places it last ascending and first
    descending, on both engines (SPEC §8)."""

    table: Table
    filters: dict[str, Filter]
    sort_columns: dict[str, Column[Any]]
    includes: tuple[str, ...] = ()
    implied_includes: dict[str, str] = field(default_factory=dict)
    counters: Counters | None = None
    kept_count: KeptCount | None = None
    read_scopes: dict[str, str] = field(default_factory=dict)
    """Filters and sorts, by name, that read a scope-guarded field, and the scope that field needs."""
    follows: bool = False
    """A list that grows at its end (events): a cursor is given after the last row even when no more rows
    follow yet (and an empty page gives back the one it was sent), so that a reader polls with it for
    what comes next. `links.next` still names only a page that exists."""
    ignored_includes: re.Pattern[str] | None = None
    """Include names accepted and ignored (those not in `includes`): the platform's relations that name
    records Clientele does not hold, which its clients send."""
