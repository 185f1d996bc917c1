"""Every report's health, read from the Dagster instance: for ``reports status`` and the
late-notice sensor.

One query of a report's recent runs (at most ``RECENT_RUNS``), one of the schedule states and
one count of queued runs: the cost grows with the number of reports, never with their history.
The late-notice sensor, which asks every five minutes, needs only lateness: ``reports_lateness``
proves most reports on time with one query per day of due ticks, and reads the recent runs of
the others only.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.scheduler.instigation import InstigatorStatus, InstigatorType

from reports_pipeline.health import (
    MIN_GRACE,
    ReportHealth,
    RunFact,
    covers,
    latest_due,
    report_health,
)
from reports_pipeline.jobs.report_job import REPORT_TAG
from reports_pipeline.run_history import period_of_tags
from reports_pipeline.scheduling.cadence import partitions_definition
from reports_pipeline.scheduling.report_schedule import schedule_name
from reports_pipeline.spec.report import ReportSpec

# Enough for the latest periods, a retry or two and the typical run time of a minutely report.
RECENT_RUNS = 50
# dagster-webserver's defaults for its held connection.
_STATEMENT_TIMEOUT_MS = 15_000
_POOL_RECYCLE_SECONDS = 3600
_POOL_MAX_OVERFLOW = 20


@dataclass(frozen=True)
class ScheduleState:
    running: bool | None  # None: never started or stopped by hand, the file's `enabled` holds
    since: datetime | None  # when it last started running, if the instance knows


def _utc(timestamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, timezone.utc) if timestamp is not None else None


def _fact(record) -> RunFact:
    return RunFact(
        run_id=record.dagster_run.run_id,
        status=record.dagster_run.status.value,
        period=period_of_tags(record.dagster_run.tags),
        created=record.create_timestamp.astimezone(timezone.utc),
        started=_utc(record.start_time),
        ended=_utc(record.end_time),
    )


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
    return [_fact(record) for record in records]


def recent_runs(instance: DagsterInstance, name: str, limit: int = RECENT_RUNS) -> list[RunFact]:
    """The report's last ``limit`` runs."""
    return report_runs(instance, name, limit=limit)


def hold_connection(instance: DagsterInstance) -> None:
    """Keep the instance's database connection open between queries, for a command that makes
    one query per report.

    Dagster's PostgreSQL storage opens a new connection for every query so that an idle
    instance holds none; at one query per report the connections were two thirds of `reports
    status` (1,000 reports: 9.8 s, 3.1 s with one held connection). This is what
    dagster-webserver does for itself, with its default settings; SQLite is unaffected."""
    instance.optimize_for_webserver(
        statement_timeout=_STATEMENT_TIMEOUT_MS,
        pool_recycle=_POOL_RECYCLE_SECONDS,
        max_overflow=_POOL_MAX_OVERFLOW,
    )


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


def _schedule_running(
    spec: ReportSpec, states: dict[str, ScheduleState], now: datetime
) -> tuple[bool, datetime | None]:
    """Whether the report's schedule runs, and since when (for lateness)."""
    # A schedule the daemon has not seen yet (a report just deployed, or the daemon not yet
    # started) ran nothing before now: no period due before now is late.
    state = states.get(schedule_name(spec.name), ScheduleState(None, now))
    running = spec.enabled if state.running is None else state.running
    return running, state.since if running else None


def reports_health(
    instance: DagsterInstance,
    specs: Sequence[ReportSpec],
    now: datetime,
    ahead: timedelta = timedelta(hours=1),
) -> list[ReportHealth]:
    """Each report's health at ``now``, by name."""
    states = schedule_states(instance)
    return [_health(instance, spec, states, now, ahead) for spec in sorted(specs, key=_name)]


def _name(spec: ReportSpec) -> str:
    return spec.name


def _health(instance, spec, states, now, ahead=timedelta(hours=1)) -> ReportHealth:
    running, since = _schedule_running(spec, states, now)
    return report_health(
        spec,
        partitions_definition(spec.schedule, today=now.date()),
        recent_runs(instance, spec.name),
        now=now,
        schedule_running=running,
        running_since=since,
        ahead=ahead,
    )


# Report names per query of runs: within SQLite's limit of bound values, and a short IN list.
_NAMES_PER_QUERY = 500


def reports_lateness(
    instance: DagsterInstance, specs: Sequence[ReportSpec], now: datetime
) -> list[ReportHealth]:
    """Each report's lateness at ``now``, as ``reports_health`` decides it, in few queries.

    A report is on time without reading its runs when its schedule is stopped, nothing is due,
    the due tick is within the shortest grace, or a successful run covering the due periods
    was updated after the earliest due tick of its day; those come from one query per day of
    due ticks. Only the rest, late or about to be, get their recent runs read and the full health.
    On-time reports get a health with their name and schedule state only.
    """
    states = schedule_states(instance)
    on_time: dict[str, ReportHealth] = {}
    suspects: dict[str, tuple[ReportSpec, datetime, object, bool]] = {}
    for spec in specs:
        running, since = _schedule_running(spec, states, now)
        partitions_def = partitions_definition(spec.schedule, today=now.date())
        found = latest_due(spec, partitions_def, now) if running else None
        if found is None or (since is not None and found[0] < since) or now <= found[0] + MIN_GRACE:
            on_time[spec.name] = ReportHealth(name=spec.name, schedule_running=running)
        else:
            tick, due = found
            suspects[spec.name] = (spec, tick, due, partitions_def is not None)
    by_day: dict[object, list[str]] = {}
    for name, (_, tick, _, _) in suspects.items():
        by_day.setdefault(tick.date(), []).append(name)
    for names in by_day.values():
        for start in range(0, len(names), _NAMES_PER_QUERY):
            chunk = names[start : start + _NAMES_PER_QUERY]
            since = min(suspects[name][1] for name in chunk)
            records = instance.get_run_records(
                RunsFilter(
                    tags={REPORT_TAG: chunk},
                    statuses=[DagsterRunStatus.SUCCESS],
                    updated_after=since,
                )
            )
            for record in records:
                name = record.dagster_run.tags.get(REPORT_TAG)
                if name not in suspects or record.dagster_run.job_name != name:
                    continue
                _, _, due, periodic = suspects[name]
                if covers(_fact(record), due, periodic):
                    on_time[name] = ReportHealth(name=name, schedule_running=True)
    healths = list(on_time.values()) + [
        _health(instance, spec, states, now)
        for name, (spec, _, _, _) in suspects.items()
        if name not in on_time
    ]
    return sorted(healths, key=lambda health: health.name)
