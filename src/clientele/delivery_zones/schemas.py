"""The delivery zone on the wire."""

import math
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, ValidationInfo, WithJsonSchema

from clientele.web.validation import Body, OptionalText, RequiredName, text_rule
from clientele.web.wire import OptionalTimestamp, RecordId, RecordShape, Timestamp

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


class DeliveryZoneOut(BaseModel):
    id: RecordId
    name: str
    name_localized: str | None
    reference: str | None
    coordinates: list[list[float]] | None = Field(description="Closed ring of [longitude, latitude] pairs.")
    created_at: Timestamp
    updated_at: Timestamp
    deleted_at: OptionalTimestamp


ZONE_SHAPE = RecordShape(DeliveryZoneOut)


def zone_body(row: Any) -> dict[str, Any]:
    return ZONE_SHAPE.body(row)
