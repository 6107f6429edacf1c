"""Fixtures that change a token behind the API's back, as an operator's CLI would."""

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.auth import service as auth
from clientele.auth.models import tokens
from clientele.db.clock import utcnow
from tests.conftest import run_in_app


@pytest.fixture
def expire_token(client: TestClient) -> Callable[[uuid.UUID], None]:
    """`expire_token(token_id)`: the token's expiry moves to one second ago."""

    def expire(token_id: uuid.UUID) -> None:
        async def work(connection: AsyncConnection) -> None:
            await connection.execute(
                update(tokens).where(tokens.c.id == token_id).values(expires_at=utcnow() - timedelta(seconds=1))
            )

        run_in_app(client, work)

    return expire


@pytest.fixture
def revoke_token(client: TestClient) -> Callable[[uuid.UUID], None]:
    """`revoke_token(token_id)`: revoked as `clientele token revoke` does it."""

    def revoke(token_id: uuid.UUID) -> None:
        async def work(connection: AsyncConnection) -> None:
            assert await auth.revoke_token(connection=connection, token_id=token_id)

        run_in_app(client, work)

    return revoke
