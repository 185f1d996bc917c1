"""What a schedule tick does: run which periods, or skip and why.

One function decides it for the schedule, ``reports preview`` and the catch-up sensor, so the
three cannot disagree. A tick skipped for a weekend or holiday loses nothing: the next tick that
runs covers every period since the last one that ran.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

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

# How many ticks a tick looks at to find the previous run. A skipped day costs one look however
# many ticks it has (see TickWalk), so this is a streak of 100 skipped days or month-end
# candidates: far more than weekends and holidays ever make.
_MAX_TICKS_EXAMINED = 100


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


class TickWalk:
    """The schedule's cron ticks at or before a moment, newest first, without skipped days.

    Skipping is by the local day, so the first tick found on a skipped day stands for every
    tick of that day: the walk goes on from the day before. Walking back over a weekend of a
    five-minute schedule looks at three ticks, not 576. ``examined`` counts the ticks looked at;
    the walk ends after ``limit`` of them.
    """

    def __init__(self, schedule: Schedule, at_or_before: datetime, limit: int):
        self._schedule = schedule
        self._from = at_or_before.timestamp()
        self._limit = limit
        self.examined = 0

    def __iter__(self) -> Iterator[datetime]:
        schedule = self._schedule
        zone_name = schedule.timezone or "UTC"
        zone = ZoneInfo(zone_name)
        cron = schedule_cron(schedule)
        start = self._from
        while True:
            ticks = schedule_execution_time_iterator(start, cron, zone_name, ascending=False)
            for tick in ticks:
                if self.examined >= self._limit:
                    return
                self.examined += 1
                if not schedule.skip or skip_reason(schedule, tick) is None:
                    yield tick
                    continue
                day_start = datetime.combine(tick.astimezone(zone).date(), time.min, zone)
                # min(): a zone whose clocks jump at midnight has no such local time; never
                # restart later than the tick itself.
                start = min(day_start.timestamp(), tick.timestamp()) - 1
                break
            else:
                return


@dataclass(frozen=True)
class PreviousRun:
    """The latest earlier tick that ran (None if there is none within reach), and the cost."""

    tick: datetime | None
    ticks_examined: int


def previous_run_tick(schedule: Schedule, tick: datetime) -> PreviousRun:
    """The last tick before ``tick`` that is a run: not skipped, not a month-end candidate."""
    before = datetime.fromtimestamp(tick.timestamp() - 1, tick.tzinfo)
    walk = TickWalk(schedule, before, limit=_MAX_TICKS_EXAMINED)
    for earlier in walk:
        if tick_runs(schedule, earlier):
            return PreviousRun(earlier, walk.examined)
    return PreviousRun(None, walk.examined)


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
    previous = previous_run_tick(schedule, tick).tick if schedule.skip else None
    if previous is not None:
        covered = period_closed_at(partitions_def, previous)
        if covered is not None and covered.end < last.start:
            # The periods between the last run and this one were skipped: cover them now.
            following = partitions_def.get_partition_key_for_timestamp(covered.end.timestamp())
            first = period_for_key(partitions_def, following)
    return DueRun(first=first, last=last)
