"""The IIN (individual identification number) validator, the one used everywhere (DOMAIN.md, People and security).

12 digits; weights 1..11, sum mod 11; if that is 10, weights 3,4,5,6,7,8,9,10,11,1,2; if 10 again the IIN is
invalid; else the result must equal the 12th digit. The first six digits are not checked against the birth date.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

FIRST_WEIGHTS = tuple(range(1, 12))
SECOND_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)


def iin_check_digit(first_eleven: str) -> int | None:
    """The control digit for 11 digits, or None when no digit can make a valid IIN."""
    digits = [int(ch) for ch in first_eleven]
    check = sum(w * d for w, d in zip(FIRST_WEIGHTS, digits, strict=True)) % 11
    if check == 10:
        check = sum(w * d for w, d in zip(SECOND_WEIGHTS, digits, strict=True)) % 11
        if check == 10:
            return None
    return check


def is_valid_iin(value: str) -> bool:
    if not isinstance(value, str) or len(value) != 12 or not value.isascii() or not value.isdigit():
        return False
    check = iin_check_digit(value[:11])
    return check is not None and check == int(value[11])


def validate_iin(value: str) -> None:
    if not isinstance(value, str) or len(value) != 12 or not value.isascii() or not value.isdigit():
        raise ValidationError(_("An IIN is exactly 12 digits."), code="iin_format")
    if not is_valid_iin(value):
        raise ValidationError(_("This IIN is not valid: its control digit does not match."), code="iin_checksum")


PHONE_PREFIX = "+7"


def normalize_phone(value: str) -> str:
    """+7XXXXXXXXXX from the ways people type a Kazakh mobile number (8 701..., 7701..., +7 (701) ...)."""
    digits = "".join(ch for ch in str(value or "") if ch.isdigit())
    if len(digits) == 11 and digits[0] in "78":
        digits = digits[1:]
    if len(digits) != 10:
        raise ValidationError(_("Enter a phone number as +7 and 10 digits."), code="phone_format")
    return PHONE_PREFIX + digits


def validate_phone(value: str) -> None:
    if not value:
        return
    if normalize_phone(value) != value:
        raise ValidationError(_("Enter a phone number as +7 and 10 digits."), code="phone_format")
