"""Deployment policy checks on one report: how often it may run (``policy.min_interval``).

Tick times come from Dagster's own cron iterator, the one the daemon uses, over a fixed sample
window, so a check gives the same answer on every load and for every machine's clock.
"""

from datetime import datetime, timedelta, timezone
from functools import lru_cache

from reports_pipeline.spec.connections import Policy
from reports_pipeline.spec.errors import field_path
from reports_pipeline.spec.report import ReportSpec
from reports_pipeline.spec.yaml_source import Location, SpecError, YamlDocument

SAMPLE_START = datetime(2025, 12, 29, tzinfo=timezone.utc)
"""Monday 00:00 UTC. The week from here holds every weekday, month end (29th to 31st) and
New Year (the first day of a month and of a quarter), and no daylight-saving change in most
zones, so it stands for the slots a schedule uses."""

SAMPLE_WEEK = timedelta(days=7)

GAP_WINDOW = timedelta(days=8)
"""How long after its first tick a cron is watched for its shortest gap: every weekday, and
the step from one week to the next."""

# Fixed cadences tick at least this far apart: a month across February (28 days), a quarter
# from 31 January to 30 April (89 days).
_CADENCE_GAPS = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=28),
    "quarter": timedelta(days=89),
}

_ONE_MINUTE = timedelta(minutes=1)
_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
_SHORT_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_NAMED_INTERVALS = {
    timedelta(minutes=1): "every minute",
    timedelta(hours=1): "hourly",
    timedelta(days=1): "daily",
}


@lru_cache(maxsize=4096)
def sample_ticks(cron: str, zone: str) -> tuple[datetime, ...]:
    """The ticks of ``cron`` in ``zone`` during the sample week, in order.

    Cached: the code location reloads often and many reports share a (cron, zone).
    """
    from dagster._utils.schedules import schedule_execution_time_iterator

    end = SAMPLE_START + SAMPLE_WEEK
    ticks: list[datetime] = []
    for tick in schedule_execution_time_iterator(SAMPLE_START.timestamp(), cron, zone):
        if tick >= end:
            break
        ticks.append(tick)
    return tuple(ticks)


def _gap(earlier: datetime, later: datetime) -> timedelta:
    # The larger of elapsed time and wall-clock time: a daily tick across a DST change is
    # 23 h apart in UTC but still daily, and an hourly tick repeated at fall-back is 0 h
    # apart on the wall clock but still an hour later.
    # (Subtracting datetimes of one zone gives wall-clock time, hence the timestamps.)
    elapsed = timedelta(seconds=later.timestamp() - earlier.timestamp())
    wall = later.replace(tzinfo=None) - earlier.replace(tzinfo=None)
    return max(elapsed, wall)


@lru_cache(maxsize=4096)
def shortest_gap(cron: str, zone: str) -> timedelta | None:
    """The smallest time between consecutive ticks of ``cron``; None if it ticks only once.

    Watched for :data:`GAP_WINDOW` from its first tick at or after :data:`SAMPLE_START`, so a
    cron restricted to some days of the month or year is watched on days it runs.
    """
    from dagster._utils.schedules import schedule_execution_time_iterator

    ticks = schedule_execution_time_iterator(SAMPLE_START.timestamp(), cron, zone)
    previous = next(ticks)
    end = previous + GAP_WINDOW
    shortest: timedelta | None = None
    for tick in ticks:
        if tick > end:
            break
        gap = _gap(previous, tick)
        if shortest is None or gap < shortest:
            shortest = gap
        if shortest <= _ONE_MINUTE:
            break  # cron cannot tick more often than every minute
        previous = tick
    return shortest


def schedule_interval(spec: ReportSpec, zone: str) -> timedelta | None:
    """How close together the report's runs can come; None for a report that runs once."""
    schedule = spec.schedule
    if schedule.every == "cron" and schedule.cron:
        return shortest_gap(schedule.cron, zone)
    return _CADENCE_GAPS.get(schedule.every)


def describe_duration(duration: timedelta) -> str:
    """``timedelta(minutes=90)`` → ``1 hour 30 minutes``."""
    remaining = int(duration.total_seconds())
    parts = []
    for unit, seconds in _UNITS:
        count, remaining = divmod(remaining, seconds)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    return " ".join(parts) or "0 seconds"


def short_duration(duration: timedelta) -> str:
    """A duration as written in YAML: ``1h``, ``2m``, ``90m``, ``2d``."""
    seconds = int(duration.total_seconds())
    for unit, size in _SHORT_UNITS:
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _at_most(limit: timedelta) -> str:
    named = _NAMED_INTERVALS.get(limit)
    return f"at most {named}" if named else f"at most once every {describe_duration(limit)}"


def check_min_interval(spec: ReportSpec, document: YamlDocument, policy: Policy) -> list[SpecError]:
    """A report that runs more often than ``policy.min_interval`` allows: one error at schedule."""
    zone = spec.schedule.timezone or policy.timezone
    interval = schedule_interval(spec, zone)
    if interval is None or interval >= policy.min_interval:
        return []
    what = "a cron" if spec.schedule.every == "cron" else "a schedule"
    location: Location = ("schedule",)
    message = (
        f"runs every {describe_duration(interval)}; policy.min_interval is "
        f"{short_duration(policy.min_interval)}: use {what} that runs "
        f"{_at_most(policy.min_interval)}, or ask for the policy to change"
    )
    return [SpecError(document.path, document.line_of(location), field_path(location), message)]
