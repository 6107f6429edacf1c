"""Body parsing and the field rules every domain shares, with Laravel-style sentences; bodies are
read here, not by FastAPI, so that SPEC §3's error order holds."""

import json
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import orjson
from email_validator import EmailNotValidError, validate_email
from fastapi import Depends, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, ValidationInfo, WithJsonSchema

from clientele.errors import BadRequest, FieldErrors, PayloadTooLarge, Unprocessable

MAX_INT32 = 2_147_483_647
ModelT = TypeVar("ModelT", bound=BaseModel)


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object: 413 over the size limit, 400 if not an object."""
    limit: int = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body must not be larger than {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"The request body must not be larger than {limit} bytes.")
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("The request body is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise BadRequest("The request body must be a JSON object.")
    # The stream is consumed; what else needs the bytes as sent (idempotency) finds them here.
    request.state.body = bytes(body)
    return parsed


async def json_object_with_exact_numbers(
    request: Request, body: Annotated[dict[str, Any], Depends(json_object)]
) -> dict[str, Any]:
    """The body as `json_object` reads it, its numbers read exactly (`with_exact_numbers`)."""
    return with_exact_numbers(body, request.state.body)


def with_exact_numbers(body: dict[str, Any], sent: bytes) -> dict[str, Any]:
    """`body` (orjson's reading of `sent`) with each top-level member that orjson read as a float (a
    number with a fraction or an exponent, or an integer beyond 64 bits) read again from its text as
    a Decimal: money must never pass through a float, where `0.1` is not 0.1 and digits beyond the
    17th are lost unseen.

    orjson has no decimal mode, so such a body is parsed a second time, by `json`; only the members
    that need it are taken from that reading. `json` reads less nesting than orjson (Python's
    recursion limit, about 900 levels against 1024), hence the 400 for a body between the two.
    """
    inexact = [name for name, value in body.items() if isinstance(value, float)]
    if not inexact:
        return body
    try:
        exact = json.loads(sent, parse_float=Decimal, parse_int=Decimal)
    except RecursionError:
        raise BadRequest("The request body nests too deeply to read its numbers exactly.") from None
    return body | {name: exact[name] for name in inexact}


def field_errors(error: ValidationError) -> FieldErrors:
    """Pydantic's errors as `{"field": ["sentence"]}`; our validators supply the sentences."""
    errors: FieldErrors = {}
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "body"
        sentence = str(item["ctx"]["error"]) if item["type"] == "value_error" else f"The {field} field is invalid."
        errors.setdefault(field, []).append(sentence)
    return errors


def validate_body(
    model: type[ModelT], body: dict[str, Any], *, required: tuple[str, ...] = (), context: dict[str, Any] | None = None
) -> ModelT:
    """Validate a body against `model`: 422 naming every bad field and every missing required one.

    `context` reaches the field rules (`ValidationInfo.context`): stored values a rule needs.
    """
    if issubclass(model, Body):
        body = model.implied_fields(body)
    errors: FieldErrors = {name: [f"The {name} field is required."] for name in required if name not in body}
    try:
        parsed = model.model_validate(body, context=context)
    except ValidationError as error:
        errors |= field_errors(error)
    if errors:
        order = list(model.model_fields)
        raise Unprocessable(
            dict(sorted(errors.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order)))
        )
    return parsed


class Body(BaseModel):
    """A request body: unknown and read-only fields are ignored, as the seed's samples need."""

    model_config = ConfigDict(extra="ignore")

    @classmethod
    def implied_fields(cls, body: dict[str, Any]) -> dict[str, Any]:
        """The body with the fields its other fields imply where it does not send them; a model
        whose fields say more than themselves says how."""
        return body


# --- field rules --------------------------------------------------------------------------
# Each rule is a BeforeValidator: it receives the raw JSON value, so that it, not Pydantic's
# coercion, decides what is accepted, and it raises ValueError with the sentence to show.


def _reject_nul(name: str | None, value: str) -> str:
    # PostgreSQL text cannot hold NUL; refusing it here keeps both engines alike.
    if "\x00" in value:
        raise ValueError(f"The {name} field must not contain NUL characters.")
    return value


def text_rule(*, nullable: bool, max_length: int = 255) -> Callable[[Any, ValidationInfo], str | None]:
    def check(value: Any, info: ValidationInfo) -> str | None:
        name = info.field_name
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            if nullable:
                return None
            raise ValueError(f"The {name} field is required.")
        if not isinstance(value, str):
            raise ValueError(f"The {name} field must be a string.")
        if len(value) > max_length:
            raise ValueError(f"The {name} field must not be greater than {max_length} characters.")
        return _reject_nul(name, value)

    return check


def integer_rule(
    *, nullable: bool, minimum: int | None = None, maximum: int = MAX_INT32, allowed: tuple[int, ...] = ()
) -> Callable[[Any, ValidationInfo], int | None]:
    def check(value: Any, info: ValidationInfo) -> int | None:
        name = info.field_name
        if value is None or value == "":
            if nullable:
                return None
            raise ValueError(f"The {name} field is required.")
        number = as_integer(value)
        if number is None:
            raise ValueError(f"The {name} field must be an integer.")
        if allowed and number not in allowed:
            raise ValueError(f"The selected {name} is invalid.")
        if minimum is not None and number < minimum:
            raise ValueError(f"The {name} field must be at least {minimum}.")
        if number > maximum:
            raise ValueError(f"The {name} field must not be greater than {maximum}.")
        return number

    return check


def as_integer(value: Any) -> int | None:
    """An integer from a JSON integer, an integral number, or a string of ASCII digits (as Laravel allows)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,12}", value.strip()):
        return int(value.strip())
    return None


def boolean_rule(value: Any, info: ValidationInfo) -> bool:
    """`true`/`false` or `1`/`0`; strings are refused."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"The {info.field_name} field must be true or false.")


def email_rule(value: Any, info: ValidationInfo) -> str | None:
    checked = text_rule(nullable=True)(value, info)
    if checked is None:
        return None
    try:
        return validate_email(checked, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValueError(f"The {info.field_name} field must be a valid email address.") from None


def date_rule(*, earliest: date, latest: Callable[[], date]) -> Callable[[Any, ValidationInfo], date | None]:
    def check(value: Any, info: ValidationInfo) -> date | None:
        name = info.field_name
        if value is None or value == "":
            return None
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            raise ValueError(f"The {name} field must be a valid date in the format YYYY-MM-DD.")
        try:
            parsed = date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"The {name} field must be a valid date in the format YYYY-MM-DD.") from None
        if parsed < earliest:
            raise ValueError(f"The {name} field must be a date after or equal to {earliest.isoformat()}.")
        if parsed > latest():
            raise ValueError(f"The {name} field must be a date before or equal to today.")
        return parsed

    return check


# A decimal number as people and programs write it: no `_` groups, no `NaN`, no other scripts' digits.
DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def decimal_number(value: Any) -> Decimal | None:
    """A number as it was sent, as a Decimal; None where `value` is not one.

    An integer, a Decimal (`json_object_with_exact_numbers`' reading of a JSON number), or the text
    of a decimal number, spaces around it ignored. A float (a JSON number read by orjson) is taken by
    its shortest text, which is what was sent for any number of up to 15 digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int | float):
        value = repr(value)
    if isinstance(value, str) and DECIMAL_TEXT.fullmatch(value.strip()):
        return Decimal(value.strip())
    return None


# Money is kept to the thousandth (the balances' Numeric(14, 3)), each amount below 10^9 either way.
THOUSANDTH = Decimal("0.001")
MONEY_BOUND = Decimal(10**9)


def exact_money(name: str | None, number: Decimal, *, minimum: Decimal | None = None) -> Decimal:
    """`number` as money: within ±10^9 (exclusive), at least `minimum`, and exact to the thousandth
    (trailing zeros are no precision: `1.5000` is 1.5); else a ValueError naming the field."""
    if not -MONEY_BOUND < number < MONEY_BOUND:
        raise ValueError(f"The {name} field must be greater than -{MONEY_BOUND} and less than {MONEY_BOUND}.")
    if minimum is not None and number < minimum:
        raise ValueError(f"The {name} field must be at least {minimum}.")
    exact = number.quantize(THOUSANDTH)
    if exact != number:
        raise ValueError(f"The {name} field must have at most 3 decimal places.")
    return exact


def decimal_rule(
    *, minimum: Decimal, maximum: Decimal, max_length: int = 32
) -> Callable[[Any, ValidationInfo], str | None]:
    """A decimal number (sent as a string or a number) within a range, kept as its decimal text."""

    def check(value: Any, info: ValidationInfo) -> str | None:
        name = info.field_name
        if value is None or value == "":
            return None
        number = decimal_number(value)
        if number is None:
            raise ValueError(f"The {name} field must be a decimal number.")
        if not minimum <= number <= maximum:
            raise ValueError(f"The {name} field must be a decimal number between {minimum} and {maximum}.")
        too_long = f"The {name} field must not be greater than {max_length} characters."
        # Checked before writing the number out: "1e-999999999" is in range, and in full
        # it would be a billion characters.
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > max_length:
            raise ValueError(too_long)
        text = format(number, "f")
        if len(text) > max_length:
            raise ValueError(too_long)
        return text

    return check


def id_rule(value: Any, info: ValidationInfo) -> str | None:
    """A reference to another record by id; existence is checked by the service."""
    if value is None or value == "":
        return None
    if not isinstance(value, str | int):
        raise ValueError(f"The selected {info.field_name} is invalid.")
    return str(value)


def required_reference_rule(value: Any, info: ValidationInfo) -> str | None:
    """A reference that may not be null: absent on update is fine, null never is."""
    if value is None or value == "":
        raise ValueError(f"The {info.field_name} field is required.")
    return id_rule(value, info)


# Annotated field types, documented in /openapi.json by the schema each would accept.
RequiredName = Annotated[
    str | None,
    BeforeValidator(text_rule(nullable=False)),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 255}),
]
OptionalText = Annotated[
    str | None,
    BeforeValidator(text_rule(nullable=True)),
    WithJsonSchema({"type": ["string", "null"], "maxLength": 255}),
]
LongOptionalText = Annotated[
    str | None,
    BeforeValidator(text_rule(nullable=True, max_length=65_535)),
    WithJsonSchema({"type": ["string", "null"], "maxLength": 65535}),
]
Flag = Annotated[
    bool | None,
    BeforeValidator(boolean_rule),
    WithJsonSchema({"type": "boolean", "description": "`true`/`false`, or `1`/`0`."}),
]
Reference = Annotated[
    str | None,
    BeforeValidator(id_rule),
    WithJsonSchema({"type": ["string", "null"], "format": "uuid"}),
]


def request_body_docs(model: type[BaseModel], *, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The `requestBody` of a route for /openapi.json, with the fields it requires (a create's; the
    model's are all optional, as an update sends only what changes): bodies are parsed by hand,
    not by FastAPI.

    The schema has no title, so that generated clients name it after its operation (`CreateCustomerBody`,
    `UpdateCustomerBody`) rather than after the model a create and an update share.
    """
    schema = model.model_json_schema() | ({"required": list(required)} if required else {})
    del schema["title"]
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
