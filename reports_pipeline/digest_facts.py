"""What the digest says about each report, read from the Dagster instance.

Per report: the runs that finished in the window (one query), the failed ones' root causes,
its health and next runs (``deployment_health``, the same answer as ``reports status``), the
periods that were late in the window, and the size of its last stored file (the ``persist``
step's metadata of its latest successful run).
"""

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from dagster import DagsterInstance

from reports_pipeline.deployment_health import (
    ScheduleState,
    recent_runs,
    report_runs,
    reports_health,
    schedule_states,
)
from reports_pipeline.digest import DigestReport, DigestRun, LateTick, StoredSize
from reports_pipeline.health import RunFact, covers, grace_period
from reports_pipeline.run_history import failure_lines, step_outcomes
from reports_pipeline.scheduling.cadence import partitions_definition
from reports_pipeline.scheduling.due import DueRun, TickWalk, due_at
from reports_pipeline.scheduling.report_schedule import schedule_name
from reports_pipeline.spec.report import ReportSpec, Schedule

# A week of an hourly report is 168 ticks; a report that runs more often shows its latest
# late periods only, and its runs beyond this many are not read.
MAX_TICKS_IN_WINDOW = 400
MAX_RUNS_IN_WINDOW = 1000
# Successful runs looked at for a stored file: a re-execution that did not run `persist` again
# has none of its own.
_RUNS_FOR_FILE = 5
_RESULTS = {"SUCCESS": "success", "FAILURE": "failure", "CANCELED": "canceled"}


def cadence_text(schedule: Schedule) -> str:
    """``every week on monday at 08:00 (America/New_York)``, as an owner would say it."""
    zone = schedule.timezone or "UTC"
    if schedule.every == "cron":
        text = f"cron {schedule.cron}"
    elif schedule.every == "once":
        text = f"once at {schedule.run_at:%Y-%m-%d %H:%M}"
    elif schedule.every == "hour":
        text = f"every hour at minute {schedule.clock.minute:02d}"
    else:
        on = ""
        if schedule.every == "week":
            on = f" on {schedule.on}"
        elif schedule.every in ("month", "quarter"):
            on = " on the last day" if schedule.on == "last" else f" on day {schedule.on}"
        text = f"every {schedule.every}{on} at {schedule.clock:%H:%M}"
    if schedule.skip:
        calendar = f" ({schedule.holiday_calendar})" if schedule.holiday_calendar else ""
        text += f", skipping {' and '.join(schedule.skip)}{calendar}"
    return f"{text} ({zone})"


def runs_updated_since(instance: DagsterInstance, name: str, since: datetime) -> list[RunFact]:
    """The report's runs updated since ``since`` (every run that finished after it)."""
    return report_runs(instance, name, limit=MAX_RUNS_IN_WINDOW, updated_after=since)


def first_run_created(instance: DagsterInstance, name: str) -> datetime | None:
    """When the report's first run was created: it is deployed from then on."""
    first = report_runs(instance, name, limit=1, ascending=True)
    return first[0].created if first else None


def late_in_window(
    spec: ReportSpec,
    runs: list[RunFact],
    *,
    since: datetime,
    until: datetime,
    deployed_since: datetime | None,
) -> list[LateTick]:
    """The periods due in the window that had no successful run within their grace: each
    with when a successful run did finish, if one did. Only ticks after ``deployed_since``
    count (the schedule's start, else the first run): a report deployed on Friday was not
    late all week. Nothing before it: the report's current late period is the health's."""
    if deployed_since is None:
        return []
    partitions_def = partitions_definition(spec.schedule, today=until.date())
    grace = grace_period(runs)
    start = max(since, deployed_since)
    late = []
    for tick in TickWalk(spec.schedule, until, limit=MAX_TICKS_IN_WINDOW):
        if tick < start:
            break
        due = due_at(spec.schedule, partitions_def, tick)
        if not isinstance(due, DueRun) or tick + grace > until:
            continue  # not due, or its grace has not passed yet
        delivered = [
            run.ended
            for run in runs
            if run.status == "SUCCESS"
            and run.ended is not None
            and covers(run, due, partitions_def is not None)
        ]
        first = min(delivered, default=None)
        if first is None or first > tick + grace:
            late.append(LateTick(due.period.key, tick, first))
    return sorted(late, key=lambda t: t.due)


def last_stored_size(instance: DagsterInstance, name: str) -> StoredSize | None:
    """Rows and bytes of the newest file a successful run stored."""
    succeeded = [run for run in recent_runs(instance, name) if run.status == "SUCCESS"]
    for run in sorted(succeeded, key=lambda r: r.created, reverse=True)[:_RUNS_FOR_FILE]:
        for outcome in step_outcomes(instance, run.run_id):
            if outcome.step == "persist" and "bytes" in outcome.metadata:
                metadata = outcome.metadata
                return StoredSize(
                    period=metadata.get("period") or run.period,
                    rows=metadata.get("rows"),
                    size_bytes=metadata.get("bytes"),
                )
    return None


def digest_reports(
    instance: DagsterInstance,
    specs: Sequence[ReportSpec],
    *,
    since: datetime,
    until: datetime,
    ahead: timedelta,
    scrub: Callable[[str], str] = lambda text: text,
) -> list[DigestReport]:
    """Every report's part of the digest for the window ``since`` to ``until``, with its
    runs in the ``ahead`` after ``until``; ``scrub`` masks secrets in failures' causes."""
    states = schedule_states(instance)
    health = {h.name: h for h in reports_health(instance, specs, until, ahead=ahead)}
    found = []
    for spec in sorted(specs, key=lambda s: s.name):
        report = health[spec.name]
        runs = runs_updated_since(instance, spec.name, since)
        finished = [
            run for run in runs if run.status in _RESULTS and run.ended and since <= run.ended
        ]
        state = states.get(schedule_name(spec.name), ScheduleState(None, None))
        late = []
        if report.schedule_running:
            deployed = state.since or first_run_created(instance, spec.name)
            late = late_in_window(spec, runs, since=since, until=until, deployed_since=deployed)
            now_late = report.late
            if now_late and now_late.period not in {tick.period for tick in late}:
                late.append(LateTick(now_late.period, now_late.due))
        found.append(
            DigestReport(
                name=spec.name,
                title=spec.display_title,
                owner=str(spec.owner),
                cadence=cadence_text(spec.schedule),
                state=report.state,
                health="failing" if report.failing else "late" if report.late else "ok",
                runs=tuple(
                    DigestRun(
                        run_id=run.run_id,
                        period=run.period,
                        status=_RESULTS[run.status],
                        finished_at=run.ended,
                        causes=tuple(map(scrub, failure_lines(instance, run.run_id)))
                        if run.status == "FAILURE"
                        else (),
                    )
                    for run in finished
                    if run.ended <= until
                ),
                late=tuple(sorted(late, key=lambda tick: tick.due)),
                last_file=last_stored_size(instance, spec.name),
                next_runs=tuple(report.next_runs),
            )
        )
    return found
