"""Fixtures for tag tests: tag rows as stored, read and written past the API."""

import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from clientele.db.clock import utcnow
from clientele.db.ids import new_id
from clientele.tags.models import tags
from tests.conftest import run_statement


@pytest.fixture
def stored_tag(stored_row: Callable[..., dict[str, Any]]) -> Callable[[str], dict[str, Any]]:
    """`stored_tag(tag["id"])`: the tag's row, timestamps at their stored precision."""
    return partial(stored_row, tags)


@pytest.fixture
def insert_tag(client: TestClient) -> Callable[..., None]:
    """`insert_tag(business_id, name)`: store a tag directly, as a request racing the API's would."""

    def write(business_id: uuid.UUID, name: str, **values: Any) -> None:
        now = utcnow()
        run_statement(
            client,
            insert(tags).values(
                business_id=business_id, id=new_id(), name=name, created_at=now, updated_at=now, **values
            ),
        )

    return write


@pytest.fixture
def overwrite_tag(overwrite: Callable[..., None]) -> Callable[..., None]:
    """`overwrite_tag(tag["id"], updated_at=…)`: set stored columns no API call can set."""
    return partial(overwrite, tags)
