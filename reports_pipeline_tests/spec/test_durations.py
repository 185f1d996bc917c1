"""Durations at their edges: any value is a duration within its bounds, or a ValueError."""

import math
from datetime import timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from reports_pipeline.spec.durations import (
    LONGEST_DURATION,
    Duration,
    DurationTooLong,
    format_duration,
    parse_duration,
)

_WRITTEN = st.builds(
    lambda number, unit: f"{number}{unit}",
    st.one_of(st.integers(-10, 10**25), st.floats(allow_nan=True, allow_infinity=True)),
    st.sampled_from(["", "s", "m", "h", "d", "w", " d"]),
)
ANY_VALUE = st.one_of(
    st.integers(-(10**400), 10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=30),
    _WRITTEN,
)


@given(ANY_VALUE)
@example("99999999999d")
@example(10**400)
@example(float("nan"))
@example(float("inf"))
@example("1" * 400)
def test_any_value_is_a_bounded_duration_or_a_value_error(value):
    try:
        duration = parse_duration(value)
    except ValueError as exc:
        assert str(exc)
        return
    assert timedelta(0) < duration <= LONGEST_DURATION


@pytest.mark.parametrize(
    "value, message",
    [
        ("99999999999d", "'99999999999d' is too long here; write at most 366d"),
        (float("inf"), ".inf is too long here; write at most 366d"),
        (10**400, "a 401-digit number is too long here; write at most 366d"),
        (float("nan"), ".nan is not a duration; write it as 30s, 10m, 1h or 2d"),
        (-5, "a duration must be greater than zero (got -5)"),
        (float("-inf"), "a duration must be greater than zero (got -.inf)"),
        (0, "a duration must be greater than zero (got 0)"),
        ("-1s", "'-1s' is not a duration; write it as 30s, 10m, 1h or 2d"),
        (True, "expected a duration such as 30s, 10m, 1h or 2d (got true)"),
        (None, "expected a duration such as 30s, 10m, 1h or 2d (got None)"),
    ],
)
def test_each_kind_of_bad_duration_says_what_is_wrong(value, message):
    with pytest.raises(ValueError) as caught:
        parse_duration(value)
    assert str(caught.value) == message


def test_a_duration_over_its_limit_is_also_an_overflow_for_older_callers():
    with pytest.raises(OverflowError):
        parse_duration("8d", at_most=timedelta(days=7))
    assert issubclass(DurationTooLong, ValueError)


@pytest.mark.parametrize("value", ["0.5s", 30, "30s", "10m", "1.5h", "2d", timedelta(hours=1)])
def test_durations_within_bounds_parse(value):
    assert parse_duration(value, at_most=timedelta(days=2)) > timedelta(0)


def test_bounds_are_inclusive_and_named_as_written():
    bounded = {"at_least": timedelta(minutes=1), "at_most": timedelta(days=7)}
    assert parse_duration("1m", **bounded) == timedelta(minutes=1)
    assert parse_duration("7d", **bounded) == timedelta(days=7)
    with pytest.raises(ValueError, match="write at least 1m"):
        parse_duration("59s", **bounded)


@given(st.integers(1, 366 * 86400))
def test_format_duration_reads_back_as_the_same_duration(seconds):
    duration = timedelta(seconds=seconds)
    assert parse_duration(format_duration(duration)) == duration


class _Timeout(BaseModel):
    timeout: Duration(at_most=timedelta(hours=1)) | None = None


@given(ANY_VALUE)
def test_a_duration_field_validates_or_fails_validation(value):
    try:
        model = _Timeout(timeout=value)
    except ValidationError:
        return
    assert model.timeout is None or timedelta(0) < model.timeout <= timedelta(hours=1)
    assert value is None or not (isinstance(value, float) and math.isnan(value))
