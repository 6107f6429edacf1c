"""A ledger entry on the wire: what a create may send, and what a response holds (SPEC §9)."""

from decimal import Decimal
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, WithJsonSchema

from clientele.customers.schemas import CustomerOut
from clientele.web.validation import Body, decimal_number, exact_money, required_reference_rule, text_rule
from clientele.web.wire import RecordId, RecordStub, Shown, Timestamp, record_stub

REQUIRED_ON_CREATE = ("customer_id", "amount")
# The references to the point of sale's records an entry may carry.
MAX_REFERENCE = 64
MAX_META_BYTES = 16 * 1024


def amount_rule(value: Any, info: ValidationInfo) -> Decimal:
    """A non-zero decimal of at most 3 places, within ±10^9 (exclusive), from a JSON number (read
    exactly: `json_object_with_exact_numbers`) or a decimal string; never through a float."""
    name = info.field_name
    if value is None or value == "":
        raise ValueError(f"The {name} field is required.")
    value = decimal_number(value)
    if value is None:
        raise ValueError(f"The {name} field must be a number.")
    if value == 0:
        raise ValueError(f"The {name} field must not be zero.")
    return exact_money(name, value)


def meta_rule(value: Any, info: ValidationInfo) -> dict[str, Any] | list[Any]:
    """Free JSON from the point of sale: an object or an array of at most 16 KiB as compact JSON; null is `{}`."""
    name = info.field_name
    if value is None:
        return {}
    if not isinstance(value, dict | list):
        raise ValueError(f"The {name} field must be a JSON object or array.")
    try:
        size = len(orjson.dumps(value))
    except orjson.JSONEncodeError:
        # orjson writes at most 255 levels; what it cannot write back could not be shown either.
        raise ValueError(f"The {name} field nests too deeply.") from None
    if size > MAX_META_BYTES:
        raise ValueError(f"The {name} field must not be larger than {MAX_META_BYTES} bytes as JSON.")
    return value


AMOUNT_DOCS = (
    "Exact to the thousandth (at most 3 decimal places), not zero, above -1000000000 and below 1000000000; "
    "a JSON number or a decimal string, read exactly (never as a binary float)."
)
PointOfSaleReference = Annotated[
    str | None,
    BeforeValidator(text_rule(nullable=True, max_length=MAX_REFERENCE)),
    WithJsonSchema(
        {
            "type": ["string", "null"],
            "maxLength": MAX_REFERENCE,
            "description": "A reference to the point of sale's record (1 to 64 characters once trimmed), or null.",
        }
    ),
]


class LedgerEntryInput(Body):
    """A create body: what every entry holds, which is all a loyalty entry holds."""

    customer_id: Annotated[
        str | None,
        BeforeValidator(required_reference_rule),
        WithJsonSchema({"type": "string", "format": "uuid", "description": "A non-deleted customer of the business."}),
    ] = None
    amount: Annotated[
        Decimal | None,
        BeforeValidator(amount_rule),
        WithJsonSchema(
            {
                "anyOf": [
                    {
                        "type": "number",
                        "multipleOf": 0.001,
                        "exclusiveMinimum": -(10**9),
                        "exclusiveMaximum": 10**9,
                    },
                    {"type": "string", "pattern": r"^-?[0-9]{1,9}(\.[0-9]{1,3})?$"},
                ],
                "description": AMOUNT_DOCS,
            }
        ),
    ] = None
    order_id: PointOfSaleReference = None
    meta: Annotated[
        dict[str, Any] | list[Any],
        BeforeValidator(meta_rule),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "object", "additionalProperties": True},
                    {"type": "array", "items": {}},
                    {"type": "null"},
                ],
                "description": "Free JSON (at most 16 KiB); `{}` when absent or null.",
            }
        ),
    ] = Field(default_factory=dict)


class HouseAccountTransactionInput(LedgerEntryInput):
    user_id: PointOfSaleReference = None
    payment_method_id: PointOfSaleReference = None


Money = Annotated[
    float,
    Shown(float),
    Field(description="Exact to the thousandth; a JSON number."),
]


class LedgerEntryOut(BaseModel):
    """What every entry shows, which is all a loyalty transaction shows."""

    id: RecordId
    amount: Money
    balance_after: Money = Field(description="The customer's balance once this entry applied.")
    customer: Annotated[CustomerOut | RecordStub, Shown(record_stub, column="customer_id")] = Field(
        description='`{"id": …}`; the whole customer (as the token may see it) with include=customer.'
    )
    order_id: str | None = Field(description="A reference to the point of sale's order.")
    meta: dict[str, Any] | list[Any] = Field(description="Free JSON, as sent.")
    created_at: Timestamp
    updated_at: Timestamp = Field(description="UTC, YYYY-MM-DD HH:MM:SS; entries never change, so `created_at`.")


def example_entry(**fields: Any) -> dict[str, Any]:
    """A response's example entry: a charge of 120.5 on an order, or these fields instead."""
    return {
        "id": "01939a70-4c1d-7e2f-9a3b-4c5d6e7f8091",
        "amount": -120.5,
        "balance_after": -220.5,
        "customer": {"id": "01939a6e-1f2b-7c3d-8e4f-5a6b7c8d9e0f"},
        "order_id": "order-8841",
        "meta": {},
        "created_at": "2026-12-07 13:40:05",
        "updated_at": "2026-12-07 13:40:05",
        **fields,
    }


class HouseAccountTransactionOut(LedgerEntryOut):
    model_config = ConfigDict(json_schema_extra={"examples": [example_entry(user_id="7", payment_method_id=None)]})

    user_id: str | None = Field(description="A reference to the point of sale's user who recorded it.")
    payment_method_id: str | None = Field(description="A reference to the point of sale's payment method.")


class LoyaltyTransactionOut(LedgerEntryOut):
    model_config = ConfigDict(json_schema_extra={"examples": [example_entry(amount=12, balance_after=40)]})
