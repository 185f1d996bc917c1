"""Numbers with a range: booleans, non-finite floats, fractions and values outside are refused."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from reports_pipeline.spec.values import Number, WholeNumber


class _Settings(BaseModel):
    attempts: WholeNumber(1, 20) = 3
    size_mb: Number(0.01, 1024) = 20


ANY_VALUE = st.one_of(
    st.integers(-(10**40), 10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=12),
    st.none(),
    st.lists(st.integers(), max_size=2),
)


def _message(**fields) -> str:
    with pytest.raises(ValidationError) as caught:
        _Settings(**fields)
    (error,) = caught.value.errors()
    return error["msg"].removeprefix("Value error, ")


@given(ANY_VALUE)
def test_a_whole_number_is_in_range_or_refused(value):
    try:
        attempts = _Settings(attempts=value).attempts
    except ValidationError:
        return
    assert type(attempts) is int and 1 <= attempts <= 20
    assert not isinstance(value, bool)


@given(ANY_VALUE)
def test_a_number_is_finite_and_in_range_or_refused(value):
    try:
        size = _Settings(size_mb=value).size_mb
    except ValidationError:
        return
    assert math.isfinite(size) and 0.01 <= size <= 1024
    assert not isinstance(value, bool)


@pytest.mark.parametrize(
    "value, message",
    [
        (True, "expected a whole number from 1 to 20 (got true)"),
        (False, "expected a whole number from 1 to 20 (got false)"),
        (float("inf"), "expected a whole number from 1 to 20 (got .inf)"),
        (float("nan"), "expected a whole number from 1 to 20 (got .nan)"),
        (2.5, "expected a whole number from 1 to 20 (got 2.5, which has a fraction)"),
        (0, "0 is out of range: write at least 1 (a whole number from 1 to 20)"),
        (
            10**40,
            "a 41-digit number is out of range: write at most 20 (a whole number from 1 to 20)",
        ),
        ("three", "expected a whole number from 1 to 20 (got 'three')"),
    ],
)
def test_each_kind_of_bad_whole_number_says_what_is_wrong(value, message):
    assert _message(attempts=value) == message


@pytest.mark.parametrize("value, expected", [(4, 4), (4.0, 4), ("4", 4), (" 20 ", 20)])
def test_whole_numbers_written_as_floats_or_quoted_are_accepted(value, expected):
    assert _Settings(attempts=value).attempts == expected


@pytest.mark.parametrize("value", [True, float("-inf"), float("nan"), 0, 1025, "big"])
def test_a_bad_number_names_the_range(value):
    assert "0.01 to 1,024" in _message(size_mb=value)
