"""Alembic's entry point: runs on the connection `clientele.db.engine.migrate` hands it."""

import asyncio
import importlib

from alembic import context
from sqlalchemy import Connection

from clientele.config import load_settings
from clientele.db.engine import create_engine
from clientele.db.metadata import metadata

# Every module that declares tables, so that the metadata autogenerate compares with is complete.
TABLE_MODULES = (
    "clientele.auth.models",
    "clientele.customers.models",
    "clientele.tags.models",
    "clientele.delivery_zones.models",
    "clientele.addresses.models",
    "clientele.ledgers.models",
    "clientele.events.models",
    "clientele.webhooks.models",
    "clientele.db.cursors",
    "clientele.web.idempotency",
)


def run_on(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_standalone() -> None:
    """For the `alembic` command itself (e.g. autogenerate), against DATABASE_URL."""
    for module in TABLE_MODULES:
        importlib.import_module(module)
    engine = create_engine(load_settings().database_url)
    async with engine.begin() as connection:
        await connection.run_sync(run_on)
    await engine.dispose()


given = context.config.attributes.get("connection")
if given is not None:
    run_on(given)
else:
    asyncio.run(run_standalone())
