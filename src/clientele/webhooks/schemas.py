"""Webhook endpoints and their delivery log on the wire (SPEC §10)."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, ValidationInfo, WithJsonSchema

from clientele.db.ids import parse_uuid
from clientele.events.service import EVENT_TYPES, matching_types
from clientele.listing.filters import UPDATED_AFTER_VALUE
from clientele.web.validation import Body, Flag, OptionalText
from clientele.web.wire import RecordId, Shown, Timestamp, format_timestamp
from clientele.webhooks import destinations

REQUIRED_ON_CREATE = ("url",)
MAX_EVENT_TYPES = 50
MAX_REPLAYED_IDS = 1000


def url_rule(value: Any, info: ValidationInfo) -> str | None:
    """An https URL (http too where private networks are allowed); where it points is checked by the service."""
    name = info.field_name
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(f"The {name} field is required.")
    if not isinstance(value, str):
        raise ValueError(f"The {name} field must be a string.")
    allow_private = bool((info.context or {}).get("allow_private"))
    try:
        return destinations.check_url(value.strip(), allow_private=allow_private)
    except destinations.Refused as refused:
        raise ValueError(str(refused)) from None


def names_events(item: str) -> bool:
    """Whether one item of `event_types` is `*`, a family (`customer.*`) or a type."""
    try:
        return "," not in item and bool(matching_types(item))
    except ValueError:
        return False


def event_types_rule(value: Any, info: ValidationInfo) -> list[str] | None:
    """A non-empty list of `*`, families (`customer.*`) and types, each kept once in the order sent."""
    name = info.field_name
    if value is None:
        raise ValueError(f"The {name} field is required.")
    if not isinstance(value, list) or not value:
        raise ValueError(f"The {name} field must be a list of at least one event type.")
    if len(value) > MAX_EVENT_TYPES:
        raise ValueError(f"The {name} field must not have more than {MAX_EVENT_TYPES} items.")
    for item in value:
        if not isinstance(item, str) or not names_events(item):
            raise ValueError(
                f"The {name} field may hold only *, a family such as customer.*, or an event type; "
                f"{item!r} is none of them."
            )
    return list(dict.fromkeys(value))


EVENT_TYPE_DOCS = {
    "type": "array",
    "minItems": 1,
    "maxItems": MAX_EVENT_TYPES,
    "items": {
        "type": "string",
        "description": "`*` (every event), a family (`customer.*`) or one type.",
        "examples": ["*", "customer.*", *EVENT_TYPES],
    },
}


class EndpointInput(Body):
    """A create or update body; on update only the fields sent change."""

    url: Annotated[
        str | None,
        BeforeValidator(url_rule),
        WithJsonSchema({"type": "string", "format": "uri", "maxLength": destinations.MAX_URL_LENGTH}),
    ] = Field(None, description="An `https://` URL whose host resolves only to public addresses.")
    event_types: Annotated[list[str] | None, BeforeValidator(event_types_rule), WithJsonSchema(EVENT_TYPE_DOCS)] = (
        Field(None, description='The events to send; `["*"]` (every event) when absent on create.')
    )
    description: OptionalText = None
    enabled: Flag = Field(
        None, description="`false` stops deliveries; `true` starts them again (and clears `disabled_reason`)."
    )


class EndpointOut(BaseModel):
    id: RecordId
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None = Field(
        description="Why Clientele disabled the endpoint (the receiver answered 410, or every delivery "
        "failed for 5 days); null while enabled, or when a client disabled it."
    )
    scopes: list[str] = Field(
        description="The read scopes of the token that created the endpoint: its payloads show what they show."
    )
    created_at: Timestamp
    updated_at: Timestamp


class EndpointWithSecret(EndpointOut):
    secret: str = Field(
        description="`whsec_` and the base64 of the signing key: shown only in this answer. "
        "Verify each delivery with it (Standard Webhooks)."
    )


class AttemptOut(BaseModel):
    id: RecordId
    event_id: RecordId
    created_at: Timestamp = Field(description="When the attempt was made (UTC, YYYY-MM-DD HH:MM:SS).")
    status_code: int | None = Field(description="The receiver's HTTP status; null where none came (see `error`).")
    error: str | None = Field(description="Why no answer came, or why it was refused; null on an answer.")
    duration_ms: int
    result: str = Field(
        description="`succeeded`; `retrying` (`next_retry_at` says when); or `failed`: no more retries "
        "(replay the event to send it again)."
    )
    next_retry_at: Annotated[
        str | None,
        Shown(format_timestamp, column="next_attempt_at"),
        Field(description="When the next attempt is due (UTC, YYYY-MM-DD HH:MM:SS); null when none will be."),
    ]


def since_rule(value: Any, info: ValidationInfo) -> datetime | None:
    name = info.field_name
    if value is None:
        return None
    if isinstance(value, str):
        for layout in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
            try:
                return datetime.strptime(value.strip(), layout)
            except ValueError:
                continue
    raise ValueError(f"The {name} field must be a date YYYY-MM-DD or a UTC time YYYY-MM-DD HH:MM:SS.")


def event_ids_rule(value: Any, info: ValidationInfo) -> list[str] | None:
    name = info.field_name
    if value is None:
        return None
    if not isinstance(value, list) or not value or len(value) > MAX_REPLAYED_IDS:
        raise ValueError(f"The {name} field must be a list of 1 to {MAX_REPLAYED_IDS} event ids.")
    if not all(isinstance(item, str) and parse_uuid(item) is not None for item in value):
        raise ValueError(f"The {name} field must hold event ids.")
    return list(dict.fromkeys(value))


class ReplayInput(Body):
    """Exactly one of the two."""

    since: Annotated[datetime | None, BeforeValidator(since_rule), WithJsonSchema(UPDATED_AFTER_VALUE)] = Field(
        None, description="Send again every event of the endpoint's types created at or after this UTC time."
    )
    event_ids: Annotated[
        list[str] | None,
        BeforeValidator(event_ids_rule),
        WithJsonSchema(
            {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_REPLAYED_IDS,
                "items": {"type": "string", "format": "uuid"},
            }
        ),
    ] = Field(None, description="Send again these events (of any type), in the order they were made.")


class ReplayOut(BaseModel):
    queued: int = Field(description="The deliveries made: each is sent as a new delivery would be.")
