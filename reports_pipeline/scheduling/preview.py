"""Upcoming runs of a report, computed with the same cron iteration the Dagster daemon uses."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from dagster._utils.schedules import schedule_execution_time_iterator

from reports_pipeline.scheduling.cadence import (
    Period,
    partitions_definition,
    period_closed_at,
    schedule_cron,
    tick_runs,
)
from reports_pipeline.spec.report import Schedule


@dataclass(frozen=True)
class UpcomingRun:
    """One future tick and the period it will cover; ``dst_note`` says when DST moves it."""

    tick: datetime
    period: Period | None
    dst_note: str | None


def _dst_note(schedule: Schedule, tick: datetime, previous: datetime | None) -> str | None:
    if schedule.every in ("day", "week", "month", "quarter") and schedule.at is not None:
        if (tick.hour, tick.minute) != (schedule.at.hour, schedule.at.minute):
            return f"DST: {schedule.at:%H:%M} does not exist that day; runs at {tick:%H:%M}"
    if previous is not None and tick.utcoffset() != previous.utcoffset():
        return f"DST: UTC offset changes from {previous:%z} to {tick:%z}"
    return None


def upcoming_runs(schedule: Schedule, after: datetime, count: int) -> Iterator[UpcomingRun]:
    """The next ``count`` runs strictly after ``after``, in the schedule's time zone."""
    partitions_def = partitions_definition(schedule)
    ticks = schedule_execution_time_iterator(
        after.timestamp() + 1, schedule_cron(schedule), schedule.timezone or "UTC"
    )
    produced = 0
    previous: datetime | None = None
    for tick in ticks:
        if produced >= count:
            return
        if not tick_runs(schedule, tick):
            continue
        yield UpcomingRun(
            tick=tick,
            period=period_closed_at(partitions_def, tick),
            dst_note=_dst_note(schedule, tick, previous),
        )
        previous = tick
        produced += 1
