"""Settings read from the environment, once, into one object."""

import os
from dataclasses import dataclass, field

DEFAULT_DATABASE_URL = "sqlite:///./clientele.db"


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str | None
    max_body_bytes: int = 1024 * 1024
    database_pool_size: int = 10
    # How long a request waits for a free pooled connection before it is a 503.
    database_pool_timeout_seconds: float = 10
    retry_after_seconds: int = 5
    # Signs list cursors; when unset, a random secret kept in the database is used instead.
    secret_key: str | None = field(default=None, repr=False)
    # Requests each token may send per period (RATE_LIMIT_PER_MINUTE); 0 turns rate limiting off.
    rate_limit: int = 600
    # Only tests change the period: a long one makes the budget refill too slowly to matter.
    rate_limit_period_seconds: int = 60
    # Answer the busiest requests in one statement each on PostgreSQL (clientele.web.fast_paths).
    fast_paths: bool = True


def load_settings() -> Settings:
    """Build the settings from the process environment."""
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        redis_url=os.environ.get("REDIS_URL") or None,
        database_pool_size=int(os.environ.get("DATABASE_POOL_SIZE", "10")),
        secret_key=os.environ.get("SECRET_KEY") or None,
        rate_limit=int(os.environ.get("RATE_LIMIT_PER_MINUTE") or "600"),
    )
