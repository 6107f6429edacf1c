"""The body of every list response: `data`, `links` and `meta` (SPEC §5)."""

import math
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, Field

from clientele.listing.pages import FetchedPage
from clientele.listing.query import ListQuery

T = TypeVar("T")


class PageLinks(BaseModel):
    first: str
    last: str | None = Field(description="Null on a page fetched by `cursor`.")
    prev: str | None
    next: str | None


class PageMeta(BaseModel):
    current_page: int | None = Field(description="The page number; null on a page fetched by `cursor`.")
    from_: int | None = Field(alias="from")
    last_page: int | None = Field(description="Null on a page fetched by `cursor`.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` (with the same sort and filters) for the rows after this page; "
        "null on the last page."
    )
    path: str
    per_page: int
    to: int | None
    total: int | None = Field(
        description="Every matching row, all pages together; null on a page fetched by `cursor`, which never counts."
    )


class Page(BaseModel, Generic[T]):
    """The body of every list response (documentation; bodies are built by `page_body`)."""

    data: list[T]
    links: PageLinks
    meta: PageMeta


def with_query(url: str, *, drop: tuple[str, ...] = (), add: dict[str, str] | None = None) -> str:
    """`url` without the query parameters named in `drop` and in `add`, then with those of `add`."""
    add = add or {}
    parts = urlsplit(url)
    kept = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key not in drop and key not in add
    ]
    return urlunsplit(parts._replace(query=urlencode(kept + list(add.items()))))


def page_body(*, url: str, data: list[dict[str, Any]], fetched: FetchedPage, query: ListQuery) -> dict[str, Any]:
    """The `data`/`links`/`meta` body of the page of `url` (the request's); links are absolute and keep
    the other query parameters.

    A numbered page links to numbered pages, as SPEC §5 describes, and also offers `meta.next_cursor`;
    a cursor page links forward by cursor and has neither a position nor a total.
    """

    def page_url(page: int) -> str:
        return with_query(url, drop=("cursor",), add={"page": str(page)})

    meta: dict[str, Any] = {
        "current_page": None,
        "from": None,
        "last_page": None,
        "next_cursor": fetched.next_cursor,
        "path": urlunsplit(urlsplit(url)._replace(query="")),
        "per_page": query.per_page,
        "to": None,
        "total": fetched.total,
    }
    links: dict[str, str | None] = {"first": page_url(1), "last": None, "prev": None, "next": None}
    if fetched.total is None:
        if fetched.next_cursor and fetched.more:
            links["next"] = with_query(url, drop=("page",), add={"cursor": fetched.next_cursor})
        return {"data": data, "links": links, "meta": meta}
    last_page = max(1, math.ceil(fetched.total / query.per_page))
    first_index = (query.page - 1) * query.per_page
    meta |= {"current_page": query.page, "last_page": last_page}
    if data:
        meta |= {"from": first_index + 1, "to": first_index + len(data)}
    links["last"] = page_url(last_page)
    if query.page > 1:
        links["prev"] = page_url(query.page - 1)
    if query.page < last_page:
        links["next"] = page_url(query.page + 1)
    return {"data": data, "links": links, "meta": meta}
