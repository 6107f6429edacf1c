"""Route scopes (SPEC §2, §5, §6): every route needs a token, and refuses one without its scope."""

from collections.abc import Callable

import pytest

from clientele.auth.scopes import ALL_SCOPES
from tests.auth.routes import ROUTES, Records, Route
from tests.conftest import Api


@pytest.fixture
def records(api: Api) -> Records:
    return Records(api)


@pytest.mark.parametrize("route", [route.param() for route in ROUTES])
def test_every_route_accepts_a_token_with_only_its_scope(
    route: Route, records: Records, api_with: Callable[..., Api]
) -> None:
    response = route.send(api_with(route.scope, *route.shows), records)

    assert response.status_code == route.success, response.text


@pytest.mark.parametrize("route", [route.param() for route in ROUTES])
def test_every_route_refuses_a_token_without_its_scope_naming_it(
    route: Route, records: Records, api_with: Callable[..., Api]
) -> None:
    response = route.send(api_with(*(scope for scope in ALL_SCOPES if scope != route.scope)), records)

    assert response.status_code == 403, response.text
    assert route.scope in response.json()["message"]


@pytest.mark.parametrize("route", [route.param() for route in ROUTES if route.method != "GET"])
def test_a_refused_write_changes_nothing(
    route: Route, records: Records, api: Api, api_with: Callable[..., Api]
) -> None:
    # The record itself for a route on one record, the collection's list for a create.
    watched = route.path.format_map(records).removesuffix("/restore")
    before = api.get(watched).json()

    route.send(api_with(*(scope for scope in ALL_SCOPES if scope != route.scope)), records)

    assert api.get(watched).json()["data"] == before["data"]


@pytest.mark.parametrize("route", [route.param() for route in ROUTES])
def test_every_route_refuses_a_request_without_a_token(route: Route, records: Records, anonymous: Api) -> None:
    response = route.send(anonymous, records)

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}
