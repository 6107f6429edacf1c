"""The list requests a run measures: every filter with a value matching few customers and one
matching most, every sort, includes and deep pages, chosen from each business's own data."""

import collections
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from bench.database import Sample

# A filter value "matches few" when its total is at most this share of the active customers.
NARROW_SHARE = 0.01
BOOLEAN_FILTERS = (
    "is_blacklisted",
    "is_house_account_enabled",
    "is_loyalty_enabled",
    "has_orders",
    "has_email",
    "has_negative_balance",
    "is_deleted",
)
TEXT_FILTERS = ("name", "email", "phone")
ALL_FILTERS = (
    "id",
    "name",
    "email",
    "phone",
    "dial_code",
    "tags.id",
    "is_blacklisted",
    "is_house_account_enabled",
    "is_loyalty_enabled",
    "has_orders",
    "has_email",
    "has_negative_balance",
    "updated_after",
    "created_on",
    "updated_on",
    "deleted_on",
    "is_deleted",
)
# Every sort the list offers, `created_at` too: the first page sorts by it without saying so.
SORTS = tuple(
    f"{prefix}{key}"
    for key in (
        "created_at",
        "updated_at",
        "name",
        "email",
        "last_order_at",
        "order_count",
        "is_blacklisted",
        "house_account_balance",
    )
    for prefix in ("", "-")
)
DEEP_SHARE = 0.9  # deep pages start at 90% of the business's customers (page 9000 of 100 at 1M)
DEEP_PER_PAGE = 100


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def get(base_url: str, path: str, token: str) -> Answer:
    request = urllib.request.Request(base_url + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return Answer(status=response.status, body=response.read())
    except urllib.error.HTTPError as error:
        return Answer(status=error.code, body=error.read())


def list_path(**parameters: str | int) -> str:
    """`/customers?…` with the names written as the API spells them (`filter[name]`), values encoded."""
    if not parameters:
        return "/customers"
    return "/customers?" + "&".join(
        f"{quote(name, safe='[]')}={quote(str(value), safe=',')}" for name, value in parameters.items()
    )


def filter_path(name: str, value: str) -> str:
    return list_path(**{f"filter[{name}]": value})


@dataclass(frozen=True)
class Variant:
    """One list request. `key` names it the same way at every business size."""

    key: str
    label: str
    path: str
    kind: str  # first-page | sort | filter | include | deep
    filter: str | None = None


def total_of(base_url: str, token: str, path: str) -> int | None:
    separator = "&" if "?" in path else "?"
    answer = get(base_url, f"{path}{separator}per_page=1", token)
    return answer.json["meta"]["total"] if answer.status == 200 else None


def most_common_character(texts: list[str]) -> str:
    counts = collections.Counter(char for text in texts for char in set(text.lower()) if char.isalnum() or char == "@")
    return counts.most_common(1)[0][0] if counts else "a"


def candidates(sample: Sample) -> dict[str, tuple[list[str], list[str]]]:
    """For each non-boolean filter: values likely to match few customers, and likely to match most."""
    low = sample.updated_at_min - timedelta(days=1)
    tags = [str(tag_id) for tag_id, used in reversed(sample.tags) if used > 0] or [str(t) for t, _ in sample.tags]
    ids = [str(customer_id) for customer_id in sample.ids]
    days = {
        name: ([str(day) for day, _ in counts[:4]], [str(day) for day, _ in counts[-1:]])
        for name, counts in sample.days.items()
    }
    return {
        "id": (ids[:3], [",".join(ids[:100])]),
        "name": (sample.names[:4], [most_common_character(sample.names)]),
        "email": (sample.emails[:4], ["@", most_common_character(sample.emails)]),
        "phone": (sample.phones[:4], [most_common_character(sample.phones)]),
        "dial_code": (
            [str(code) for code, _ in reversed(sample.dial_codes[-3:])],
            [str(sample.dial_codes[0][0])] if sample.dial_codes else [],
        ),
        "tags.id": (tags[:3], [",".join(str(t) for t, _ in sample.tags[:50])] if sample.tags else []),
        "updated_after": ([sample.updated_at_995.strftime("%Y-%m-%d %H:%M:%S")], [low.strftime("%Y-%m-%d")]),
        **days,
    }


def chosen_filters(base_url: str, token: str, sample: Sample) -> list[tuple[str, str, str, int]]:
    """(filter, narrow|broad|true|false, value, total) for every filter, totals as the API counts them."""
    chosen = []
    for name, (narrow, broad) in candidates(sample).items():
        totals = {value: total_of(base_url, token, filter_path(name, value)) for value in dict.fromkeys(narrow + broad)}
        measured = {value: total for value, total in totals.items() if total is not None}
        few = [value for value in narrow if measured.get(value)]
        if few:
            value = min(few, key=lambda v: measured[v])
            chosen.append((name, "narrow", value, measured[value]))
        many = [value for value in broad if value in measured]
        if many:
            value = max(many, key=lambda v: measured[v])
            chosen.append((name, "broad", value, measured[value]))
    for name in BOOLEAN_FILTERS:
        for value in ("true", "false"):
            total = total_of(base_url, token, filter_path(name, value))
            if total is not None:
                chosen.append((name, value, value, total))
    order = {name: index for index, name in enumerate(ALL_FILTERS)}
    return sorted(chosen, key=lambda item: order[item[0]])


def list_variants(*, base_url: str, token: str, active: int, filters: list[tuple[str, str, str, int]]) -> list[Variant]:
    """Every list request measured at one business size."""
    deep_page = max(1, int(active * DEEP_SHARE) // DEEP_PER_PAGE)
    variants = [
        Variant("first-page", "first page (no filter, default sort)", "/customers", "first-page"),
        Variant("first-page-100", "first page, per_page=100", list_path(per_page=DEEP_PER_PAGE), "first-page"),
    ]
    variants += [Variant(f"sort={sort}", f"sort={sort}", list_path(sort=sort), "sort") for sort in SORTS]
    for name, label, value, _ in filters:
        variants.append(
            Variant(
                f"filter[{name}]:{label}",
                f"filter[{name}] {label} ({shorten(value)})",
                filter_path(name, value),
                "filter",
                name,
            )
        )
    variants.append(Variant("include", "include=tags,addresses", list_path(include="tags,addresses"), "include"))
    offset_path = list_path(page=deep_page, per_page=DEEP_PER_PAGE)
    variants.append(
        Variant("deep-offset", f"deep page by offset (page {deep_page} of {DEEP_PER_PAGE})", offset_path, "deep")
    )
    answer = get(base_url, offset_path, token)
    cursor = answer.json["meta"].get("next_cursor") if answer.status == 200 else None
    if cursor:
        variants.append(
            Variant(
                "deep-cursor",
                f"deep page by cursor (after row {deep_page * DEEP_PER_PAGE:,})",
                list_path(per_page=DEEP_PER_PAGE, cursor=cursor),
                "deep",
            )
        )
    return variants


def shorten(value: str, limit: int = 24) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
