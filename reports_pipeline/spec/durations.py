"""Durations as analysts write them: ``30s``, ``10m``, ``1h``, ``2d`` (or a number of seconds)."""

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(value: object) -> timedelta:
    """Parse a duration; raise ``ValueError`` with the accepted forms when it is not one."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 10m, 1h or 2d")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"'{value}' is not a duration; write it as 30s, 10m, 1h or 2d")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds <= 0:
        raise ValueError("a duration must be greater than zero")
    return timedelta(seconds=seconds)
