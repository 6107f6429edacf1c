"""The API's description and its documentation page: the installed version, and a page that needs no internet."""

import importlib.metadata
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from clientele.app import create_app
from clientele.config import Settings

CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
    ".json": ("application/json",),
}


def loaded_urls(page: str) -> list[str]:
    """Every URL the page loads: its scripts, styles and icon, and the description Swagger UI fetches."""
    return [
        attribute or description
        for attribute, description in re.findall(r"""(?:src|href)="([^"]+)"|url: '([^']+)'""", page)
    ]


def content_type_of(url: str) -> tuple[str, ...]:
    return CONTENT_TYPES["." + url.rsplit(".", 1)[-1]]


@pytest.fixture
def behind_a_proxy(settings: Settings) -> Iterator[TestClient]:
    """The app as a reverse proxy serving it under /clientele reaches it (`root_path`)."""
    with TestClient(create_app(settings), root_path="/clientele") as client:
        yield client


def test_the_description_names_the_installed_version(client: TestClient) -> None:
    described = client.get("/openapi.json").json()

    assert described["info"]["version"] == importlib.metadata.version("clientele")


@pytest.mark.parametrize("prefix", ["", "/v5"])
def test_the_docs_page_loads_everything_from_this_server(client: TestClient, prefix: str) -> None:
    page = client.get(f"{prefix}/docs")
    urls = loaded_urls(page.text)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert sorted(url.rsplit(".", 1)[-1] for url in urls) == ["css", "js", "json", "png"]
    assert [url for url in urls if not url.startswith("/")] == []
    assert not re.search(r"https?://", page.text)
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].split(";")[0] in content_type_of(url), url
        assert len(asset.content) > 0


def test_the_swagger_ui_script_is_served_whole(client: TestClient) -> None:
    [script] = [url for url in loaded_urls(client.get("/docs").text) if url.endswith(".js")]

    assert b"SwaggerUIBundle" in client.get(script).content


@pytest.mark.parametrize("prefix", ["", "/v5"])
def test_behind_a_proxy_the_docs_page_loads_everything_under_its_root_path(
    behind_a_proxy: TestClient, prefix: str
) -> None:
    page = behind_a_proxy.get(f"/clientele{prefix}/docs")
    urls = loaded_urls(page.text)

    assert page.status_code == 200
    assert "/clientele/openapi.json" in urls
    assert [url for url in urls if not url.startswith(f"/clientele{prefix}/docs/assets/")] == [
        "/clientele/openapi.json"
    ]
    for url in urls:
        assert behind_a_proxy.get(url).status_code == 200, url
