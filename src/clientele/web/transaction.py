"""One connection and one transaction per request, committed before the response is sent."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from clientele.db.engine import is_sqlite


async def request_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """The request's connection and transaction. Reads on PostgreSQL run without BEGIN/COMMIT:
    under READ COMMITTED every statement takes its own snapshot inside a transaction too, so the
    transaction would only cost two round trips."""
    engine: AsyncEngine = request.app.state.engine
    writes = request.method not in ("GET", "HEAD", "OPTIONS")
    async with engine.connect() as connection:
        if is_sqlite(connection):
            if writes:
                connection = await connection.execution_options(sqlite_write=True)
        elif not writes:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        async with connection.begin():
            yield connection


Connection = Annotated[AsyncConnection, Depends(request_connection, scope="function")]
"""The request's connection; its transaction commits before the response goes out."""
