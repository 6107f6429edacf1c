"""The customer on the wire: what a request may send, and what a response holds."""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

import phonenumbers
from pydantic import BaseModel, BeforeValidator, Field, ValidationInfo, WithJsonSchema

from clientele.addresses.schemas import AddressOut
from clientele.auth import scopes as scope
from clientele.customers.phones import (
    ascii_digits,
    country_code_of,
    international_digits,
    national_number,
    phone_text,
    split_country_code,
)
from clientele.tags.schemas import TagOut
from clientele.web.validation import (
    Body,
    Flag,
    RequiredName,
    boolean_rule,
    date_rule,
    decimal_number,
    email_rule,
    exact_money,
    integer_rule,
    text_rule,
)
from clientele.web.wire import (
    Included,
    OptionalDate,
    OptionalTimestamp,
    ReadScope,
    RecordId,
    RecordShape,
    Shown,
    Timestamp,
)

EARLIEST_BIRTH_DATE = date(1900, 1, 1)
REQUIRED_ON_CREATE = ("name", "dial_code", "phone")
TIMESTAMP_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
# A balance is exact to the thousandth, below a billion either way (SPEC §9's amounts).
# x-enum-varnames names each value, so that generated clients get `Gender.MALE`, not `VALUE_1`.
GENDER = {
    "title": "Gender",
    "type": "integer",
    "enum": [1, 2],
    "x-enum-varnames": ["MALE", "FEMALE"],
    "description": "1 male, 2 female.",
}
OPTIONAL_GENDER = WithJsonSchema({"anyOf": [GENDER, {"type": "null"}]})


def dial_code_rule(value: Any, info: ValidationInfo) -> int | None:
    number = integer_rule(nullable=False)(ascii_digits(value) if isinstance(value, str) else value, info)
    if number not in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        raise ValueError("The dial_code field must be an assigned country calling code.")
    return number


def phone_rule(value: Any, info: ValidationInfo) -> str:
    """Separators stripped, digits only (of any script), then the national significant number for
    the dial code; an international number's country code must be that dial code.

    The dial code is the one in the same body (which an international phone fills where it is
    absent: `CustomerInput.implied_fields`), else the stored one the service passes as
    context on an update. Without either (it is invalid, and says so itself) the digits are kept
    as they are: the body is refused anyway.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        # Its "-" would otherwise be stripped below as a separator.
        if value < 0:
            raise ValueError("The phone field must contain digits only.")
        value = str(value)
    if value is None:
        raise ValueError("The phone field is required.")
    if not isinstance(value, str):
        raise ValueError("The phone field must be a string.")
    text = phone_text(value)
    international = international_digits(text)
    digits = text if international is None else international
    if digits == "":
        raise ValueError("The phone field is required.")
    if not digits.isascii() or not digits.isdigit():
        raise ValueError("The phone field must contain digits only.")
    if len(digits) > 20:
        raise ValueError("The phone field must not be greater than 20 digits.")
    dial_code = info.data.get("dial_code")
    if dial_code is None:
        dial_code = (info.context or {}).get("dial_code")
    if international is not None:
        split = split_country_code(digits)
        if split is None:
            raise ValueError("The phone field must start with a country calling code after + or 00.")
        country_code, digits = split
        if dial_code is not None and country_code != dial_code:
            raise ValueError(f"The phone field's country code {country_code} must match the dial_code {dial_code}.")
    if dial_code is None:
        return digits
    phone = national_number(dial_code, digits)
    if phone is None:
        raise ValueError(f"The phone field must be a valid phone number for dial code {dial_code}.")
    return phone


def utc_today() -> date:
    """Today as every stored timestamp counts it: in UTC, whatever the server's time zone."""
    return datetime.now(UTC).date()


class CustomerInput(Body):
    """A create or update body. On update only the fields sent change."""

    @classmethod
    def implied_fields(cls, body: dict[str, Any]) -> dict[str, Any]:
        """A phone in international form says its dial code: it fills an absent `dial_code` (SPEC §8)."""
        if "dial_code" not in body:
            country_code = country_code_of(body.get("phone"))
            if country_code is not None:
                return {**body, "dial_code": country_code}
        return body

    name: RequiredName = None
    dial_code: Annotated[
        int | None,
        BeforeValidator(dial_code_rule),
        WithJsonSchema({"type": "integer", "description": "Country calling code, e.g. 966."}),
    ] = None
    phone: Annotated[
        str | None,
        BeforeValidator(phone_rule),
        WithJsonSchema(
            {
                "type": "string",
                "description": "Digits, a possible number for dial_code; separators ( -.()) and a "
                "national trunk prefix are dropped. In international form (+966…, 00966…) its country "
                "code must be dial_code, and fills dial_code when that is not sent.",
            }
        ),
    ] = None
    email: Annotated[
        str | None,
        BeforeValidator(email_rule),
        WithJsonSchema({"type": ["string", "null"], "format": "email", "maxLength": 255}),
    ] = None
    gender: Annotated[
        int | None,
        BeforeValidator(integer_rule(nullable=True, allowed=(1, 2))),
        OPTIONAL_GENDER,
    ] = None
    birth_date: Annotated[
        date | None,
        BeforeValidator(date_rule(earliest=EARLIEST_BIRTH_DATE, latest=utc_today)),
        WithJsonSchema({"type": ["string", "null"], "format": "date"}),
    ] = None
    house_account_limit: Annotated[
        int | None,
        BeforeValidator(integer_rule(nullable=True, minimum=0)),
        WithJsonSchema(
            {"type": ["integer", "null"], "minimum": 0, "description": "Changing it needs customers.accounts.write."}
        ),
    ] = None
    is_loyalty_enabled: Annotated[
        bool | None,
        BeforeValidator(boolean_rule),
        WithJsonSchema({"type": "boolean", "description": "Changing it needs customers.loyalty.write."}),
    ] = None
    is_blacklisted: Flag = None
    is_house_account_enabled: Annotated[
        bool | None,
        BeforeValidator(boolean_rule),
        WithJsonSchema({"type": "boolean", "description": "Changing it needs customers.accounts.write."}),
    ] = None
    notes: Annotated[
        str | None,
        BeforeValidator(text_rule(nullable=True, max_length=10_000)),
        WithJsonSchema({"type": ["string", "null"], "maxLength": 10_000}),
    ] = None
    tags: Annotated[
        list[dict[str, Any]] | None,
        BeforeValidator(lambda value, info: tag_references(value)),
        WithJsonSchema(
            {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"id": {"type": "string", "format": "uuid"}},
                    "required": ["id"],
                },
                "description": "Replaces the customer's whole tag set.",
            }
        ),
    ] = None


def tag_references(value: Any) -> list[dict[str, Any]]:
    """`[{"id": …}, …]`; whether each tag exists is the service's question."""
    if value is None:
        value = []
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and isinstance(item.get("id"), str) for item in value
    ):
        raise ValueError('The tags field must be a list of objects like {"id": "…"}.')
    return value


def timestamp_rule(value: Any, info: ValidationInfo) -> datetime | None:
    """A UTC timestamp in the wire format, `YYYY-MM-DD HH:MM:SS`, or null."""
    if value is None or value == "":
        return None
    message = f"The {info.field_name} field must be a valid time in the format YYYY-MM-DD HH:MM:SS (UTC)."
    if not isinstance(value, str) or not TIMESTAMP_PATTERN.fullmatch(value.strip()):
        raise ValueError(message)
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(message) from None


def balance_rule(*, minimum: Decimal | None) -> Callable[[Any, ValidationInfo], Decimal]:
    """An imported balance: a number (or its text) exact to the thousandth, |value| < 10^9 and at
    least `minimum`; none given is 0. Read as a Decimal from its text, so nothing is rounded."""

    def check(value: Any, info: ValidationInfo) -> Decimal:
        name = info.field_name
        if value is None or (isinstance(value, str) and not value.strip()):
            return Decimal(0)
        number = decimal_number(value)
        if number is None:
            raise ValueError(f"The {name} field must be a number.")
        exact = exact_money(name, number, minimum=minimum)
        # -0 is 0: no opening entry, and a balance that shows as 0.
        return exact if exact else Decimal(0)

    return check


class CustomerImport(CustomerInput):
    """A row of `clientele import`: a create body, plus the order history and the balances that only
    import may set (the balances as opening ledger entries: docs/decisions.md, "Bulk import and export").

    Every field the API accepts is checked by the API's own rule, inherited from CustomerInput.
    """

    order_count: Annotated[int | None, BeforeValidator(integer_rule(nullable=True, minimum=0))] = None
    last_order_at: Annotated[datetime | None, BeforeValidator(timestamp_rule)] = None
    # A house balance may be negative (a debt); points cannot be below 0.
    house_account_balance: Annotated[Decimal, BeforeValidator(balance_rule(minimum=None))] = Decimal(0)
    loyalty_balance: Annotated[Decimal, BeforeValidator(balance_rule(minimum=Decimal(0)))] = Decimal(0)


class CustomerOut(BaseModel):
    """A customer as every response shows it."""

    id: RecordId
    name: str
    dial_code: int
    phone: str
    email: str | None
    gender: Annotated[int | None, OPTIONAL_GENDER]
    birth_date: OptionalDate
    house_account_limit: Annotated[int | None, ReadScope(scope.ACCOUNTS_READ)] = Field(
        None, description="Present only with customers.accounts.read."
    )
    house_account_balance: Annotated[float, Shown(float), ReadScope(scope.ACCOUNTS_READ)] = Field(
        0, description="Present only with customers.accounts.read."
    )
    loyalty_balance: Annotated[float, Shown(float), ReadScope(scope.LOYALTY_READ)] = Field(
        0, description="Present only with customers.loyalty.read."
    )
    is_loyalty_enabled: bool
    is_blacklisted: bool
    is_house_account_enabled: bool
    last_order_at: OptionalTimestamp
    order_count: int
    notes: str | None
    created_at: Timestamp
    updated_at: Timestamp
    deleted_at: OptionalTimestamp
    tags: Annotated[list[TagOut], Included()] = Field(
        default_factory=list, description="Present only with include=tags."
    )
    addresses: Annotated[list[AddressOut], Included()] = Field(
        default_factory=list, description="Present only with include=addresses."
    )


# An address shows its customer, and a customer its addresses: one of the two names the other before it exists.
AddressOut.model_rebuild()


CUSTOMER_SHAPE = RecordShape(CustomerOut)


def customer_body(row: Any, scopes: frozenset[str]) -> dict[str, Any]:
    """A customer as a token with these scopes sees it, without relations."""
    return CUSTOMER_SHAPE.body(row, scopes)
