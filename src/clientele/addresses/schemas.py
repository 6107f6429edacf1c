"""The address on the wire."""

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, ValidationInfo, WithJsonSchema

from clientele.delivery_zones.schemas import DeliveryZoneOut
from clientele.web.validation import (
    Body,
    LongOptionalText,
    RequiredName,
    decimal_rule,
    id_rule,
    required_reference_rule,
    text_rule,
)
from clientele.web.wire import OptionalTimestamp, RecordId, RecordShape, RecordStub, Shown, Timestamp, record_stub

if TYPE_CHECKING:
    # A customer's schema names its addresses: this import at run time would be a cycle, so
    # clientele.customers.schemas rebuilds AddressOut once CustomerOut exists.
    from clientele.customers.schemas import CustomerOut

REQUIRED_ON_CREATE = ("name", "customer_id")

# The width of the latitude and longitude columns.
MAX_DECIMAL_TEXT = 32
MAX_CITY_ID = 64
MAX_DETAILS = 20
MAX_DETAIL = 255


def degrees_rule(limit: int) -> Callable[[Any, ValidationInfo], str | None]:
    """Decimal degrees within ±limit, kept as decimal text that fits the column."""
    return decimal_rule(minimum=Decimal(-limit), maximum=Decimal(limit), max_length=MAX_DECIMAL_TEXT)


def degrees_schema(limit: int) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "type": ["string", "number", "null"],
            "description": f"Decimal degrees, -{limit} to {limit}; shown as a decimal string.",
        }
    )


def details_rule(value: Any, info: ValidationInfo) -> list[str]:
    """Up to 20 lines of text (trimmed, none empty), kept in the order sent; null is none."""
    if value is None:
        return []
    name = info.field_name
    sentence = f"The {name} field must be a list of at most {MAX_DETAILS} texts of 1 to {MAX_DETAIL} characters each."
    if not isinstance(value, list) or len(value) > MAX_DETAILS:
        raise ValueError(sentence)
    lines = [line.strip() if isinstance(line, str) else line for line in value]
    if not all(isinstance(line, str) and 1 <= len(line) <= MAX_DETAIL and "\x00" not in line for line in lines):
        raise ValueError(sentence)
    return lines


Latitude = Annotated[str | None, BeforeValidator(degrees_rule(90)), degrees_schema(90)]
Longitude = Annotated[str | None, BeforeValidator(degrees_rule(180)), degrees_schema(180)]


class AddressInput(Body):
    """A create or update body; on update only the fields sent change."""

    name: RequiredName = None
    description: LongOptionalText = None
    latitude: Latitude = None
    longitude: Longitude = None
    city_id: Annotated[
        str | None,
        BeforeValidator(text_rule(nullable=True, max_length=MAX_CITY_ID)),
        WithJsonSchema(
            {
                "type": ["string", "null"],
                "maxLength": MAX_CITY_ID,
                "description": "A reference to the point of sale's city (1 to 64 characters once trimmed), or null.",
            }
        ),
    ] = None
    details: Annotated[
        list[str] | None,
        BeforeValidator(details_rule),
        WithJsonSchema(
            {
                "type": ["array", "null"],
                "maxItems": MAX_DETAILS,
                "items": {"type": "string", "minLength": 1, "maxLength": MAX_DETAIL},
                "description": "Free lines of the address (building, floor, landmark…), replaced as a whole; "
                "null or [] is none.",
            }
        ),
    ] = None
    customer_id: Annotated[
        str | None,
        BeforeValidator(required_reference_rule),
        WithJsonSchema(
            {
                "type": "string",
                "format": "uuid",
                "description": "A non-deleted customer of the business; required on create.",
            }
        ),
    ] = None
    delivery_zone_id: Annotated[
        str | None,
        BeforeValidator(id_rule),
        WithJsonSchema(
            {
                "type": ["string", "null"],
                "format": "uuid",
                "description": "A non-deleted delivery zone of the business, or null for none.",
            }
        ),
    ] = None


class AddressOut(BaseModel):
    id: RecordId
    name: str
    description: str | None
    latitude: str | None = Field(description="Decimal degrees as a string.")
    longitude: str | None = Field(description="Decimal degrees as a string.")
    city_id: str | None = Field(description="A reference to the point of sale's city.")
    details: list[str] = Field(description="Free lines of the address, in the order sent.")
    customer: Annotated["CustomerOut | RecordStub", Shown(record_stub, column="customer_id")] = Field(
        description='`{"id": …}`; the whole customer with include=customer.'
    )
    delivery_zone: Annotated[DeliveryZoneOut | RecordStub | None, Shown(record_stub, column="delivery_zone_id")] = (
        Field(
            description='`{"id": …}` or null; the whole zone with include=delivery_zone (null if the zone is deleted).'
        )
    )
    created_at: Timestamp
    updated_at: Timestamp
    deleted_at: OptionalTimestamp


ADDRESS_SHAPE = RecordShape(AddressOut)


def address_body(row: Any) -> dict[str, Any]:
    """An address with `customer` and `delivery_zone` as `{"id": …}` stubs (includes replace them)."""
    return ADDRESS_SHAPE.body(row)
