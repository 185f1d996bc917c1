"""A report's health at a moment, from its schedule and its recent runs (pure, no instance).

``reports status`` and the late-notice sensor decide with :func:`report_health`, so the two
cannot disagree. The latest due period comes from the schedule's own tick decision
(``scheduling/due.py``): a tick skipped for a weekend or holiday is not a due period, and the
next tick that runs is due for the skipped periods too.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median

from dagster import TimeWindowPartitionsDefinition

from reports_pipeline.scheduling.due import DueRun, TickWalk, due_at
from reports_pipeline.scheduling.preview import upcoming_ticks
from reports_pipeline.spec.report import ReportSpec

MIN_GRACE = timedelta(minutes=15)
# Successful runs whose durations make the typical run time; more old ones would slow the
# grace's reaction to a report that became slower.
TYPICAL_RUNS = 5
IN_PROGRESS = frozenset({"QUEUED", "NOT_STARTED", "MANAGED", "STARTING", "STARTED", "CANCELING"})
_RESULTS = {"SUCCESS": "success", "FAILURE": "failure", "CANCELED": "canceled"}
# Ticks looked at to find the latest due one: a year of a one-off report's yearly cron, or
# month-end candidates and skipped days (one tick each, see TickWalk) with room to spare.
_MAX_TICKS_BACK = 400
# A minutely report has 60 runs an hour; more ahead than this is not a status line.
_MAX_NEXT_RUNS = 500


@dataclass(frozen=True)
class RunFact:
    """What the health needs of one run: its status (Dagster's name) and times."""

    run_id: str
    status: str
    period: str | None
    created: datetime
    started: datetime | None = None
    ended: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in _RESULTS

    @property
    def duration(self) -> timedelta | None:
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started


@dataclass(frozen=True)
class LatePeriod:
    """The latest due period, undelivered past its grace: due at ``due``, late from ``since``."""

    period: str
    due: datetime
    grace: timedelta

    @property
    def since(self) -> datetime:
        return self.due + self.grace


@dataclass(frozen=True)
class FailingPeriod:
    """The latest period that ran, whose last run failed and no run of it succeeded."""

    period: str | None
    run_id: str


@dataclass(frozen=True)
class NextRun:
    tick: datetime
    period: str


@dataclass(frozen=True)
class ReportHealth:
    name: str
    schedule_running: bool
    last_result: str | None = None  # success, failure, canceled; None before the first run
    last_result_at: datetime | None = None
    in_progress: int = 0  # queued or running
    failing: FailingPeriod | None = None
    late: LatePeriod | None = None
    next_runs: list[NextRun] = field(default_factory=list)

    @property
    def state(self) -> str:
        return "running" if self.schedule_running else "stopped"

    @property
    def healthy(self) -> bool:
        return self.failing is None and self.late is None


def grace_period(runs: list[RunFact]) -> timedelta:
    """Twice the median duration of the last successful runs, and never under 15 minutes."""
    durations = [
        run.duration
        for run in sorted(runs, key=lambda r: r.created, reverse=True)
        if run.status == "SUCCESS" and run.duration is not None
    ][:TYPICAL_RUNS]
    if not durations:
        return MIN_GRACE
    return max(MIN_GRACE, 2 * median(durations))


def latest_due(
    spec: ReportSpec, partitions_def: TimeWindowPartitionsDefinition | None, now: datetime
) -> tuple[datetime, DueRun] | None:
    """The latest tick at or before ``now`` that runs something, and what it runs."""
    for tick in TickWalk(spec.schedule, now, limit=_MAX_TICKS_BACK):
        outcome = due_at(spec.schedule, partitions_def, tick)
        if isinstance(outcome, DueRun):
            return tick, outcome
    return None


def covers(run: RunFact, due: DueRun, periodic: bool) -> bool:
    """Whether ``run`` delivers the due periods: the same key, or a run (a backfill range, a
    run by hand of the last period alone) that ends with the due run's last period."""
    if not periodic:
        return True  # a one-off report has one period
    if run.period is None:
        return False
    return run.period in (due.period.key, due.last.key) or run.period.endswith(f"..{due.last.key}")


def _period_order(period: str | None) -> str:
    # Keys of one report share one format (YYYY-MM-DD, YYYY-MM-DD-HH:MM) that sorts as text;
    # a range counts as its last period.
    return (period or "").rpartition("..")[2]


def _failing(runs: list[RunFact]) -> FailingPeriod | None:
    finished = [run for run in runs if run.finished]
    if not finished:
        return None
    latest = max(_period_order(run.period) for run in finished)
    of_latest = [run for run in finished if _period_order(run.period) == latest]
    if any(run.status == "SUCCESS" for run in of_latest):
        return None
    last = max(of_latest, key=lambda r: (r.ended or r.created, r.created))
    return FailingPeriod(last.period, last.run_id) if last.status == "FAILURE" else None


def _late(
    spec: ReportSpec,
    partitions_def: TimeWindowPartitionsDefinition | None,
    runs: list[RunFact],
    now: datetime,
    running_since: datetime | None,
) -> LatePeriod | None:
    found = latest_due(spec, partitions_def, now)
    if found is None:
        return None
    tick, due = found
    if running_since is not None and tick < running_since:
        return None  # due while the schedule was stopped: a backfill's business, not late
    periodic = partitions_def is not None
    if any(run.status == "SUCCESS" and covers(run, due, periodic) for run in runs):
        return None
    late = LatePeriod(period=due.period.key, due=tick, grace=grace_period(runs))
    return late if now > late.since else None


def next_runs(spec: ReportSpec, now: datetime, ahead: timedelta) -> list[NextRun]:
    """The runs the schedule makes after ``now`` and up to ``now + ahead``."""
    found = []
    for upcoming in upcoming_ticks(spec.schedule, now, _MAX_NEXT_RUNS):
        if upcoming.tick > now + ahead:
            break
        if isinstance(upcoming.outcome, DueRun):
            found.append(NextRun(upcoming.tick, upcoming.outcome.period.key))
    return found


def report_health(
    spec: ReportSpec,
    partitions_def: TimeWindowPartitionsDefinition | None,
    runs: list[RunFact],
    *,
    now: datetime,
    schedule_running: bool,
    running_since: datetime | None = None,
    ahead: timedelta = timedelta(hours=1),
) -> ReportHealth:
    """The report's health at ``now`` from its recent runs (any order).

    A stopped schedule is never late and has no next runs: it was paused on purpose. Failing
    does not depend on the schedule: a failed run by hand is still a failed period.
    """
    finished = [run for run in runs if run.finished]
    last = max(finished, key=lambda r: (r.ended or r.created, r.created), default=None)
    return ReportHealth(
        name=spec.name,
        schedule_running=schedule_running,
        last_result=_RESULTS[last.status] if last else None,
        last_result_at=(last.ended or last.created) if last else None,
        in_progress=sum(run.status in IN_PROGRESS for run in runs),
        failing=_failing(runs),
        late=_late(spec, partitions_def, runs, now, running_since) if schedule_running else None,
        next_runs=next_runs(spec, now, ahead) if schedule_running else [],
    )
