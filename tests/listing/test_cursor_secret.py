"""The key that signs cursors is the same in every worker and after a restart: SECRET_KEY when
set, otherwise a random secret kept in the database."""

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clientele.app import create_app
from clientele.config import Settings, load_settings
from tests.conftest import Api


@pytest.fixture
def another_process(settings: Settings) -> Callable[..., Any]:
    """`with another_process(api, secret_key=…) as their_api`: the same business through a new app,
    as another worker or a restart would serve it."""

    @contextmanager
    def start(api: Api, **changes: Any) -> Iterator[Api]:
        with TestClient(create_app(dataclasses.replace(settings, **changes)), raise_server_exceptions=False) as client:
            yield Api(client, api.token, api.business_id)

    return start


def pages(api: Api) -> tuple[str, list[str]]:
    """The first page's cursor, and the names on the page after it."""
    first = api.get("/customers", params={"per_page": "2"}).json()
    cursor = first["meta"]["next_cursor"]
    following = api.get("/customers", params={"per_page": "2", "cursor": cursor})
    assert following.status_code == 200, following.text
    return cursor, [customer["name"] for customer in following.json()["data"]]


@pytest.fixture
def four_customers(api: Api) -> None:
    for number in range(4):
        api.make_customer(name=f"Customer {number}")


def test_a_random_secret_is_kept_in_the_database(stored):
    [row] = stored("SELECT value FROM instance_settings WHERE key = 'secret_key'")

    assert len(row["value"]) >= 43  # 256 random bits


def test_another_worker_or_a_restart_accepts_the_cursor(api, four_customers, another_process):
    cursor, names = pages(api)

    with another_process(api) as restarted:
        response = restarted.get("/customers", params={"per_page": "2", "cursor": cursor})

    assert response.status_code == 200, response.text
    assert [customer["name"] for customer in response.json()["data"]] == names == ["Customer 2", "Customer 3"]


def test_with_secret_key_set_only_a_process_with_the_same_key_accepts_the_cursor(api, four_customers, another_process):
    with another_process(api, secret_key="first key") as first:
        cursor, names = pages(first)
    with another_process(api, secret_key="first key") as same:
        accepted = same.get("/customers", params={"per_page": "2", "cursor": cursor})
    with another_process(api, secret_key="second key") as other:
        refused = other.get("/customers", params={"per_page": "2", "cursor": cursor})

    assert [customer["name"] for customer in accepted.json()["data"]] == names
    assert refused.status_code == 400
    assert list(refused.json()["errors"]) == ["cursor"]
    assert api.get("/customers", params={"per_page": "2", "cursor": cursor}).status_code == 400


def test_secret_key_comes_from_the_environment_and_stays_out_of_the_settings_repr(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "a very secret value")

    settings = load_settings()

    assert settings.secret_key == "a very secret value"
    assert "a very secret value" not in repr(settings)
    monkeypatch.setenv("SECRET_KEY", "")
    assert load_settings().secret_key is None
