"""When a report runs and which period each run covers (REPORT_SPEC.md, "Periods").

A report's period is the Dagster partition of its job: the partitions are the calendar periods
(midnight to midnight, Monday to Monday, month to month, cron tick to cron tick) in the report's
time zone, and each schedule tick runs the latest period that has closed at the tick. Both the
schedule and ``reports preview`` go through :func:`period_closed_at`, so they cannot disagree.
"""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dagster import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
    partition_loading_context,
)

from reports_pipeline.scheduling.holidays import holiday_name
from reports_pipeline.spec.report import WEEKDAYS, Schedule

DEFAULT_HISTORY = timedelta(days=30)
QUARTER_MONTHS = "1,4,7,10"
CRON_PARTITION_FORMAT = "%Y-%m-%d-%H:%M"

# Dagster numbers weekdays from Sunday = 0, like cron.
_CRON_WEEKDAY = {name: (index + 1) % 7 for index, name in enumerate(WEEKDAYS)}


_KEY_PLACEHOLDERS = {"%Y": "YYYY", "%m": "MM", "%d": "DD", "%H": "HH", "%M": "MM"}


@dataclass(frozen=True)
class Period:
    """The interval one run covers: ``start`` inclusive, ``end`` exclusive, in the report's zone."""

    key: str
    start: datetime
    end: datetime


def _day_of_month_field(schedule: Schedule) -> str:
    # Days 29..31 and "last" do not exist in every month; the cron fires on every candidate day
    # and tick_runs() keeps the one that is the intended day of that month.
    if schedule.on == "last" or (isinstance(schedule.on, int) and schedule.on > 28):
        return "28-31"
    return str(schedule.on)


def schedule_cron(schedule: Schedule) -> str:
    """The cron expression of the schedule's ticks, evaluated in the report's time zone."""
    at = schedule.clock
    every = schedule.every
    if every == "cron":
        return str(schedule.cron)
    if every == "once":
        # Cron has no year: this fires once a year and only the tick at run_at is a run.
        run_at = schedule.run_at
        return f"{run_at.minute} {run_at.hour} {run_at.day} {run_at.month} *"
    if every == "hour":
        return f"{at.minute} * * * *"
    if every == "day":
        return f"{at.minute} {at.hour} * * *"
    if every == "week":
        return f"{at.minute} {at.hour} * * {_CRON_WEEKDAY[str(schedule.on)]}"
    months = "*" if every == "month" else QUARTER_MONTHS
    return f"{at.minute} {at.hour} {_day_of_month_field(schedule)} {months} *"


def tick_runs(schedule: Schedule, tick: datetime) -> bool:
    """Whether a cron tick is a run at all (month-end candidates, the year of a one-off run)."""
    if schedule.every == "once":
        local = tick.astimezone(ZoneInfo(schedule.timezone or "UTC")).replace(tzinfo=None)
        return local == schedule.run_at
    if schedule.every not in ("month", "quarter") or _day_of_month_field(schedule) != "28-31":
        return True
    local = tick.astimezone(ZoneInfo(schedule.timezone or "UTC"))
    last_day = calendar.monthrange(local.year, local.month)[1]
    wanted = last_day if schedule.on == "last" else min(int(schedule.on), last_day)
    return local.day == wanted


def skip_reason(schedule: Schedule, tick: datetime) -> str | None:
    """Why ``skip`` suppresses the run at ``tick`` (its local day), or None if it runs."""
    day = tick.astimezone(ZoneInfo(schedule.timezone or "UTC")).date()
    if "weekends" in schedule.skip and day.weekday() >= 5:
        return f"skipped: {day.isoformat()} is a {day.strftime('%A')}"
    if "holidays" in schedule.skip and schedule.holiday_calendar:
        name = holiday_name(schedule.holiday_calendar, day)
        if name:
            return f"skipped: {day.isoformat()} {name}"
    return None


def once_period(schedule: Schedule) -> Period:
    """The one period of an ``every: once`` report: ``start`` (default 24 h earlier) to run_at."""
    zone = ZoneInfo(schedule.timezone or "UTC")
    end = schedule.run_at.replace(tzinfo=zone)
    if schedule.start is not None:
        start = datetime.combine(schedule.start, datetime.min.time(), zone)
    else:
        start = datetime.fromtimestamp(end.timestamp() - 86400, zone)
    return Period(key=schedule.run_at.strftime(CRON_PARTITION_FORMAT), start=start, end=end)


def _period_floor(schedule: Schedule, day: date) -> date:
    """The first day of the period that contains ``day`` (so default starts align to periods)."""
    if schedule.every == "week":
        weekday = WEEKDAYS.index(str(schedule.on))
        return day - timedelta(days=(day.weekday() - weekday) % 7)
    if schedule.every == "month":
        return day.replace(day=1)
    if schedule.every == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day


def first_period_day(schedule: Schedule, today: date | None = None) -> date:
    """``schedule.start``, or by default 30 days back, moved to the start of its period."""
    zone = ZoneInfo(schedule.timezone or "UTC")
    start = schedule.start or (today or datetime.now(zone).date()) - DEFAULT_HISTORY
    return _period_floor(schedule, start)


def partitions_definition(
    schedule: Schedule, today: date | None = None
) -> TimeWindowPartitionsDefinition | None:
    """The Dagster partitions of a report: one partition per period, in the report's zone.

    A one-off report (``every: once``) has a single period fixed by its spec and no partitions.
    """
    if schedule.every == "once":
        return None
    zone = schedule.timezone or "UTC"
    start = first_period_day(schedule, today).strftime("%Y-%m-%d")
    every = schedule.every
    if every == "hour":
        return HourlyPartitionsDefinition(start_date=f"{start}-00:00", timezone=zone)
    if every == "day":
        return DailyPartitionsDefinition(start_date=start, timezone=zone)
    if every == "week":
        return WeeklyPartitionsDefinition(
            start_date=start, day_offset=_CRON_WEEKDAY[str(schedule.on)], timezone=zone
        )
    if every == "month":
        return MonthlyPartitionsDefinition(start_date=start, timezone=zone)
    if every == "quarter":
        return TimeWindowPartitionsDefinition(
            cron_schedule=f"0 0 1 {QUARTER_MONTHS} *", start=start, fmt="%Y-%m-%d", timezone=zone
        )
    return TimeWindowPartitionsDefinition(
        cron_schedule=str(schedule.cron),
        start=datetime.combine(
            first_period_day(schedule, today), datetime.min.time(), ZoneInfo(zone)
        ),
        fmt=CRON_PARTITION_FORMAT,
        timezone=zone,
    )


def period_closed_at(
    partitions_def: TimeWindowPartitionsDefinition, tick: datetime
) -> Period | None:
    """The latest period that has ended at or before ``tick``; None before the first period."""
    with partition_loading_context(effective_dt=tick):
        window = partitions_def.get_last_partition_window()
    if window is None:
        return None
    key = partitions_def.get_partition_key_for_timestamp(window.start.timestamp())
    return Period(key=key, start=window.start, end=window.end)


def combined_period(first: Period, last: Period) -> Period:
    """Consecutive periods run together (after skipped days) as one period ``first..last``."""
    if first.key == last.key:
        return first
    return Period(key=f"{first.key}..{last.key}", start=first.start, end=last.end)


def period_for_key(partitions_def: TimeWindowPartitionsDefinition, key: str) -> Period:
    """The period of a partition key (raises ``ValueError`` for a key that is not a period)."""
    try:
        window = partitions_def.time_window_for_partition_key(key)
    except Exception as exc:
        shape = partitions_def.fmt
        for directive, placeholder in _KEY_PLACEHOLDERS.items():
            shape = shape.replace(directive, placeholder)
        raise ValueError(
            f"'{key}' is not a period of this report; periods look like '{shape}'"
        ) from exc
    return Period(key=key, start=window.start, end=window.end)
