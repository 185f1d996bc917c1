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
from reports_pipeline.sensors.catch_up import (
    CATCH_UP_SENSOR_NAME,
    SETTLING,
    Cursor,
    build_catch_up_sensor,
)
from reports_pipeline.spec.loader import load_project
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report

HOURLY = {"every": "hour", "at": "00:00", "timezone": "UTC"}


def build(tmp_path, max_catchup_periods=7, names=("test_report",)):
    for name in names:
        write_report(tmp_path / "reports", report_dict(name=name, schedule=HOURLY))
    connections = write_connections(
        tmp_path, {"policy": {"max_catchup_periods": max_catchup_periods}}
    )
    return build_definitions([tmp_path / "reports"], connections)


def set_schedule_state(
    instance, status: InstigatorStatus, started: datetime, report: str = "test_report"
) -> None:
    origin = RemoteInstigatorOrigin(
        repository_origin=RemoteRepositoryOrigin(
            code_location_origin=InProcessCodeLocationOrigin(
                LoadableTargetOrigin(module_name="reports_pipeline.definitions")
            ),
            repository_name="__repository__",
        ),
        instigator_name=f"{report}_schedule",
    )
    instance.add_instigator_state(
        InstigatorState(
            origin,
            InstigatorType.SCHEDULE,
            status,
            ScheduleInstigatorData("0 * * * *", started.timestamp()),
        )
    )


def add_run(instance, partition: str, report: str = "test_report") -> None:
    instance.add_run(
        DagsterRun(
            job_name=report,
            run_id=str(uuid.uuid4()),
            status=DagsterRunStatus.SUCCESS,
            tags={"dagster/partition": partition},
        )
    )


def hour_key(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d-%H:00")


def evaluate(defs, instance, cursor=None, sensor=None):
    sensor = sensor or defs.resolve_sensor_def(CATCH_UP_SENSOR_NAME)
    context = build_sensor_context(
        instance=instance, repository_def=defs.get_repository_def(), cursor=cursor
    )
    return sensor.evaluate_tick(context)


def checked_until(moment: datetime) -> str:
    return Cursor(checked_until=moment.timestamp()).dump()


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


def test_a_later_evaluation_looks_only_at_ticks_since_the_last_check(tmp_path, instance):
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    set_schedule_state(instance, InstigatorStatus.RUNNING, now - timedelta(hours=10))
    for hours in (10, 9, 8, 7, 6, 5, 1):
        add_run(instance, hour_key(now - timedelta(hours=hours + 1)))
    # Periods of the ticks 4, 3 and 2 hours ago have no run. The last check ended between the
    # ticks 3 and 2 hours ago: the tick 4 hours ago was checked then (and is not asked again);
    # the tick 3 hours ago was the scheduler's latest at that moment, so it is checked now.
    result = evaluate(
        build(tmp_path), instance, cursor=checked_until(now - timedelta(hours=2, minutes=30))
    )
    assert [r.partition_key for r in result.run_requests] == [
        hour_key(now - timedelta(hours=h + 1)) for h in (3, 2)
    ]
    # The next evaluation starts where this one checked to: now, as every tick was settled.
    cursor = Cursor.parse(result.cursor)
    assert abs(cursor.checked_until - datetime.now(timezone.utc).timestamp()) < 60
    assert cursor.done_through is None


def test_no_tick_since_the_last_check_means_nothing_is_looked_at(tmp_path, instance):
    now = datetime.now(timezone.utc)
    latest_tick = now.replace(minute=0, second=0, microsecond=0)
    set_schedule_state(instance, InstigatorStatus.RUNNING, now - timedelta(hours=10))
    # No period has a run at all, yet nothing is requested: every tick up to the latest one
    # (the scheduler's) was checked before, and no tick came since.
    cursor = checked_until(latest_tick + timedelta(seconds=1))
    result = evaluate(build(tmp_path), instance, cursor=cursor)
    assert result.run_requests == []
    assert result.skip_message == "no missed periods"
    # The check never goes back, even when the settling time reaches before the last check.
    assert Cursor.parse(result.cursor).checked_until >= Cursor.parse(cursor).checked_until


def test_a_tick_not_yet_settled_is_left_for_a_later_evaluation(tmp_path, instance):
    latest_tick = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    set_schedule_state(instance, InstigatorStatus.RUNNING, latest_tick - timedelta(hours=10))
    for hours in range(3, 12):
        add_run(instance, hour_key(latest_tick - timedelta(hours=hours)))
    # Only the period of the tick an hour ago has no run. A pass that settled ticks up to 90
    # minutes ago leaves it: the scheduler may still be creating its run.
    defs = build(tmp_path)
    horizon = latest_tick - timedelta(hours=1, minutes=30)
    in_progress = Cursor(
        checked_until=(latest_tick - timedelta(hours=3)).timestamp(), horizon=horizon.timestamp()
    )
    result = evaluate(defs, instance, cursor=in_progress.dump())
    assert result.run_requests == []
    assert Cursor.parse(result.cursor) == Cursor(checked_until=horizon.timestamp())
    # Settled now (older than SETTLING) and still without a run: it was missed.
    assert latest_tick - timedelta(hours=1) < datetime.now(timezone.utc) - SETTLING
    later = evaluate(defs, instance, cursor=result.cursor)
    assert [r.partition_key for r in later.run_requests] == [
        hour_key(latest_tick - timedelta(hours=2))
    ]


def test_an_evaluation_out_of_time_goes_on_from_where_it_stopped(tmp_path, instance):
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    names = ("report_a", "report_b", "report_c")
    defs = build(tmp_path, names=names)
    for name in names:
        set_schedule_state(
            instance, InstigatorStatus.RUNNING, now - timedelta(hours=2, minutes=30), name
        )
    reports = _reports_of(tmp_path, defs)
    # No time at all: each evaluation does one report, and the cursor says which.
    sensor = build_catch_up_sensor(reports, max_catchup_periods=7, budget_seconds=0)
    requested, cursor = [], None
    for _ in names:
        result = evaluate(defs, instance, cursor=cursor, sensor=sensor)
        requested.append({r.job_name for r in result.run_requests})
        for request in result.run_requests:  # launched, as the daemon would
            add_run(instance, request.partition_key, request.job_name)
        cursor = result.cursor
    # The ticks 2 hours and 1 hour ago of each report, one report per evaluation.
    assert requested == [{"report_a"}, {"report_b"}, {"report_c"}]
    finished = Cursor.parse(cursor)
    assert finished.done_through is None and finished.horizon is None
    # The pass kept the horizon it started with, and the next one checks from there.
    assert finished.checked_until is not None
    assert evaluate(defs, instance, cursor=cursor, sensor=sensor).run_requests == []


def _reports_of(tmp_path, defs):
    """The (report, job) pairs the catch-up sensor of ``defs`` was built from."""
    project = load_project([tmp_path / "reports"], tmp_path / "connections.yaml")
    return [(r.spec, defs.resolve_job_def(r.spec.name)) for r in project.reports]


def test_a_period_run_before_the_jobs_newest_runs_is_still_found(tmp_path, instance):
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    set_schedule_state(instance, InstigatorStatus.RUNNING, now - timedelta(hours=3, minutes=30))
    for hours in (4, 3, 2):
        add_run(instance, hour_key(now - timedelta(hours=hours)))
    # Then 25 runs of a month-old period (a backfill re-run, say): the periods above are no
    # longer among the job's 20 newest runs, and are looked up one by one.
    for _ in range(25):
        add_run(instance, hour_key(now - timedelta(days=30)))
    assert evaluate(build(tmp_path), instance).run_requests == []
