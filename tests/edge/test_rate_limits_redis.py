"""Rate limits counted in Redis: one budget for every process, and requests that pass when Redis
is away (fail open), with a warning, until it answers again.

Skipped without TEST_REDIS_URL or when that Redis does not answer. Redis itself is never
stopped: the faults are a closed port and a proxy the tests own. Keys are the SHA-256 of
tokens made for each test, so runs never share a budget.
"""

import httpx
import pytest
from fastapi.testclient import TestClient

from clientele.web.rate_limits import REDIS_RETRY_NS
from tests.cli.processes import free_port
from tests.conftest import Api
from tests.edge.conftest import AppWith, Clock
from tests.tcp_proxy import TcpProxy

# The budget would refill one request per 15 minutes: nothing refills while a test runs.
SLOW_REFILL = {"rate_limit_period_seconds": 3600}


def get(client: TestClient, token: str) -> httpx.Response:
    return client.get("/customers", headers={"Authorization": f"Bearer {token}"})


def remaining(response: httpx.Response) -> str | None:
    assert response.status_code == 200, response.text
    return response.headers.get("X-RateLimit-Remaining")


def outage_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "clientele.rate_limits" and "unavailable" in record.getMessage()
    ]


def test_two_app_instances_share_one_budget(app_with: AppWith, redis_url: str, api: Api) -> None:
    first, second = (app_with(redis_url=redis_url, rate_limit=4, **SLOW_REFILL) for _ in range(2))

    counted = [get(app, api.token) for app in (first, second, first, second)]
    refused = [get(app, api.token) for app in (first, second)]

    assert [response.status_code for response in counted] == [200] * 4
    assert [response.headers["X-RateLimit-Remaining"] for response in counted] == ["3", "2", "1", "0"]
    assert [response.status_code for response in refused] == [429, 429]
    assert all(int(response.headers["Retry-After"]) > 0 for response in refused)


def test_requests_pass_with_one_warning_a_minute_when_redis_is_unreachable(
    app_with: AppWith, api: Api, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_with(redis_url=f"redis://127.0.0.1:{free_port()}/15", rate_limit=2)
    app.app.state.rate_limiter.clock = clock  # type: ignore[attr-defined]

    responses = []
    for _ in range(20):
        # Each request asks the closed port again, and fails.
        clock.advance(REDIS_RETRY_NS / 1e9)
        responses.append(get(app, api.token))
    warnings_in_the_first_minute = outage_warnings(caplog)
    clock.advance(60)
    responses.append(get(app, api.token))

    assert [remaining(response) for response in responses] == [None] * 21
    assert len(warnings_in_the_first_minute) == 1
    assert "requests pass without rate limits" in warnings_in_the_first_minute[0]
    assert "20 requests passed without rate limits since the last warning" in outage_warnings(caplog)[1]
    assert api.token not in caplog.text


def test_requests_pass_when_redis_stops_answering(
    app_with: AppWith, redis_proxy: tuple[TcpProxy, str], api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    proxy, url = redis_proxy
    proxy.hang()
    app = app_with(redis_url=url, rate_limit=2)

    responses = [get(app, api.token) for _ in range(5)]

    assert [remaining(response) for response in responses] == [None] * 5
    assert len(outage_warnings(caplog)) == 1


def test_counting_resumes_by_itself_when_redis_comes_back(
    app_with: AppWith, redis_proxy: tuple[TcpProxy, str], api: Api, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    proxy, url = redis_proxy
    app = app_with(redis_url=url, rate_limit=5, **SLOW_REFILL)
    app.app.state.rate_limiter.clock = clock  # type: ignore[attr-defined]
    before = [remaining(get(app, api.token)) for _ in range(2)]

    proxy.cut()
    during = [remaining(get(app, api.token)) for _ in range(10)]
    proxy.restore()
    still_waiting = remaining(get(app, api.token))
    clock.advance(REDIS_RETRY_NS / 1e9)
    after = [remaining(get(app, api.token)) for _ in range(3)]
    refused = get(app, api.token)

    assert before == ["4", "3"]
    assert during == [None] * 10
    assert still_waiting is None
    # The budget kept in Redis goes on where it stopped: what passed meanwhile was not counted.
    assert after == ["2", "1", "0"]
    assert refused.status_code == 429
    assert len(outage_warnings(caplog)) == 1
    assert any(record.getMessage().startswith("Redis answers again") for record in caplog.records)
