"""Which runs of a schedule were missed while the daemon was down (pure, no Dagster instance).

Dagster's scheduler, set to ``max_catchup_runs: 1`` in dagster.yaml, runs only the latest missed
tick when it comes back. The ticks before it that should have run and have no run, back to the
last one that ran (or to when the schedule was started), are missed; the catch-up sensor requests
those. Older gaps were the business of earlier evaluations, so the walk stops at the first run it
finds: in normal operation a report costs two ticks, however long its schedule has been running.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from dagster import TimeWindowPartitionsDefinition

from reports_pipeline.scheduling.due import DueRun, TickWalk, due_at
from reports_pipeline.spec.report import Schedule

# Never walk further back than this many ticks (a week of minutely ticks is 10,080); only the
# first evaluation after a long downtime comes near it.
_MAX_TICKS_BACK = 20_000


@dataclass(frozen=True)
class MissedRuns:
    """Missed runs to request, oldest first, how many older ones the limit left out, and how
    many ticks were looked at to find them."""

    runs: list[DueRun]
    left_out: int
    ticks_examined: int = 0


def missed_runs(
    schedule: Schedule,
    partitions_def: TimeWindowPartitionsDefinition,
    *,
    since: datetime,
    now: datetime,
    already_run: Callable[[DueRun], bool],
    limit: int,
) -> MissedRuns:
    """Runs due after ``since`` and before the latest tick at ``now`` that never ran, newer
    than the latest one that did.

    The latest tick is left to the scheduler (it runs it on restart), so the two never request
    the same period. ``limit`` keeps the most recent missed runs.
    """
    walk = TickWalk(schedule, now, limit=_MAX_TICKS_BACK)
    missing: list[DueRun] = []
    left_out = 0
    latest_seen = False
    for tick in walk:
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
            break  # the daemon was up then: what came before was seen to by earlier evaluations
        if len(missing) < limit:
            missing.append(outcome)
        else:
            left_out += 1
    return MissedRuns(
        runs=list(reversed(missing)), left_out=left_out, ticks_examined=walk.examined
    )
