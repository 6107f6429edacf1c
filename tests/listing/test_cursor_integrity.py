"""A cursor is opaque, tamper-evident and tied to its list: resource, business, sort and filters.
Anything else sent as `cursor` is a 400 naming it, after the 401 and 403 of the route."""

import base64
import uuid
from typing import Any

import orjson
import pytest


def first_cursor(api: Any, path: str = "/customers", **params: str) -> str:
    response = api.get(path, params={"per_page": "1"} | params)
    assert response.status_code == 200, response.text
    cursor = response.json()["meta"]["next_cursor"]
    assert isinstance(cursor, str)
    return cursor


def assert_cursor_refused(response: Any) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert list(body["errors"]) == ["cursor"]
    assert "data" not in body


def unpadded_base64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def opened(cursor: str) -> tuple[bytes, list[str]]:
    """A cursor's tag and payload (what anyone holding it can read: it is opaque, not secret)."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    return raw[:32], orjson.loads(raw[32:])


@pytest.fixture
def customers_made(api: Any) -> list[dict[str, Any]]:
    return [api.make_customer(name=f"Ann {number}") for number in range(4)]


def test_a_cursor_is_url_safe_text(api, customers_made):
    cursor = first_cursor(api)

    assert cursor.replace("-", "").replace("_", "").isalnum()


def test_a_cursor_with_its_values_changed_is_refused(api, customers_made):
    tag, [digest, *_values] = opened(first_cursor(api))
    # Jump back to the start of the list, keeping the original signature.
    forged = unpadded_base64url(tag + orjson.dumps([digest, "2000-01-01 00:00:00", str(uuid.UUID(int=0))]))

    assert_cursor_refused(api.get("/customers", params={"per_page": "1", "cursor": forged}))


@pytest.mark.parametrize(
    "damage",
    [
        lambda cursor: cursor[:-1],
        lambda cursor: cursor[:20],
        lambda cursor: cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1],
        lambda cursor: cursor + "AAAA",
        lambda cursor: cursor.swapcase(),
    ],
)
def test_a_damaged_cursor_is_refused(api, customers_made, damage):
    assert_cursor_refused(api.get("/customers", params={"per_page": "1", "cursor": damage(first_cursor(api))}))


@pytest.mark.parametrize(
    "garbage",
    [
        "x",
        "null",
        "1",
        "[]",
        "%%%",
        "a b",
        "é",
        "=" * 8,
        "A" * 5000,
        unpadded_base64url(orjson.dumps(["a", "b"])),
        unpadded_base64url(b"\x00" * 64),
    ],
)
def test_garbage_as_a_cursor_is_refused(api, customers_made, garbage):
    assert_cursor_refused(api.get("/customers", params={"cursor": garbage}))


def test_an_empty_cursor_is_ignored_like_an_empty_filter(api, customers_made):
    response = api.get("/customers", params={"cursor": "", "page": "2", "per_page": "1"})

    assert response.status_code == 200, response.text
    assert response.json()["meta"]["current_page"] == 2


@pytest.mark.parametrize(
    ("issued", "used"),
    [
        ({}, {"sort": "-created_at"}),
        ({"sort": "created_at"}, {"sort": "updated_at"}),
        ({"sort": "-updated_at,created_at"}, {"sort": "-updated_at,-created_at"}),
        ({"sort": "-updated_at,created_at"}, {"sort": "-updated_at"}),
        ({"filter[name]": "ann"}, {"filter[name]": "an"}),
        ({"filter[name]": "ann"}, {}),
        ({}, {"filter[name]": "ann"}),
        ({}, {"filter[is_deleted]": "false"}),
        ({"filter[updated_after]": "2000-01-01"}, {"filter[updated_after]": "2000-01-02"}),
    ],
)
def test_a_cursor_used_with_another_sort_or_other_filters_is_refused(api, customers_made, issued, used):
    cursor = first_cursor(api, **issued)

    response = api.get("/customers", params={"per_page": "1", "cursor": cursor} | used)

    assert_cursor_refused(response)
    assert "sort and filters" in response.json()["message"]


@pytest.mark.parametrize(
    ("issued", "used"),
    [
        ({"filter[is_blacklisted]": "false"}, {"filter[is_blacklisted]": "0"}),
        ({"filter[updated_after]": "2000-01-01"}, {"filter[updated_after]": "2000-01-01 00:00:00"}),
        ({"filter[dial_code]": "966"}, {"filter[dial_code]": " 966 "}),
    ],
)
def test_a_cursor_is_accepted_with_another_spelling_of_the_same_filter_value(api, customers_made, issued, used):
    cursor = first_cursor(api, **issued)

    response = api.get("/customers", params={"per_page": "1", "cursor": cursor} | used)

    assert response.status_code == 200, response.text
    assert response.json()["data"][0]["name"] == "Ann 1"


@pytest.mark.parametrize(
    "changed", [{"per_page": "3"}, {"include": "tags,addresses"}, {"sort": "created_at,"}, {"filter[email]": ""}]
)
def test_page_size_includes_and_ignored_spellings_may_change_with_a_cursor(api, customers_made, changed):
    cursor = first_cursor(api)

    response = api.get("/customers", params={"per_page": "1", "cursor": cursor} | changed)

    assert response.status_code == 200, response.text
    assert response.json()["data"][0]["name"] == "Ann 1"


def test_a_cursor_of_one_list_is_refused_by_another(api):
    api.make_tag()
    api.make_tag()

    assert_cursor_refused(api.get("/delivery_zones", params={"cursor": first_cursor(api, "/tags")}))


def test_a_cursor_of_another_business_is_refused_and_shows_none_of_its_rows(api, other_api):
    for _ in range(3):
        other_api.make_customer(name="Theirs")
    api.make_customer(name="Ours")

    assert_cursor_refused(api.get("/customers", params={"per_page": "1", "cursor": first_cursor(other_api)}))


@pytest.mark.parametrize("page", ["1", "2"])
def test_a_cursor_together_with_page_is_refused(api, customers_made, page):
    assert_cursor_refused(api.get("/customers", params={"per_page": "1", "page": page, "cursor": first_cursor(api)}))


def test_a_bad_cursor_comes_after_authentication_and_scope(api_with, anonymous, customers_made):
    assert anonymous.get("/customers", params={"cursor": "x"}).status_code == 401
    assert api_with("customers.get").get("/customers", params={"cursor": "x"}).status_code == 403
