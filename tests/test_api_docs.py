"""The API's description and its documentation page: the installed version, and a page that needs no internet."""

import importlib.metadata

from fastapi.testclient import TestClient


def test_the_description_names_the_installed_version(client: TestClient) -> None:
    described = client.get("/openapi.json").json()

    assert described["info"]["version"] == importlib.metadata.version("clientele")
