"""Settings read from the environment, once, into one object."""

import os
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///./clientele.db"
DATABASE_URL_FORMS = "sqlite:///path/to/file.db or postgresql://user[:password]@host[:port]/db"
LOG_FORMATS = ("text", "json")


class ConfigurationError(ValueError):
    """An environment variable Clientele cannot use; the message names it, in one line."""


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
    # `clientele serve`'s log lines: text, or one JSON object per line (LOG_FORMAT).
    log_format: Literal["text", "json"] = "text"
    # Webhook URLs may name loopback and private addresses, and plain http (WEBHOOK_ALLOW_PRIVATE_NETWORKS):
    # for local use and tests only.
    webhook_allow_private_networks: bool = False
    # Every worker of the app runs a webhook deliverer (DELIVER_WEBHOOKS, on unless set to 0): off
    # here so that an app made in a test or a script sends nothing unless it asks to.
    deliver_webhooks: bool = False


def load_settings() -> Settings:
    """Build the settings from the process environment; ConfigurationError names a variable it cannot use."""
    log_format = os.environ.get("LOG_FORMAT") or "text"
    if log_format not in LOG_FORMATS:
        raise ConfigurationError(f"LOG_FORMAT must be text or json, not {log_format!r}.")
    return Settings(
        database_url=database_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL),
        redis_url=os.environ.get("REDIS_URL") or None,
        database_pool_size=whole_number("DATABASE_POOL_SIZE", "10", minimum=1),
        secret_key=os.environ.get("SECRET_KEY") or None,
        rate_limit=whole_number("RATE_LIMIT_PER_MINUTE", "600", minimum=0),
        log_format="json" if log_format == "json" else "text",
        webhook_allow_private_networks=flag("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False),
        deliver_webhooks=flag("DELIVER_WEBHOOKS", default=True),
    )


def database_url(text: str) -> str:
    """The URL of a database Clientele can use, with `postgres://` (as Heroku and others write it)
    read as `postgresql://`. The URL is never repeated in an error: it may hold a password."""
    if text.startswith("postgres://"):
        text = "postgresql://" + text.removeprefix("postgres://")
    try:
        backend = make_url(text).get_backend_name()
    except ArgumentError:
        raise ConfigurationError(f"DATABASE_URL is not a database URL: use {DATABASE_URL_FORMS}.") from None
    if backend not in ("sqlite", "postgresql"):
        raise ConfigurationError(
            f"DATABASE_URL names {backend!r}, which Clientele cannot use: use {DATABASE_URL_FORMS}."
        )
    return text


def whole_number(variable: str, default: str, *, minimum: int) -> int:
    text = os.environ.get(variable) or default
    if not text.strip().isdigit() or int(text) < minimum:
        raise ConfigurationError(f"{variable} must be a whole number of at least {minimum}, not {text!r}.")
    return int(text)


FLAG_VALUES = {"1": True, "true": True, "0": False, "false": False}


def flag(variable: str, *, default: bool) -> bool:
    text = (os.environ.get(variable) or "").strip().lower()
    if not text:
        return default
    if text not in FLAG_VALUES:
        raise ConfigurationError(f"{variable} must be 1 or 0 (true or false), not {text!r}.")
    return FLAG_VALUES[text]
