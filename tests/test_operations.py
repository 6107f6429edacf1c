"""Operating the service (SPEC §7): the liveness and readiness probes; the worker's garbage collector."""

import gc
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from clientele.app import YOUNGEST_COLLECTED_AFTER, create_app
from clientele.config import Settings

UNREACHABLE = {
    "postgresql": lambda _: "postgresql://postgres@127.0.0.1:1/nothing",
    "sqlite": lambda tmp_path: f"sqlite:///{tmp_path / 'missing-directory' / 'clientele.db'}",
}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}], ids=["no token", "bad token"])
def test_healthz_answers_without_a_token(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/healthz", headers=headers)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}], ids=["no token", "bad token"])
def test_readyz_answers_without_a_token_when_the_database_is_reachable(
    client: TestClient, headers: dict[str, str]
) -> None:
    response = client.get("/readyz", headers=headers)

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


@pytest.mark.parametrize("engine", UNREACHABLE)
def test_readyz_is_503_and_healthz_200_while_the_database_is_unreachable(engine: str, tmp_path: Path) -> None:
    settings = Settings(database_url=UNREACHABLE[engine](tmp_path), redis_url=None)

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        ready, healthy = client.get("/readyz"), client.get("/healthz")

    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/json"
    assert ready.json() == {"message": "Service Unavailable."}
    assert int(ready.headers["Retry-After"]) > 0
    assert healthy.status_code == 200


def test_readyz_recovers_by_itself_when_the_database_comes_back(tmp_path: Path) -> None:
    directory = tmp_path / "not-yet"
    settings = Settings(database_url=f"sqlite:///{directory / 'clientele.db'}", redis_url=None)

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/readyz").status_code == 503
        directory.mkdir()
        assert client.get("/readyz").status_code == 200


def test_a_started_app_leaves_what_it_holds_out_of_later_garbage_collections(settings: Settings) -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)

    with TestClient(create_app(settings)) as started:
        assert started.get("/healthz").status_code == 200
        frozen, threshold = gc.get_freeze_count(), gc.get_threshold()

    assert frozen > 10_000
    assert threshold == (YOUNGEST_COLLECTED_AFTER, 10, 10)
