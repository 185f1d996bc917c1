"""The shipped reports as Dagster sees them; a change to a report file shows up here as a diff."""

from dagster import DefaultScheduleStatus, DefaultSensorStatus, SkipReason, build_sensor_context

from reports_pipeline.definitions import build_definitions, defs
from reports_pipeline_tests.report_files import report_dict, write_report

SHIPPED = {
    # job: (schedule, cron, timezone)
    "daily_invoices": ("daily_invoices_schedule", "0 7 * * *", "America/New_York"),
    "monthly_product_usage": ("monthly_product_usage_schedule", "0 6 1 * *", "Europe/Berlin"),
    "overdue_invoices_live": ("overdue_invoices_live_schedule", "*/2 * * * *", "UTC"),
    "weekly_revenue_by_region": (
        "weekly_revenue_by_region_schedule",
        "0 8 * * 1",
        "America/New_York",
    ),
}


def test_every_shipped_report_is_a_job_with_a_running_schedule():
    jobs = {job.name for job in defs.resolve_all_job_defs() if not job.name.startswith("__")}
    assert jobs == set(SHIPPED)
    for job_name, (schedule_name, cron, zone) in SHIPPED.items():
        schedule = defs.resolve_schedule_def(schedule_name)
        assert schedule.job_name == job_name
        assert schedule.cron_schedule == cron
        assert schedule.execution_timezone == zone
        assert schedule.default_status == DefaultScheduleStatus.RUNNING
        job = defs.resolve_job_def(job_name)
        assert job.partitions_def.timezone == zone
        steps = sorted(node.name for node in job.graph.nodes)
        assert steps == ["deliver_1_email", "fetch_and_render", "persist"]


def test_shipped_definitions_have_their_sensors_and_no_invalid_file_sensors():
    assert [s.name for s in defs.sensors] == ["report_catch_up", "report_failure_notice"]


def test_disabled_report_gets_a_stopped_schedule(tmp_path):
    write_report(tmp_path / "reports", report_dict(enabled=False))
    built = build_definitions([tmp_path / "reports"], tmp_path / "none.yaml")
    schedule = built.resolve_schedule_def("test_report_schedule")
    assert schedule.default_status == DefaultScheduleStatus.STOPPED


def test_report_tags_are_copied_onto_runs(tmp_path):
    write_report(tmp_path / "reports", report_dict(tags={"domain": "finance"}))
    job = build_definitions([tmp_path / "reports"], tmp_path / "none.yaml").resolve_job_def(
        "test_report"
    )
    assert job.tags["domain"] == "finance"
    assert job.tags["reports/name"] == "test_report"


def test_bad_file_among_good_ones_is_a_visible_sensor_and_the_good_ones_load(tmp_path):
    write_report(tmp_path / "reports", report_dict(), "good.yaml")
    write_report(tmp_path / "reports", report_dict(name="broken", format="docx"), "broken.yaml")
    built = build_definitions([tmp_path / "reports"], tmp_path / "none.yaml")
    assert built.resolve_job_def("test_report").name == "test_report"
    (sensor,) = [s for s in built.sensors if s.name.startswith("invalid_report_file__")]
    assert sensor.name.startswith("invalid_report_file__") and sensor.name.endswith("broken_yaml")
    assert sensor.default_status == DefaultSensorStatus.RUNNING
    assert "broken.yaml:" in sensor.description and "format:" in sensor.description
    result = sensor(build_sensor_context())
    assert isinstance(result, SkipReason)
    assert "'json' or 'parquet' (got 'docx')" in result.skip_message


def test_broken_connections_file_is_visible_and_reports_using_it_are_too(tmp_path):
    (tmp_path / "connections.yaml").write_text("connections: {mail: {kind: smtp}}\n")
    write_report(tmp_path / "reports", report_dict())
    built = build_definitions([tmp_path / "reports"], tmp_path / "connections.yaml")
    descriptions = " ".join(sensor.description for sensor in built.sensors)
    assert "connections.mail.host: required field is missing" in descriptions
