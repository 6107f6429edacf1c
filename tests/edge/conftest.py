"""Fixtures for the edge of the service: apps with their own settings, a clock the tests move,
and the Redis of the machine (when there is one) behind a proxy the tests can cut."""

import dataclasses
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from fastapi.testclient import TestClient

from clientele.app import create_app
from clientele.config import Settings
from tests.tcp_proxy import TcpProxy

AppWith = Callable[..., TestClient]


@pytest.fixture
def app_with(settings: Settings) -> Iterator[AppWith]:
    """`app_with(rate_limit=3)`: a client of a new app on the suite's database with these settings changed."""
    with ExitStack() as running:

        def make(**changes: Any) -> TestClient:
            app = create_app(dataclasses.replace(settings, **changes))
            return running.enter_context(TestClient(app, raise_server_exceptions=False))

        yield make


class Clock:
    """A monotonic clock in nanoseconds that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 1_000_000 * 1_000_000_000

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1_000_000_000)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """TEST_REDIS_URL (use a database of its own, e.g. /15); the test is skipped without a Redis."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/15)")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis at TEST_REDIS_URL does not answer: {error}")
    return url


@pytest.fixture
def redis_proxy(redis_url: str) -> Iterator[tuple[TcpProxy, str]]:
    """A proxy in front of the test Redis, and the Redis URL that goes through it."""
    parts = urlsplit(redis_url)
    with TcpProxy((parts.hostname or "127.0.0.1", parts.port or 6379)) as proxy:
        address = f"{parts.username or ''}{':' + parts.password if parts.password else ''}"
        netloc = f"{address}@127.0.0.1:{proxy.port}" if address else f"127.0.0.1:{proxy.port}"
        yield proxy, urlunsplit(parts._replace(netloc=netloc))
