"""The catch-up sensor: runs every period that was missed while the daemon was down.

Dagster does not catch missed ticks up (dagster.yaml keeps ``max_catchup_runs: 1``), so after
downtime this sensor requests each missed period of each running report once (its run key is
``report:period``, and Dagster never launches a sensor's run key twice), oldest first, up to
``policy.max_catchup_periods`` per report. A paused schedule is not caught up, and resuming it
starts from the moment it was resumed: the paused interval is only run by a backfill.

Its cost follows the reports due, not the reports that exist: the cursor records up to when
ticks were checked, so an evaluation looks only at reports with a tick since then (one run query
each), and an evaluation that runs out of time goes on from where it stopped at the next one.
"""

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from dagster import (
    DagsterInstance,
    DefaultSensorStatus,
    JobDefinition,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    TimeWindowPartitionsDefinition,
    sensor,
)
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)
from dagster._utils.schedules import schedule_execution_time_iterator

from reports_pipeline.run_history import period_of_tags
from reports_pipeline.scheduling.cadence import schedule_cron
from reports_pipeline.scheduling.due import DueRun
from reports_pipeline.scheduling.missed import missed_runs
from reports_pipeline.scheduling.report_schedule import schedule_name
from reports_pipeline.scheduling.run_requests import run_request
from reports_pipeline.spec.report import ReportSpec

CATCH_UP_SENSOR_NAME = "report_catch_up"
CATCH_UP_TAG = "reports/catch_up"
_INTERVAL_SECONDS = 60
# A tick whose latest tick has no run yet is missed only once it is this old: under load the
# scheduler creates a tick's run a minute or more late (measured at 10,000 reports), and a run
# created late is not missed.
SETTLING = timedelta(minutes=5)
# A job's newest runs, read at once; a period not among them is looked up on its own.
_RECENT_RUNS = 20
# Dagster gives a sensor evaluation 60 seconds; stop well before and go on at the next one.
_BUDGET_SECONDS = 30.0


class _PeriodsRun:
    """Whether a period has a run of the job (any status: a failed run is not a missed one).

    The job's newest runs are read once, by job name (an index Dagster keeps): the periods an
    evaluation asks about are nearly always among them. Any other period costs one query on
    the run's partition tags, a single period or a backfill's range."""

    def __init__(self, instance: DagsterInstance, job_name: str):
        self._instance, self._job_name = instance, job_name
        self._recent: set[str] | None = None

    def __call__(self, due: DueRun) -> bool:
        if self._recent is None:
            runs = self._instance.get_runs(RunsFilter(job_name=self._job_name), limit=_RECENT_RUNS)
            self._recent = {period_of_tags(run.tags) for run in runs}
        if due.period.key in self._recent:
            return True
        if due.first.key == due.last.key:
            tags = {PARTITION_NAME_TAG: due.first.key}
        else:
            tags = {
                ASSET_PARTITION_RANGE_START_TAG: due.first.key,
                ASSET_PARTITION_RANGE_END_TAG: due.last.key,
            }
        filters = RunsFilter(job_name=self._job_name, tags=tags)
        return bool(self._instance.get_run_ids(filters, limit=1))


@dataclass(frozen=True)
class Cursor:
    """Ticks at or before ``checked_until`` were checked (None: never). A pass that ran out of
    time keeps its ``horizon`` and the last report it finished, ``done_through``."""

    checked_until: float | None = None
    horizon: float | None = None
    done_through: str | None = None

    @staticmethod
    def parse(text: str | None) -> "Cursor":
        if not text:
            return Cursor()
        try:
            return Cursor(**json.loads(text))
        except (ValueError, TypeError):
            return Cursor()  # written by an older version: check as if for the first time

    def dump(self) -> str:
        return json.dumps({k: v for k, v in self.__dict__.items() if v is not None})


class _TicksSince:
    """Whether a cron has a tick in (since, now]; reports share a few crons, so each is
    computed once per evaluation."""

    def __init__(self, since: float, now: float):
        self._since, self._now = since, now
        self._known: dict[tuple[str, str], bool] = {}

    def __call__(self, cron: str, zone: str) -> bool:
        if (cron, zone) not in self._known:
            ticks = schedule_execution_time_iterator(self._since, cron, zone, ascending=True)
            tick = next(ticks)
            if tick.timestamp() <= self._since:
                tick = next(ticks)
            self._known[(cron, zone)] = tick.timestamp() <= self._now
        return self._known[(cron, zone)]


def _utc(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, timezone.utc)


@dataclass(frozen=True)
class PeriodicReport:
    """What catching a report up needs: its spec, its job's name and its periods."""

    spec: ReportSpec
    job_name: str
    partitions_def: TimeWindowPartitionsDefinition


@dataclass(frozen=True)
class CatchUp:
    """An evaluation's runs to request, the cursor for the next one, and warnings to log."""

    requests: list[RunRequest]
    cursor: Cursor
    warnings: list[str]


def catch_up(
    instance: DagsterInstance,
    reports: Sequence[PeriodicReport],
    cursor: Cursor,
    now: datetime,
    max_catchup_periods: int,
    budget_seconds: float = _BUDGET_SECONDS,
) -> CatchUp:
    """The missed runs of ``reports`` (sorted by name) since ``cursor``, within the budget.

    Reads the schedule states once, and only if some report has a tick since the last check;
    then, for each such report, its newest runs (one query by job name) and one query for each
    period looked at that is not among them (in normal operation, none)."""
    began = time.monotonic()
    horizon = cursor.horizon if cursor.horizon is not None else (now - SETTLING).timestamp()
    checked_until = _utc(cursor.checked_until)
    due_since = _TicksSince(cursor.checked_until, now.timestamp()) if checked_until else None
    states = None
    requests: list[RunRequest] = []
    warnings: list[str] = []
    unfinished: str | None = None
    deferred = 0
    for report in reports:
        spec = report.spec
        if cursor.done_through is not None and spec.name <= cursor.done_through:
            continue  # done by the evaluation that ran out of time
        schedule = spec.schedule
        if due_since and not due_since(schedule_cron(schedule), schedule.timezone or "UTC"):
            continue  # no tick since the last check: nothing can have been missed
        if states is None:
            states = {
                state.instigator_name: state
                for state in instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE)
            }
        state = states.get(schedule_name(spec.name))
        start = getattr(state.instigator_data, "start_timestamp", None) if state else None
        if state is not None and state.is_running and start is not None:
            missed = missed_runs(
                schedule,
                report.partitions_def,
                since=datetime.fromtimestamp(start, timezone.utc),
                now=now,
                horizon=_utc(horizon),
                checked_until=checked_until,
                already_run=_PeriodsRun(instance, report.job_name),
                limit=max_catchup_periods,
            )
            deferred += missed.deferred
            if missed.left_out:
                warnings.append(
                    f"{spec.name}: {missed.left_out} older missed periods are not caught up "
                    f"(policy.max_catchup_periods is {max_catchup_periods}); backfill them"
                )
            for due in missed.runs:
                request = run_request(due, partitioned=True, tags={CATCH_UP_TAG: "true"})
                requests.append(
                    request.with_replaced_attrs(
                        job_name=report.job_name, run_key=f"{spec.name}:{due.period.key}"
                    )
                )
        if time.monotonic() - began > budget_seconds:
            unfinished = spec.name
            break
    if unfinished is not None and unfinished != reports[-1].spec.name:
        next_cursor = Cursor(cursor.checked_until, horizon, done_through=unfinished)
    else:
        # Everything up to now was settled and checked, unless a tick was left for later (then
        # up to the horizon, so the next window holds it again) or the pass took several
        # evaluations (which did not count what they left). Never back.
        done = now.timestamp() if not deferred and cursor.horizon is None else horizon
        next_cursor = Cursor(checked_until=max(done, cursor.checked_until or done))
    return CatchUp(requests, next_cursor, warnings)


def build_catch_up_sensor(
    reports: Sequence[tuple[ReportSpec, JobDefinition]],
    max_catchup_periods: int,
    budget_seconds: float = _BUDGET_SECONDS,
) -> SensorDefinition:
    """One sensor for every periodic report (one-off reports are the scheduler's alone).

    ``budget_seconds``: time an evaluation spends before leaving the rest to the next one
    (at least one report is always done)."""
    periodic = sorted(
        (
            PeriodicReport(spec, job.name, job.partitions_def)
            for spec, job in reports
            if isinstance(job.partitions_def, TimeWindowPartitionsDefinition)
        ),
        key=lambda report: report.spec.name,
    )
    jobs = [
        job for _, job in reports if isinstance(job.partitions_def, TimeWindowPartitionsDefinition)
    ]

    @sensor(
        name=CATCH_UP_SENSOR_NAME,
        jobs=jobs,
        minimum_interval_seconds=_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description="Runs every period missed while the daemon was down, once, oldest first "
        f"(at most {max_catchup_periods} per report).",
    )
    def report_catch_up(context: SensorEvaluationContext):
        result = catch_up(
            context.instance,
            periodic,
            Cursor.parse(context.cursor),
            datetime.now(timezone.utc),
            max_catchup_periods,
            budget_seconds,
        )
        for warning in result.warnings:
            context.log.warning(warning)
        if result.requests:
            context.log.info(
                "catching up "
                + ", ".join(f"{r.job_name} {r.run_key.split(':', 1)[1]}" for r in result.requests)
            )
        return SensorResult(
            run_requests=result.requests,
            skip_reason=None if result.requests else "no missed periods",
            cursor=result.cursor.dump(),
        )

    return report_catch_up
