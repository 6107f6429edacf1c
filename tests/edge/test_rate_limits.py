"""Rate limits per token, counted in the process (no REDIS_URL): headers, 429, refill, what is exempt."""

import time
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Api, next_phone
from tests.edge.conftest import AppWith, Clock

LIMIT = 3
# 60 s / 3 requests: the budget refills one request every 20 s.
REFILL_SECONDS = 20


@pytest.fixture
def limited(app_with: AppWith, clock: Clock) -> TestClient:
    """An app that allows each token 3 requests a minute, on the test's clock."""
    client = app_with(rate_limit=LIMIT)
    client.app.state.rate_limiter.clock = clock  # type: ignore[attr-defined]
    return client


def get(client: TestClient, token: str, path: str = "/customers") -> httpx.Response:
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


def spend(client: TestClient, token: str, requests: int = LIMIT) -> None:
    for _ in range(requests):
        assert get(client, token).status_code == 200


def test_every_counted_response_says_the_limit_and_what_remains(limited: TestClient, api: Api) -> None:
    responses = [get(limited, api.token, path) for path in ("/customers", "/v5/customers", "/tags")]

    assert [response.status_code for response in responses] == [200, 200, 200]
    assert [response.headers["X-RateLimit-Limit"] for response in responses] == ["3", "3", "3"]
    assert [response.headers["X-RateLimit-Remaining"] for response in responses] == ["2", "1", "0"]


def test_a_request_over_the_limit_is_429_with_retry_after_and_an_error_body(limited: TestClient, api: Api) -> None:
    spend(limited, api.token)

    refused = get(limited, api.token)

    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/json"
    assert refused.json() == {"message": "Too Many Requests."}
    assert refused.headers["Retry-After"] == str(REFILL_SECONDS)
    assert refused.headers["X-RateLimit-Limit"] == "3"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert time.time() < int(refused.headers["X-RateLimit-Reset"]) <= time.time() + REFILL_SECONDS + 1


def test_a_refused_request_never_reaches_the_route(limited: TestClient, api: Api, api_with: Callable[..., Api]) -> None:
    spend(limited, api.token)

    refused = limited.post(
        "/customers",
        json={"name": "Never stored", "dial_code": 966, "phone": next_phone()},
        headers={"Authorization": f"Bearer {api.token}"},
    )

    assert refused.status_code == 429
    assert api_with("customers.list").get("/customers").json()["data"] == []


def test_each_token_has_a_budget_of_its_own(limited: TestClient, api: Api, api_with: Callable[..., Api]) -> None:
    spend(limited, api.token)
    same_business_other_token = api_with("customers.list")

    response = get(limited, same_business_other_token.token)

    assert get(limited, api.token).status_code == 429
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Remaining"] == "2"


def test_the_budget_refills_one_request_per_interval_and_fully_after_a_minute(
    limited: TestClient, api: Api, clock: Clock
) -> None:
    spend(limited, api.token)

    clock.advance(REFILL_SECONDS)
    refilled_one = get(limited, api.token)
    again_refused = get(limited, api.token)
    clock.advance(60)
    refilled_all = get(limited, api.token)

    assert (refilled_one.status_code, refilled_one.headers["X-RateLimit-Remaining"]) == (200, "0")
    assert again_refused.status_code == 429
    assert (refilled_all.status_code, refilled_all.headers["X-RateLimit-Remaining"]) == (200, "2")


def test_requests_without_a_token_are_not_counted(app_with: AppWith, api: Api) -> None:
    limited = app_with(rate_limit=1)

    anonymous = [limited.get("/customers") for _ in range(3)]
    with_token = get(limited, api.token)

    assert [response.status_code for response in anonymous] == [401, 401, 401]
    assert not any("X-RateLimit-Limit" in response.headers for response in anonymous)
    assert (with_token.status_code, with_token.headers["X-RateLimit-Remaining"]) == (200, "0")


def test_an_invalid_token_is_counted_and_never_echoed(limited: TestClient) -> None:
    token = "clt_" + "k" * 43

    responses = [get(limited, token) for _ in range(LIMIT + 1)]

    assert [response.status_code for response in responses] == [401, 401, 401, 429]
    for response in responses:
        assert token not in response.text
        assert not any(token in value for value in response.headers.values())


def test_the_probes_are_never_limited(limited: TestClient, api: Api) -> None:
    spend(limited, api.token)

    probes = [get(limited, api.token, path) for path in ("/healthz", "/readyz") * 2]

    assert [response.status_code for response in probes] == [200, 200, 200, 200]
    assert not any("X-RateLimit-Limit" in response.headers for response in probes)


def test_a_limit_of_zero_turns_rate_limiting_off(app_with: AppWith, api: Api) -> None:
    unlimited = app_with(rate_limit=0)

    responses = [get(unlimited, api.token) for _ in range(5)]

    assert [response.status_code for response in responses] == [200] * 5
    assert not any("X-RateLimit-Limit" in response.headers for response in responses)
    assert "429" not in unlimited.get("/openapi.json").json()["paths"]["/customers"]["get"]["responses"]


def test_tokens_idle_for_a_period_are_forgotten(limited: TestClient, api: Api, clock: Clock) -> None:
    for number in range(50):
        get(limited, f"clt_idle-{number}")
    tracked_before = len(limited.app.state.rate_limiter)  # type: ignore[attr-defined]

    clock.advance(60)
    get(limited, api.token)

    assert tracked_before == 50
    assert len(limited.app.state.rate_limiter) == 1  # type: ignore[attr-defined]


def test_429_is_documented_on_every_operation_that_takes_a_token(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    operations = [operation for path in paths.values() for operation in path.values()]

    with_token = [operation for operation in operations if "401" in operation["responses"]]
    assert with_token
    for operation in with_token:
        assert "Retry-After" in operation["responses"]["429"]["headers"]
    assert "429" not in paths["/healthz"]["get"]["responses"]
