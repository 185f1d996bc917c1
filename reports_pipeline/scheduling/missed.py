"""Which runs of a schedule were missed while the daemon was down (pure, no Dagster instance).

Dagster's scheduler, set to ``max_catchup_runs: 1`` in dagster.yaml, runs only the latest missed
tick when it comes back. Every earlier tick since the schedule was started that should have run
and has no run is missed; the catch-up sensor requests those.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from dagster import TimeWindowPartitionsDefinition
from dagster._utils.schedules import schedule_execution_time_iterator

from reports_pipeline.scheduling.cadence import schedule_cron
from reports_pipeline.scheduling.due import DueRun, due_at
from reports_pipeline.spec.report import Schedule

# Never walk further back than this many ticks (a week of minutely ticks is 10,080).
_MAX_TICKS_BACK = 20_000


@dataclass(frozen=True)
class MissedRuns:
    """Missed runs to request, oldest first, and how many older ones the limit left out."""

    runs: list[DueRun]
    left_out: int


def missed_runs(
    schedule: Schedule,
    partitions_def: TimeWindowPartitionsDefinition,
    *,
    since: datetime,
    now: datetime,
    already_run: Callable[[DueRun], bool],
    limit: int,
) -> MissedRuns:
    """Runs due after ``since`` and before the latest tick at ``now`` that never ran.

    The latest tick is left to the scheduler (it runs it on restart), so the two never request
    the same period. ``limit`` keeps the most recent missed runs.
    """
    ticks = schedule_execution_time_iterator(
        now.timestamp(), schedule_cron(schedule), schedule.timezone or "UTC", ascending=False
    )
    missing: list[DueRun] = []
    left_out = 0
    latest_seen = False
    for _, tick in zip(range(_MAX_TICKS_BACK), ticks, strict=False):
        if tick.timestamp() > now.timestamp():
            continue
        if tick.timestamp() < since.timestamp():
            break
        outcome = due_at(schedule, partitions_def, tick)
        if not isinstance(outcome, DueRun):
            continue
        if not latest_seen:
            latest_seen = True  # the scheduler's own tick
            continue
        if already_run(outcome):
            continue
        if len(missing) < limit:
            missing.append(outcome)
        else:
            left_out += 1
    return MissedRuns(runs=list(reversed(missing)), left_out=left_out)
