"""What a schedule tick does: run which periods, or skip and why.

One function decides it for the schedule, ``reports preview`` and the catch-up sensor, so the
three cannot disagree. A tick skipped for a weekend or holiday loses nothing: the next tick that
runs covers every period since the last one that ran.
"""

from dataclasses import dataclass
from datetime import datetime

from dagster import TimeWindowPartitionsDefinition
from dagster._utils.schedules import schedule_execution_time_iterator

from reports_pipeline.scheduling.cadence import (
    Period,
    combined_period,
    once_period,
    period_closed_at,
    period_for_key,
    schedule_cron,
    skip_reason,
    tick_runs,
)
from reports_pipeline.spec.report import Schedule

# How far back a tick looks for the previous run (a year of daily ticks, a month of hourly).
_MAX_TICKS_BACK = 800


@dataclass(frozen=True)
class DueRun:
    """A run the tick requests: periods ``first`` to ``last`` (the same period, usually)."""

    first: Period
    last: Period

    @property
    def period(self) -> Period:
        return combined_period(self.first, self.last)

    @property
    def run_key(self) -> str:
        return self.period.key


@dataclass(frozen=True)
class NotDue:
    """A tick that runs nothing, and the reason shown in the Dagster UI."""

    reason: str


def _previous_run_tick(schedule: Schedule, tick: datetime) -> datetime | None:
    ticks = schedule_execution_time_iterator(
        tick.timestamp() - 1, schedule_cron(schedule), schedule.timezone or "UTC", ascending=False
    )
    for _, earlier in zip(range(_MAX_TICKS_BACK), ticks, strict=False):
        if tick_runs(schedule, earlier) and skip_reason(schedule, earlier) is None:
            return earlier
    return None


def due_at(
    schedule: Schedule, partitions_def: TimeWindowPartitionsDefinition | None, tick: datetime
) -> DueRun | NotDue:
    """What the tick at ``tick`` runs: the periods closed since the previous tick that ran."""
    if not tick_runs(schedule, tick):
        if schedule.every == "once":
            return NotDue(f"runs once, at {schedule.run_at.isoformat(timespec='minutes')}")
        return NotDue(f"{tick:%Y-%m-%d} is not day {schedule.on} of its month")
    reason = skip_reason(schedule, tick)
    if reason:
        return NotDue(f"{reason}; the next run covers this period too")
    if partitions_def is None:
        period = once_period(schedule)
        return DueRun(first=period, last=period)
    last = period_closed_at(partitions_def, tick)
    if last is None:
        return NotDue(
            f"no period has closed yet at {tick.isoformat()} (the first period starts "
            f"{partitions_def.start.date().isoformat()})"
        )
    first = last
    previous = _previous_run_tick(schedule, tick) if schedule.skip else None
    if previous is not None:
        covered = period_closed_at(partitions_def, previous)
        if covered is not None and covered.end < last.start:
            # The periods between the last run and this one were skipped: cover them now.
            following = partitions_def.get_partition_key_for_timestamp(covered.end.timestamp())
            first = period_for_key(partitions_def, following)
    return DueRun(first=first, last=last)
