"""Durations as analysts write them: ``30s``, ``10m``, ``1h``, ``2d`` (or a number of seconds).

Every duration has a range. A value outside it (``99999999999d``, ``.inf``, ``.nan``, zero or
less) is refused with a message that says what would be right, never passed on to overflow
inside ``timedelta``, Dagster or a client library.
"""

import math
import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")

LONGEST_DURATION = timedelta(days=366)
"""The longest duration any field takes unless it says otherwise: a year."""

_FORMS = "30s, 10m, 1h or 2d"


class DurationTooLong(ValueError, OverflowError):
    """A duration over its field's limit. Also an ``OverflowError``: callers that bounded a
    duration by catching the overflow of a huge number keep working."""


def shown(value: object) -> str:
    """A value as the analyst wrote it in YAML: ``true``, ``.inf``, ``.nan``, ``-5``, ``'2x'``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if isinstance(value, int) and abs(value) >= 10**30:
        return f"a {len(str(abs(value)))}-digit number"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "…")
    return str(value)


def format_duration(duration: timedelta) -> str:
    """A duration as it is written in YAML: ``7d``, ``90m``, ``1h``, ``45s``."""
    seconds = duration.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:.6f}".rstrip("0").rstrip(".") + "s"


def _seconds(value: object) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"expected a duration such as {_FORMS} (got {shown(value)})")
    if isinstance(value, (int, float)):
        try:
            seconds = float(value)
        except OverflowError:  # an integer too large for a float
            return math.inf
        if math.isnan(seconds):
            raise ValueError(f".nan is not a duration; write it as {_FORMS}")
        return seconds
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"{shown(value)} is not a duration; write it as {_FORMS}")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def parse_duration(
    value: object,
    *,
    at_least: timedelta | None = None,
    at_most: timedelta = LONGEST_DURATION,
) -> timedelta:
    """Parse a duration greater than zero, ``at_least`` and ``at_most`` when given.

    Raises ``ValueError`` (:class:`DurationTooLong` above ``at_most``) with the accepted forms
    or the range.
    """
    seconds = _seconds(value)
    if seconds <= 0:
        raise ValueError(f"a duration must be greater than zero (got {shown(value)})")
    if seconds > at_most.total_seconds():  # .inf and 99999999999d end here, before timedelta
        raise DurationTooLong(
            f"{shown(value)} is too long here; write at most {format_duration(at_most)}"
        )
    duration = timedelta(seconds=seconds)
    if not duration:  # under half a microsecond rounds to nothing
        raise ValueError(f"a duration must be greater than zero (got {shown(value)})")
    if at_least is not None and duration < at_least:
        raise ValueError(
            f"{shown(value)} is too short here; write at least {format_duration(at_least)}"
        )
    return duration


def Duration(*, at_least: timedelta | None = None, at_most: timedelta = LONGEST_DURATION) -> Any:
    """A pydantic field type: a duration from ``at_least`` to ``at_most``, written as above."""
    return Annotated[
        timedelta,
        BeforeValidator(lambda value: parse_duration(value, at_least=at_least, at_most=at_most)),
    ]
