import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from accounts.validators import iin_check_digit, is_valid_iin, normalize_phone, validate_iin


def test_iin_valid_on_the_first_pass():
    assert is_valid_iin("900101100004")


def test_iin_valid_on_the_second_pass():
    # The first weighted sum gives 10, so the second weights decide: 0.
    assert iin_check_digit("90010110050") == 0
    assert is_valid_iin("900101100500")


def test_iin_that_no_control_digit_can_make_valid():
    assert iin_check_digit("90010110055") is None
    for last in "0123456789":
        assert not is_valid_iin("90010110055" + last)


def test_iin_whose_first_six_digits_are_no_birth_date_is_accepted():
    # 99 13 45 is no date; DOMAIN.md says not to reject it for that.
    eleven = "99134512345"
    check = iin_check_digit(eleven)
    assert check is not None
    validate_iin(eleven + str(check))


@pytest.mark.parametrize(
    "value",
    ["", "90010110000", "9001011000045", "90010110000A", "９００１０１１０００４", " 900101100004", None, 900101100004],
)
def test_iin_of_wrong_length_or_with_letters_is_refused(value):
    with pytest.raises(ValidationError) as raised:
        validate_iin(value)
    assert raised.value.code == "iin_format"


def test_iin_with_a_wrong_control_digit_is_refused():
    with pytest.raises(ValidationError) as raised:
        validate_iin("900101100005")
    assert raised.value.code == "iin_checksum"


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_exactly_one_control_digit_or_none_makes_an_iin_valid(eleven):
    valid = [d for d in "0123456789" if is_valid_iin(eleven + d)]
    check = iin_check_digit(eleven)
    assert valid == ([] if check is None else [str(check)])


@pytest.mark.parametrize("typed", ["+7 701 234 56 78", "87012345678", "7012345678", "+7(701)234-56-78"])
def test_phone_numbers_are_normalised(typed):
    assert normalize_phone(typed) == "+77012345678"


@pytest.mark.parametrize("typed", ["", "12345", "+1 202 555 0100 1", "abc"])
def test_malformed_phone_numbers_are_refused(typed):
    with pytest.raises(ValidationError):
        normalize_phone(typed)
