"""Strong ETags on single records, and `If-Match` on their writes (optimistic concurrency)."""

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from clientele.customers.models import customers
from tests.cli.processes import create_business, create_token, serving
from tests.conftest import Api


def make_record(api: Api, kind: str) -> tuple[str, dict[str, Any]]:
    """A record of this kind, its URL, and a body that changes it on PUT."""
    if kind == "customers":
        return f"/customers/{api.make_customer()['id']}", {"name": "Changed"}
    if kind == "tags":
        return f"/tags/{api.make_tag()['id']}", {"name": f"changed-{uuid.uuid4().hex[:8]}"}
    if kind == "delivery_zones":
        return f"/delivery_zones/{api.make_zone()['id']}", {"name": f"changed-{uuid.uuid4().hex[:8]}"}
    customer = api.make_customer()
    return f"/addresses/{api.make_address(customer['id'])['id']}", {"name": "Work"}


KINDS = ["customers", "tags", "delivery_zones", "addresses"]


@pytest.mark.parametrize("kind", KINDS)
def test_get_returns_a_strong_etag_that_stays_until_the_record_changes(api: Api, kind: str) -> None:
    url, change = make_record(api, kind)

    first = api.get(url)
    again = api.get(url)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2
    assert again.headers["ETag"] == etag

    updated = api.put(url, json=change)
    assert updated.status_code == 200
    assert updated.headers["ETag"] != etag
    assert api.get(url).headers["ETag"] == updated.headers["ETag"]


@pytest.mark.parametrize("kind", KINDS)
def test_put_with_the_current_etag_succeeds(api: Api, kind: str) -> None:
    url, change = make_record(api, kind)
    etag = api.get(url).headers["ETag"]

    response = api.put(url, json=change, headers={"If-Match": etag})

    assert response.status_code == 200, response.text
    assert response.json()["data"]["name"] == change["name"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_stale_put_is_refused_with_412_and_the_current_etag(api: Api, kind: str) -> None:
    url, change = make_record(api, kind)
    stale = api.get(url).headers["ETag"]
    current = api.put(url, json=change).headers["ETag"]
    before = api.get(url).json()

    response = api.put(url, json={"name": "Lost update"}, headers={"If-Match": stale})

    assert response.status_code == 412
    assert response.headers["ETag"] == current
    assert "If-Match" in response.json()["message"]
    assert api.get(url).json() == before


@pytest.mark.parametrize("kind", KINDS)
def test_a_stale_delete_is_refused_and_a_current_one_deletes(api: Api, kind: str) -> None:
    url, change = make_record(api, kind)
    stale = api.get(url).headers["ETag"]
    current = api.put(url, json=change).headers["ETag"]

    refused = api.delete(url, headers={"If-Match": stale})
    assert refused.status_code == 412
    assert refused.headers["ETag"] == current
    assert api.get(url).json()["data"]["deleted_at"] is None

    assert api.delete(url, headers={"If-Match": current}).status_code == 204
    assert api.get(url).json()["data"]["deleted_at"] is not None


def test_deleting_gives_the_record_a_new_version(api: Api) -> None:
    url, _ = make_record(api, "customers")
    before = api.get(url).headers["ETag"]

    api.delete(url)

    assert api.get(url).headers["ETag"] != before
    assert api.delete(url, headers={"If-Match": before}).status_code == 412


@pytest.mark.parametrize("kind", ["customers", "tags", "delivery_zones"])
def test_restore_honours_if_match_and_answers_the_new_etag(api: Api, kind: str) -> None:
    url, _ = make_record(api, kind)
    api.delete(url)
    deleted = api.get(url).headers["ETag"]

    assert api.put(f"{url}/restore", headers={"If-Match": '"0"'}).status_code == 412
    restored = api.put(f"{url}/restore", headers={"If-Match": deleted})

    assert restored.status_code == 200
    assert restored.json()["data"]["deleted_at"] is None
    assert restored.headers["ETag"] not in (deleted, "")
    assert api.get(url).headers["ETag"] == restored.headers["ETag"]


@pytest.mark.parametrize("if_match", ["*", "{current}", '"0", {current}', "{bare}"])
def test_if_match_accepts_a_wildcard_a_list_and_an_unquoted_tag(api: Api, if_match: str) -> None:
    url, change = make_record(api, "customers")
    current = api.get(url).headers["ETag"]

    response = api.put(
        url, json=change, headers={"If-Match": if_match.format(current=current, bare=current.strip('"'))}
    )

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("if_match", ['W/"{bare}"', '"0"', "nonsense", ""])
def test_if_match_refuses_weak_unknown_and_empty_tags(api: Api, if_match: str) -> None:
    url, change = make_record(api, "customers")
    current = api.get(url).headers["ETag"]

    response = api.put(url, json=change, headers={"If-Match": if_match.format(bare=current.strip('"'))})

    assert response.status_code == 412
    assert api.get(url).json()["data"]["name"] != change["name"]


def test_an_unchanged_put_keeps_the_version_and_a_tag_change_moves_it(api: Api) -> None:
    customer = api.make_customer(name="Same")
    url = f"/customers/{customer['id']}"
    etag = api.get(url).headers["ETag"]

    assert api.put(url, json={"name": "Same"}).headers["ETag"] == etag
    tag = api.make_tag()
    assert api.put(url, json={"tags": [{"id": tag["id"]}]}).headers["ETag"] != etag


def test_the_etag_does_not_depend_on_include(api: Api) -> None:
    customer = api.make_customer()
    url = f"/customers/{customer['id']}"

    assert api.get(url).headers["ETag"] == api.get(f"{url}?include=tags,addresses").headers["ETag"]


def test_other_errors_come_before_a_failed_precondition(api: Api, api_with: Callable[..., Api], anonymous: Api) -> None:
    url, change = make_record(api, "customers")
    stale = {"If-Match": '"0"'}

    assert api.put(f"/customers/{uuid.uuid4()}", json=change, headers=stale).status_code == 404
    assert anonymous.put(url, json=change, headers=stale).status_code == 401
    assert api_with("customers.get").put(url, json=change, headers=stale).status_code == 403


def test_a_stale_put_with_an_invalid_body_is_a_412_not_a_422(api: Api) -> None:
    url, _ = make_record(api, "customers")

    response = api.put(url, json={"email": "not an email"}, headers={"If-Match": '"0"'})

    assert response.status_code == 412


def test_the_second_of_two_writers_who_read_the_same_version_is_refused(
    api: Api, stored_row: Callable[..., dict[str, Any]]
) -> None:
    customer = api.make_customer(name="Original", email="first@example.com")
    url = f"/customers/{customer['id']}"
    read_by_both = api.get(url).headers["ETag"]

    first = api.put(url, json={"name": "Writer one"}, headers={"If-Match": read_by_both})
    second = api.put(url, json={"email": "second@example.com"}, headers={"If-Match": read_by_both})

    assert first.status_code == 200
    assert second.status_code == 412
    row = stored_row(customers, customer["id"])
    assert (row["name"], row["email"]) == ("Writer one", "first@example.com")
    # The refused writer reads again and applies its change on top: nothing is lost.
    retried = api.put(url, json={"email": "second@example.com"}, headers={"If-Match": second.headers["ETag"]})
    assert retried.status_code == 200
    assert (retried.json()["data"]["name"], retried.json()["data"]["email"]) == ("Writer one", "second@example.com")


WRITERS = 50


def test_fifty_concurrent_puts_with_one_etag_have_exactly_one_winner(database_url: str, tmp_path: Path) -> None:
    business = create_business(database_url)
    token = create_token(database_url, business)
    headers = {"Authorization": f"Bearer {token}"}
    with (
        serving(database_url, tmp_path, "--workers", "2") as [server],
        httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as http,
    ):
        created = http.post("/customers", json={"name": "Contested", "dial_code": 966, "phone": "512345678"})
        assert created.status_code == 201, created.text
        url = f"/customers/{created.json()['data']['id']}"
        version = http.get(url).headers["ETag"]

        def write(writer: int) -> httpx.Response:
            return http.put(url, json={"name": f"Writer {writer}"}, headers={"If-Match": version})

        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            answers = list(pool.map(write, range(WRITERS)))

        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200] + [412] * (WRITERS - 1)
        [winner] = [answer for answer in answers if answer.status_code == 200]
        final = http.get(url)
        assert final.json()["data"]["name"] == winner.json()["data"]["name"]
        assert final.headers["ETag"] == winner.headers["ETag"]
        refused_with = {answer.headers["ETag"] for answer in answers if answer.status_code == 412}
        assert refused_with == {winner.headers["ETag"]}
