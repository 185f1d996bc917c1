"""The catch-up sensor evaluated against a real Dagster instance with schedule states and runs."""

import uuid
from datetime import datetime, timedelta, timezone

from dagster import DagsterRun, DagsterRunStatus, build_sensor_context
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.remote_origin import (
    InProcessCodeLocationOrigin,
    RemoteInstigatorOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    ScheduleInstigatorData,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from reports_pipeline.definitions import build_definitions
from reports_pipeline.sensors.catch_up import CATCH_UP_SENSOR_NAME
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report

HOURLY = {"every": "hour", "at": "00:00", "timezone": "UTC"}


def build(tmp_path, max_catchup_periods=7):
    write_report(tmp_path / "reports", report_dict(schedule=HOURLY))
    connections = write_connections(
        tmp_path, {"policy": {"max_catchup_periods": max_catchup_periods}}
    )
    return build_definitions([tmp_path / "reports"], connections)


def set_schedule_state(instance, status: InstigatorStatus, started: datetime) -> None:
    origin = RemoteInstigatorOrigin(
        repository_origin=RemoteRepositoryOrigin(
            code_location_origin=InProcessCodeLocationOrigin(
                LoadableTargetOrigin(module_name="reports_pipeline.definitions")
            ),
            repository_name="__repository__",
        ),
        instigator_name="test_report_schedule",
    )
    instance.add_instigator_state(
        InstigatorState(
            origin,
            InstigatorType.SCHEDULE,
            status,
            ScheduleInstigatorData("0 * * * *", started.timestamp()),
        )
    )


def add_run(instance, partition: str) -> None:
    instance.add_run(
        DagsterRun(
            job_name="test_report",
            run_id=str(uuid.uuid4()),
            status=DagsterRunStatus.SUCCESS,
            tags={"dagster/partition": partition},
        )
    )


def hour_key(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d-%H:00")


def evaluate(defs, instance):
    sensor = defs.resolve_sensor_def(CATCH_UP_SENSOR_NAME)
    context = build_sensor_context(instance=instance, repository_def=defs.get_repository_def())
    return sensor.evaluate_tick(context)


def test_missed_hours_are_requested_once_each_oldest_first_and_tagged(tmp_path, instance):
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    set_schedule_state(
        instance, InstigatorStatus.DECLARED_IN_CODE, now - timedelta(hours=4, minutes=30)
    )
    # Ticks at now-4h, -3h, -2h, -1h, now. The tick 4 hours ago ran; the latest is the
    # scheduler's own. The three in between were missed.
    add_run(instance, hour_key(now - timedelta(hours=5)))
    result = evaluate(build(tmp_path), instance)
    wanted = [hour_key(now - timedelta(hours=h)) for h in (4, 3, 2)]
    assert [r.partition_key for r in result.run_requests] == wanted
    assert [r.run_key for r in result.run_requests] == [f"test_report:{key}" for key in wanted]
    assert all(r.tags["reports/catch_up"] == "true" for r in result.run_requests)
    assert all(r.job_name == "test_report" for r in result.run_requests)


def test_nothing_is_requested_for_a_paused_schedule(tmp_path, instance):
    now = datetime.now(timezone.utc)
    set_schedule_state(instance, InstigatorStatus.STOPPED, now - timedelta(hours=5))
    result = evaluate(build(tmp_path), instance)
    assert result.run_requests == []
    assert result.skip_message == "no missed periods"


def test_resuming_does_not_replay_the_paused_interval(tmp_path, instance):
    now = datetime.now(timezone.utc)
    # Running again since 20 minutes ago (resumed); hours before that were paused, not missed.
    set_schedule_state(instance, InstigatorStatus.RUNNING, now - timedelta(minutes=20))
    assert evaluate(build(tmp_path), instance).run_requests == []


def test_limit_per_report_keeps_the_most_recent_missed_periods(tmp_path, instance):
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    set_schedule_state(instance, InstigatorStatus.RUNNING, now - timedelta(hours=10, minutes=30))
    result = evaluate(build(tmp_path, max_catchup_periods=2), instance)
    assert [r.partition_key for r in result.run_requests] == [
        hour_key(now - timedelta(hours=3)),
        hour_key(now - timedelta(hours=2)),
    ]


def test_periods_already_run_by_a_backfill_are_not_requested(tmp_path, instance):
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    set_schedule_state(instance, InstigatorStatus.RUNNING, now - timedelta(hours=3, minutes=30))
    for hours in (4, 3, 2):
        add_run(instance, hour_key(now - timedelta(hours=hours)))
    assert evaluate(build(tmp_path), instance).run_requests == []
