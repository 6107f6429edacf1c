"""Alembic's entry point: runs on the connection `clientele.database.migrate` hands it."""

import asyncio

from alembic import context
from sqlalchemy import Connection

from clientele import models  # noqa: F401  (registers every table on the metadata)
from clientele.config import load_settings
from clientele.database import create_engine, metadata


def run_on(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_standalone() -> None:
    """For the `alembic` command itself (e.g. autogenerate), against DATABASE_URL."""
    engine = create_engine(load_settings().database_url)
    async with engine.begin() as connection:
        await connection.run_sync(run_on)
    await engine.dispose()


given = context.config.attributes.get("connection")
if given is not None:
    run_on(given)
else:
    asyncio.run(run_standalone())
