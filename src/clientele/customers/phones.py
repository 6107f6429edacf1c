"""Phone numbers as tills send them: separators, digits of other scripts, international forms.

One reading serves bodies, imports and `filter[phone]`, so that a number finds and collides with
itself however it was typed (SPEC §4, §8).
"""

import unicodedata

import phonenumbers

SEPARATORS = str.maketrans("", "", " -.()")


def ascii_digits(text: str) -> str:
    """`text` with every decimal digit of any script as its ASCII digit (Arabic-Indic `٥`,
    Eastern Arabic-Indic `۵` and full-width `５` are all `5`); anything else is kept."""
    return "".join(str(digit) if (digit := unicodedata.decimal(char, None)) is not None else char for char in text)


def phone_text(value: str) -> str:
    """The digits and `+` of a typed phone: separators dropped, digits made ASCII."""
    return ascii_digits(value).translate(SEPARATORS).strip()


def international_digits(text: str) -> str | None:
    """The digits after the international prefix (`+` or `00`) of a phone's text, or None where it
    has none."""
    if text.startswith("+"):
        return text[1:]
    if text.startswith("00"):
        return text[2:]
    return None


def split_country_code(digits: str) -> tuple[int, str] | None:
    """An international number's country calling code and the digits after it, or None where no
    assigned code starts it. Codes are prefix-free, so at most one of the first 1 to 3 digits is one."""
    for length in (1, 2, 3):
        if len(digits) >= length and int(digits[:length]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return int(digits[:length]), digits[length:]
    return None


def country_code_of(value: object) -> int | None:
    """The country calling code of a phone typed in international form, else None."""
    if not isinstance(value, str):
        return None
    digits = international_digits(phone_text(value))
    if digits is None or not digits.isdigit():
        return None
    split = split_country_code(digits)
    return None if split is None else split[0]


def national_number(dial_code: int, digits: str) -> str | None:
    """The national significant number for this dial code, or None if it cannot be one.

    966 + 0565445254 and 966 + 565445254 are the same phone: the national trunk prefix is
    dropped by parsing the digits as a number dialled inside the dial code's region.
    """
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(dial_code, ())
    region = regions[0] if regions else None
    try:
        if region and region != phonenumbers.UNKNOWN_REGION and region != "001":
            number = phonenumbers.parse(digits, region)
        else:
            number = phonenumbers.parse(f"+{dial_code}{digits}", None)
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != dial_code or not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.national_significant_number(number)


def phone_search(value: str) -> tuple[int | None, str] | None:
    """What `filter[phone]` looks for: the dial code an international value names (else None) and
    the digits to find in the stored national number, a leading trunk `0` dropped, since stored
    numbers are national significant numbers; None where the value is not a phone's digits."""
    text = phone_text(value)
    international = international_digits(text)
    digits = text if international is None else international
    if not digits.isascii() or not digits.isdigit():
        return None
    dial_code = None
    if international is not None:
        split = split_country_code(digits)
        if split is None:
            return None
        dial_code, digits = split
    if digits.startswith("0") and len(digits) > 1:
        digits = digits[1:]
    return dial_code, digits
