"""The delivery zone on the wire."""

import math
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, ValidationInfo, WithJsonSchema

from clientele.web.validation import Body, OptionalText, RequiredName, text_rule
from clientele.web.wire import Included, OptionalTimestamp, RecordId, RecordShape, Timestamp

REQUIRED_ON_CREATE = ("name",)

MIN_RING_POINTS = 4


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def coordinates_rule(value: Any, info: ValidationInfo) -> list[list[float]] | None:
    """A closed ring of `[longitude, latitude]` pairs (GeoJSON order), or null.

    At least four points, because a closed ring repeats its first point last and a
    polygon needs three distinct corners. Points are kept as floats so that a zone
    reads back the same whichever number form the client sent.
    """
    name = info.field_name
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(point, list) and len(point) == 2 and all(_is_number(part) for part in point) for point in value
    ):
        raise ValueError(f"The {name} field must be a list of [longitude, latitude] number pairs.")
    if len(value) < MIN_RING_POINTS:
        raise ValueError(f"The {name} field must have at least {MIN_RING_POINTS} points.")
    ring = [[float(longitude), float(latitude)] for longitude, latitude in value]
    if any(not -180 <= longitude <= 180 or not -90 <= latitude <= 90 for longitude, latitude in ring):
        raise ValueError(
            f"Each point of the {name} field must have a longitude between -180 and 180 "
            "and a latitude between -90 and 90."
        )
    if ring[0] != ring[-1]:
        raise ValueError(f"The {name} field must be a closed ring: its last point must equal its first.")
    return ring


Coordinates = Annotated[
    list[list[float]] | None,
    BeforeValidator(coordinates_rule),
    WithJsonSchema(
        {
            "type": ["array", "null"],
            "minItems": MIN_RING_POINTS,
            "items": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"}},
            "description": "A closed ring of [longitude, latitude] pairs: at least 4 points, the last equal to the "
            "first; longitude -180..180, latitude -90..90.",
        }
    ),
]


MAX_BRANCH_ID = 64


def branch_references(value: Any, info: ValidationInfo) -> list[str]:
    """`[{"id": …}, …]`, references to the point of sale's branches, as a sorted set of trimmed ids."""
    if value is None:
        return []
    sentence = (
        f'The {info.field_name} field must be a list of objects like {{"id": "…"}}, '
        f"each id a string of 1 to {MAX_BRANCH_ID} characters."
    )
    if not isinstance(value, list):
        raise ValueError(sentence)
    branch_ids = set()
    for item in value:
        branch_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(branch_id, str) or not 1 <= len(branch_id.strip()) <= MAX_BRANCH_ID or "\x00" in branch_id:
            raise ValueError(sentence)
        branch_ids.add(branch_id.strip())
    return sorted(branch_ids)


class DeliveryZoneInput(Body):
    """A create or update body; on update only the fields sent change."""

    name: RequiredName = None
    name_localized: OptionalText = None
    reference: Annotated[
        str | None,
        BeforeValidator(text_rule(nullable=True)),
        WithJsonSchema(
            {
                "type": ["string", "null"],
                "maxLength": 255,
                "description": "Unique among the business's non-deleted delivery zones.",
            }
        ),
    ] = None
    coordinates: Coordinates = None
    branches: Annotated[
        list[str] | None,
        BeforeValidator(branch_references),
        WithJsonSchema(
            {
                "type": ["array", "null"],
                "items": {
                    "type": "object",
                    "properties": {"id": {"type": "string", "minLength": 1, "maxLength": MAX_BRANCH_ID}},
                    "required": ["id"],
                },
                "description": "The point of sale's branches the zone serves; replaces the whole set "
                "(null or [] clears it; an id sent twice is kept once).",
            }
        ),
    ] = None


class DeliveryZoneOut(BaseModel):
    id: RecordId
    name: str
    name_localized: str | None
    reference: str | None
    coordinates: list[list[float]] | None = Field(description="Closed ring of [longitude, latitude] pairs.")
    created_at: Timestamp
    updated_at: Timestamp
    deleted_at: OptionalTimestamp
    branches: Annotated[list[dict[str, str]] | None, Included()] = Field(
        None, description='Present only with include=branches: `[{"id": …}]`, ordered by id.'
    )


ZONE_SHAPE = RecordShape(DeliveryZoneOut)


def zone_body(row: Any) -> dict[str, Any]:
    return ZONE_SHAPE.body(row)
