"""The change event on the wire (SPEC §10)."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from clientele.events.service import EVENT_TYPES
from clientele.listing.openapi import named_enum

EXAMPLE: dict[str, Any] = {
    "id": "01939a71-0b2c-7d3e-8f40-5a6b7c8d9e0f",
    "type": "customer.updated",
    "timestamp": "2026-12-07T13:40:05.123456Z",
    "data": {
        "id": "01939a6e-1f2b-7c3d-8e4f-5a6b7c8d9e0f",
        "name": "Simona",
        "dial_code": 966,
        "phone": "565445254",
        "email": "simona@example.org",
        "gender": None,
        "birth_date": None,
        "is_loyalty_enabled": False,
        "is_blacklisted": False,
        "is_house_account_enabled": False,
        "last_order_at": None,
        "order_count": 0,
        "notes": None,
        "created_at": "2026-12-01 09:12:44",
        "updated_at": "2026-12-07 13:40:05",
        "deleted_at": None,
    },
    "changes": {"email": "simona@example.net", "updated_at": "2026-12-01 09:12:44"},
}


class EventOut(BaseModel):
    """One committed change, as the reader's scopes show its record."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    id: str = Field(json_schema_extra={"format": "uuid"})
    type: str = Field(json_schema_extra=named_enum("EventType", EVENT_TYPES))
    timestamp: str = Field(
        description="When the change was written: RFC 3339, UTC, to the microsecond.",
        json_schema_extra={"format": "date-time"},
    )
    data: dict[str, Any] = Field(
        description="The record as its GET shows it to the reader (fields guarded by a scope the reader lacks are "
        "left out); for `customers.imported`, the run's `business`, `source`, and counts of rows `created`, "
        "`rejected` and `skipped`."
    )
    changes: dict[str, Any] | None = Field(
        None,
        description="Updated events only: `{field: value before}` for each shown field the update changed "
        "(`{}` when only a relation, such as tags, changed).",
    )
