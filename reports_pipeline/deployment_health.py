"""Every report's health, read from the Dagster instance: for ``reports status`` and the
late-notice sensor.

One query of a report's recent runs (at most ``RECENT_RUNS``), one of the schedule states and
one count of queued runs: the cost grows with the number of reports, never with their history.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.scheduler.instigation import InstigatorStatus, InstigatorType

from reports_pipeline.health import ReportHealth, RunFact, report_health
from reports_pipeline.jobs.report_job import REPORT_TAG
from reports_pipeline.run_history import period_of_tags
from reports_pipeline.scheduling.cadence import partitions_definition
from reports_pipeline.scheduling.report_schedule import schedule_name
from reports_pipeline.spec.report import ReportSpec

# Enough for the latest periods, a retry or two and the typical run time of a minutely report.
RECENT_RUNS = 50


@dataclass(frozen=True)
class ScheduleState:
    running: bool | None  # None: never started or stopped by hand, the file's `enabled` holds
    since: datetime | None  # when it last started running, if the instance knows


def _utc(timestamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, timezone.utc) if timestamp is not None else None


def report_runs(
    instance: DagsterInstance,
    name: str,
    *,
    limit: int,
    updated_after: datetime | None = None,
    ascending: bool = False,
) -> list[RunFact]:
    """The report's runs (its job name and report tag: another code location's job of the same
    name is not this report), newest first unless ``ascending``; at most ``limit``, those
    updated after ``updated_after`` if given."""
    records = instance.get_run_records(
        RunsFilter(job_name=name, tags={REPORT_TAG: name}, updated_after=updated_after),
        limit=limit,
        ascending=ascending,
    )
    return [
        RunFact(
            run_id=record.dagster_run.run_id,
            status=record.dagster_run.status.value,
            period=period_of_tags(record.dagster_run.tags),
            created=record.create_timestamp.astimezone(timezone.utc),
            started=_utc(record.start_time),
            ended=_utc(record.end_time),
        )
        for record in records
    ]


def recent_runs(instance: DagsterInstance, name: str, limit: int = RECENT_RUNS) -> list[RunFact]:
    """The report's last ``limit`` runs."""
    return report_runs(instance, name, limit=limit)


def schedule_states(instance: DagsterInstance) -> dict[str, ScheduleState]:
    """The instance's schedule states by name; schedules it has never seen are absent."""
    states = {}
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE):
        running = (
            None
            if state.status == InstigatorStatus.DECLARED_IN_CODE
            else state.status == InstigatorStatus.RUNNING
        )
        start = getattr(state.instigator_data, "start_timestamp", None)
        states[state.name] = ScheduleState(running, _utc(start))
    return states


def queue_length(instance: DagsterInstance) -> int:
    """Runs waiting in the run queue, of any job."""
    return instance.get_runs_count(RunsFilter(statuses=[DagsterRunStatus.QUEUED]))


def reports_health(
    instance: DagsterInstance,
    specs: Sequence[ReportSpec],
    now: datetime,
    ahead: timedelta = timedelta(hours=1),
) -> list[ReportHealth]:
    """Each report's health at ``now``, by name."""
    states = schedule_states(instance)
    health = []
    for spec in sorted(specs, key=lambda s: s.name):
        # A schedule the daemon has not seen yet (a report just deployed, or the daemon not yet
        # started) ran nothing before now: no period due before now is late.
        state = states.get(schedule_name(spec.name), ScheduleState(None, now))
        running = spec.enabled if state.running is None else state.running
        health.append(
            report_health(
                spec,
                partitions_definition(spec.schedule, today=now.date()),
                recent_runs(instance, spec.name),
                now=now,
                schedule_running=running,
                running_since=state.since if running else None,
                ahead=ahead,
            )
        )
    return health
