"""The catch-up sensor: runs every period that was missed while the daemon was down.

Dagster does not catch missed ticks up (dagster.yaml keeps ``max_catchup_runs: 1``), so after
downtime this sensor requests each missed period of each running report once (its run key is
``report:period``, and Dagster never launches a sensor's run key twice), oldest first, up to
``policy.max_catchup_periods`` per report. A paused schedule is not caught up, and resuming it
starts from the moment it was resumed: the paused interval is only run by a backfill.
"""

from collections.abc import Sequence
from datetime import datetime, timezone

from dagster import (
    DagsterInstance,
    DefaultSensorStatus,
    JobDefinition,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

from reports_pipeline.scheduling.due import DueRun
from reports_pipeline.scheduling.missed import missed_runs
from reports_pipeline.scheduling.report_schedule import schedule_name
from reports_pipeline.scheduling.run_requests import run_request
from reports_pipeline.spec.report import ReportSpec

CATCH_UP_SENSOR_NAME = "report_catch_up"
CATCH_UP_TAG = "reports/catch_up"
_INTERVAL_SECONDS = 60
# Recent runs of a report looked at to tell which periods already ran.
_RECENT_RUNS = 1000


def _periods_with_runs(instance: DagsterInstance, job: JobDefinition) -> set[str]:
    """Period keys that have a run of ``job`` (any status: a failed run is not a missed one)."""
    keys: set[str] = set()
    for run in instance.get_runs(RunsFilter(job_name=job.name), limit=_RECENT_RUNS):
        if PARTITION_NAME_TAG in run.tags:
            keys.add(run.tags[PARTITION_NAME_TAG])
        elif ASSET_PARTITION_RANGE_START_TAG in run.tags:
            first = run.tags[ASSET_PARTITION_RANGE_START_TAG]
            last = run.tags.get(ASSET_PARTITION_RANGE_END_TAG, first)
            keys.add(f"{first}..{last}")
    return keys


def _covered(due: DueRun, keys: set[str]) -> bool:
    return due.period.key in keys or (due.first.key == due.last.key and due.first.key in keys)


def build_catch_up_sensor(
    reports: Sequence[tuple[ReportSpec, JobDefinition]], max_catchup_periods: int
) -> SensorDefinition:
    """One sensor for every periodic report (one-off reports are the scheduler's alone)."""
    periodic = [(spec, job) for spec, job in reports if job.partitions_def is not None]

    @sensor(
        name=CATCH_UP_SENSOR_NAME,
        jobs=[job for _, job in periodic],
        minimum_interval_seconds=_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description="Runs every period missed while the daemon was down, once, oldest first "
        f"(at most {max_catchup_periods} per report).",
    )
    def report_catch_up(context: SensorEvaluationContext):
        states = {
            state.instigator_name: state
            for state in context.instance.all_instigator_state(
                instigator_type=InstigatorType.SCHEDULE
            )
        }
        now = datetime.now(timezone.utc)
        requests: list[RunRequest] = []
        for spec, job in periodic:
            state = states.get(schedule_name(spec.name))
            start = getattr(state.instigator_data, "start_timestamp", None) if state else None
            if state is None or not state.is_running or start is None:
                continue  # never started, or paused: nothing to catch up
            done = _periods_with_runs(context.instance, job)
            missed = missed_runs(
                spec.schedule,
                job.partitions_def,
                since=datetime.fromtimestamp(start, timezone.utc),
                now=now,
                already_run=lambda due, done=done: _covered(due, done),
                limit=max_catchup_periods,
            )
            if missed.left_out:
                context.log.warning(
                    f"{spec.name}: {missed.left_out} older missed periods are not caught up "
                    f"(policy.max_catchup_periods is {max_catchup_periods}); backfill them"
                )
            for due in missed.runs:
                request = run_request(due, partitioned=True, tags={CATCH_UP_TAG: "true"})
                requests.append(
                    request.with_replaced_attrs(
                        job_name=job.name, run_key=f"{spec.name}:{due.period.key}"
                    )
                )
        if not requests:
            return SkipReason("no missed periods")
        context.log.info(
            "catching up "
            + ", ".join(f"{r.job_name} {r.run_key.split(':', 1)[1]}" for r in requests)
        )
        return requests

    return report_catch_up
