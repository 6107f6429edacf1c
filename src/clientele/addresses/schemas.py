"""The address on the wire."""

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, ValidationInfo, WithJsonSchema

from clientele.delivery_zones.schemas import DeliveryZoneOut
from clientele.web.validation import Body, LongOptionalText, RequiredName, decimal_rule, id_rule
from clientele.web.wire import OptionalTimestamp, RecordId, RecordShape, RecordStub, Shown, Timestamp, record_stub

if TYPE_CHECKING:
    # A customer's schema names its addresses: this import at run time would be a cycle, so
    # clientele.customers.schemas rebuilds AddressOut once CustomerOut exists.
    from clientele.customers.schemas import CustomerOut

REQUIRED_ON_CREATE = ("name", "customer_id")

# The width of the latitude and longitude columns.
MAX_DECIMAL_TEXT = 32


def degrees_rule(limit: int) -> Callable[[Any, ValidationInfo], str | None]:
    """Decimal degrees within ±limit, kept as decimal text that fits the column."""
    return decimal_rule(minimum=Decimal(-limit), maximum=Decimal(limit), max_length=MAX_DECIMAL_TEXT)


def required_reference_rule(value: Any, info: ValidationInfo) -> str | None:
    """A reference that may not be null: absent on update is fine, null never is."""
    if value is None or value == "":
        raise ValueError(f"The {info.field_name} field is required.")
    return id_rule(value, info)


def degrees_schema(limit: int) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "type": ["string", "number", "null"],
            "description": f"Decimal degrees, -{limit} to {limit}; shown as a decimal string.",
        }
    )


Latitude = Annotated[str | None, BeforeValidator(degrees_rule(90)), degrees_schema(90)]
Longitude = Annotated[str | None, BeforeValidator(degrees_rule(180)), degrees_schema(180)]


class AddressInput(Body):
    """A create or update body; on update only the fields sent change."""

    name: RequiredName = None
    description: LongOptionalText = None
    latitude: Latitude = None
    longitude: Longitude = None
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
