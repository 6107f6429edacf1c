"""Fixtures for the customer tests: customers and their tag links as the database holds them."""

import re
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from clientele.auth.scopes import ALL_SCOPES
from clientele.customers.models import customers
from clientele.tags.models import customer_tags
from tests.conftest import run_in_app

StoredCustomer = Callable[[str], dict[str, Any]]


def is_sentence(text: Any) -> bool:
    """A message a person can read: starts with a capital letter and ends with a full stop."""
    return isinstance(text, str) and re.fullmatch(r"[A-Z].*\.(\s\(and \d+ more errors?\))?", text) is not None


def all_scopes_but(missing: str) -> list[str]:
    """Every scope except one: shows that exactly that scope is the one needed."""
    return [granted for granted in ALL_SCOPES if granted != missing]


def assert_field_error(response: Any, field: str) -> None:
    """A 422 whose `errors` names `field` with sentences, and whose message is a sentence."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert is_sentence(body["message"]), body
    assert field in body["errors"], body
    assert all(is_sentence(sentence) for sentence in body["errors"][field]), body


@pytest.fixture
def stored_customer(stored_row: Callable[..., dict[str, Any]]) -> StoredCustomer:
    """`stored_customer(id)`: the customer's row as stored, to the microsecond."""
    return partial(stored_row, customers)


@pytest.fixture
def stored_customers(client: TestClient, business: uuid.UUID) -> Callable[[], list[dict[str, Any]]]:
    """`stored_customers()`: every customer row of the test business, deleted or not."""

    def load() -> list[dict[str, Any]]:
        async def work(connection: Any) -> list[dict[str, Any]]:
            result = await connection.execute(select(customers).where(customers.c.business_id == business))
            return [dict(row._mapping) for row in result]

        return run_in_app(client, work)

    return load


@pytest.fixture
def stored_tag_ids(client: TestClient) -> Callable[[str], set[str]]:
    """`stored_tag_ids(customer_id)`: the ids of the tags linked to the customer, as stored."""

    def load(customer_id: str) -> set[str]:
        async def work(connection: Any) -> set[str]:
            result = await connection.execute(
                select(customer_tags.c.tag_id).where(customer_tags.c.customer_id == uuid.UUID(customer_id))
            )
            return {str(row.tag_id) for row in result}

        return run_in_app(client, work)

    return load
