"""A late report shows on its asset page: the check ``report_delivered_on_time`` fails while
its period is late and passes again once it is delivered, recorded only when that changes."""

from datetime import timedelta

from dagster import AssetCheckEvaluation, build_sensor_context

from reports_pipeline.lateness_check import LATE_CHECK_NAME, late_check_key
from reports_pipeline.sensors.late_notice import LATE_SENSOR_NAME
from reports_pipeline_tests.sensors.test_late_notice import DUE_PERIOD, PAST_TICK, project
from reports_pipeline_tests.test_cli import schedules_running_since


def tick(defs, instance) -> list[AssetCheckEvaluation]:
    """One tick of the late-notice sensor; its check results recorded as the daemon does."""
    schedules_running_since(instance, defs, PAST_TICK - timedelta(days=7))
    context = build_sensor_context(instance=instance, repository_def=defs.get_repository_def())
    result = defs.resolve_sensor_def(LATE_SENSOR_NAME).evaluate_tick(context)
    for event in result.asset_events:
        instance.report_runless_asset_event(event)
    return result.asset_events


def latest(instance, report: str) -> AssetCheckEvaluation:
    key = late_check_key(report)
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
    return record.event.dagster_event.event_specific_data


def test_each_report_asset_declares_the_check(tmp_path, smtp_server):
    repository = project(tmp_path, smtp_server, "overdue", "other").get_repository_def()
    assert repository.asset_graph.asset_check_keys == {
        late_check_key("overdue"),
        late_check_key("other"),
    }


def test_the_check_fails_while_late_and_passes_once_delivered(
    tmp_path, sqlite_instance, smtp_server
):
    defs = project(tmp_path, smtp_server, "overdue")
    (failed,) = tick(defs, sqlite_instance)
    assert (failed.asset_key.path, failed.check_name) == (["reports", "overdue"], LATE_CHECK_NAME)
    assert not latest(sqlite_instance, "overdue").passed
    assert latest(sqlite_instance, "overdue").metadata["late period"].value == DUE_PERIOD
    assert tick(defs, sqlite_instance) == []  # still late for the same period: nothing new

    delivered = defs.resolve_job_def("overdue").execute_in_process(
        partition_key=DUE_PERIOD, instance=sqlite_instance
    )
    assert delivered.success
    (passed,) = tick(defs, sqlite_instance)
    assert passed.passed and latest(sqlite_instance, "overdue").passed
    assert tick(defs, sqlite_instance) == []


def test_a_report_on_time_and_never_late_records_nothing(tmp_path, sqlite_instance, smtp_server):
    defs = project(tmp_path, smtp_server, "delivered")
    defs.resolve_job_def("delivered").execute_in_process(
        partition_key=DUE_PERIOD, instance=sqlite_instance
    )
    assert tick(defs, sqlite_instance) == []


def test_executing_the_check_evaluates_it_now(tmp_path, sqlite_instance, smtp_server):
    defs = project(tmp_path, smtp_server, "overdue")
    schedules_running_since(sqlite_instance, defs, PAST_TICK - timedelta(days=7))
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=sqlite_instance
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.metadata["late period"].value == DUE_PERIOD
