"""Upcoming runs of a report, computed with the same cron iteration the Dagster daemon uses."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from dagster._utils.schedules import schedule_execution_time_iterator

from reports_pipeline.scheduling.cadence import partitions_definition, schedule_cron, tick_runs
from reports_pipeline.scheduling.due import DueRun, NotDue, due_at
from reports_pipeline.spec.report import Schedule

# A one-off report's cron fires once a year; stop looking after this many ticks.
_MAX_TICKS = 5000


@dataclass(frozen=True)
class UpcomingTick:
    """A future tick: the run it makes (or why it is skipped), and when DST moves it."""

    tick: datetime
    outcome: DueRun | NotDue
    dst_note: str | None

    @property
    def runs(self) -> bool:
        return isinstance(self.outcome, DueRun)


def _dst_note(schedule: Schedule, tick: datetime, previous: datetime | None) -> str | None:
    if schedule.every in ("day", "week", "month", "quarter") and schedule.at is not None:
        if (tick.hour, tick.minute) != (schedule.at.hour, schedule.at.minute):
            return f"DST: {schedule.at:%H:%M} does not exist that day; runs at {tick:%H:%M}"
    if previous is not None and tick.utcoffset() != previous.utcoffset():
        return f"DST: UTC offset changes from {previous:%z} to {tick:%z}"
    return None


def upcoming_ticks(schedule: Schedule, after: datetime, count: int) -> Iterator[UpcomingTick]:
    """Ticks strictly after ``after`` until ``count`` runs: runs, and skipped days with reasons.

    Month-end candidate days that are not the run day are left out (they are not ticks to a
    reader); a one-off report yields its run, or nothing once run_at has passed.
    """
    partitions_def = partitions_definition(schedule)
    ticks = schedule_execution_time_iterator(
        after.timestamp() + 1, schedule_cron(schedule), schedule.timezone or "UTC"
    )
    runs = 0
    previous: datetime | None = None
    for _, tick in zip(range(_MAX_TICKS), ticks, strict=False):
        if runs >= count:
            return
        if not tick_runs(schedule, tick):
            continue
        outcome = due_at(schedule, partitions_def, tick)
        yield UpcomingTick(tick=tick, outcome=outcome, dst_note=_dst_note(schedule, tick, previous))
        previous = tick
        runs += isinstance(outcome, DueRun)
