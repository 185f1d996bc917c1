"""Which runs of a schedule were missed while the daemon was down (pure, no Dagster instance).

Dagster's scheduler, set to ``max_catchup_runs: 1`` in dagster.yaml, runs only the latest missed
tick when it comes back. The ticks before it that should have run and have no run are missed; the
catch-up sensor requests those. Two walks find them, both bounded however long the schedule has
been running:

- The first evaluation (no record of an earlier one) walks back from now and stops at the first
  tick that ran: in normal operation a report costs two ticks.
- Every later one looks only at the ticks since the previous evaluation looked (its
  ``checked_until``), plus the one tick it left to the scheduler then. A report with no tick in
  that window costs nothing, so an evaluation at 10,000 reports touches only the reports due
  since the last one.

A tick is missed only once the scheduler is done with it: when the latest tick has its run (the
scheduler, which goes forward only, has passed every tick before it), or else once the tick is
older than ``horizon``. Under load the scheduler creates a tick's run late, and a tick it is
still working on is not missed; such a tick is counted as ``deferred`` for a later evaluation.
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
    deferred: int = 0  # ticks not yet settled: to look at again


def missed_runs(
    schedule: Schedule,
    partitions_def: TimeWindowPartitionsDefinition,
    *,
    since: datetime,
    now: datetime,
    already_run: Callable[[DueRun], bool],
    limit: int,
    horizon: datetime | None = None,
    checked_until: datetime | None = None,
) -> MissedRuns:
    """Runs due after ``since`` and before the latest tick at ``now`` that never ran, settled:
    at or before ``horizon`` (default ``now``), or before a latest tick that has its run.

    The latest tick is left to the scheduler (it runs it on restart), so the two never request
    the same period. Without ``checked_until`` the walk ends at the newest tick that ran; with
    it, at the first tick at or before it (every older one was looked at by the evaluation that
    set it). ``limit`` keeps the most recent missed runs.
    """
    settled = (horizon or now).timestamp()
    checked = checked_until.timestamp() if checked_until is not None else None
    walk = TickWalk(schedule, now, limit=_MAX_TICKS_BACK)
    missing: list[DueRun] = []
    left_out = deferred = 0
    latest: DueRun | None = None
    latest_asked = False
    for tick in walk:
        if tick.timestamp() > now.timestamp():
            continue
        if tick.timestamp() < since.timestamp():
            break
        outcome = due_at(schedule, partitions_def, tick)
        if not isinstance(outcome, DueRun):
            continue
        if latest is None:
            latest = outcome  # the scheduler's own tick
        else:
            if tick.timestamp() > settled and not latest_asked:
                latest_asked = True
                if already_run(latest):
                    settled = now.timestamp()  # the scheduler went past every earlier tick
            if tick.timestamp() > settled:
                deferred += 1
            elif already_run(outcome):
                if checked is None:
                    break  # the daemon was up then: earlier evaluations saw to what came before
            elif len(missing) < limit:
                missing.append(outcome)
            else:
                left_out += 1
        if checked is not None and tick.timestamp() <= checked:
            break  # this one was the scheduler's at the last evaluation; older ones were checked
    return MissedRuns(
        runs=list(reversed(missing)),
        left_out=left_out,
        ticks_examined=walk.examined,
        deferred=deferred,
    )
