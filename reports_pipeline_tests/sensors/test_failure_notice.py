"""Owners hear about failed runs once; runs Dagster will retry stay quiet."""

import pytest
from dagster import DagsterEventType, build_run_status_sensor_context

from reports_pipeline.definitions import build_definitions
from reports_pipeline.sensors.failure_notice import FAILURE_SENSOR_NAME
from reports_pipeline_tests.jobs.warehouses import create_sqlite_warehouse
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report


@pytest.fixture
def instance(sqlite_instance):
    return sqlite_instance


def failing_project(tmp_path, smtp_server):
    write_connections(
        tmp_path,
        {
            "connections": {
                "warehouse": {
                    "kind": "sql",
                    "url": create_sqlite_warehouse(tmp_path / "wh.sqlite"),
                },
                "mail": {
                    "kind": "smtp",
                    "host": smtp_server.host,
                    "port": smtp_server.port,
                    "from": "reports@example.com",
                },
            },
            "storage": {"path": str(tmp_path / "files")},
            "policy": {"notify": {"ui_base_url": "http://dagster.example.com"}},
        },
    )
    write_report(
        tmp_path / "reports",
        report_dict(
            name="broken_query",
            owner="owner@example.com",
            source={"connection": "warehouse", "sql": "select * from no_such_table"},
            schedule={"every": "day", "timezone": "UTC", "start": "2026-01-01"},
            deliver=[{"email": {"to": ["reader@example.com"]}}],
        ),
    )
    return build_definitions([tmp_path / "reports"], tmp_path / "connections.yaml")


def notify_about_failure(defs, instance, tags=None):
    job = defs.resolve_job_def("broken_query")
    result = job.execute_in_process(
        partition_key="2026-11-02", instance=instance, tags=tags or {}, raise_on_error=False
    )
    assert not result.success
    (record,) = instance.all_logs(result.run_id, of_type=DagsterEventType.RUN_FAILURE)
    context = build_run_status_sensor_context(
        sensor_name=FAILURE_SENSOR_NAME,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
        dagster_event=record.dagster_event,
        repository_def=defs.get_repository_def(),
    ).for_run_failure()
    defs.resolve_sensor_def(FAILURE_SENSOR_NAME)(context)
    return result.run_id


def test_owner_is_told_what_failed_for_which_period_with_a_link(tmp_path, instance, smtp_server):
    run_id = notify_about_failure(failing_project(tmp_path, smtp_server), instance)
    (notice,) = smtp_server.wait_for_messages(1)
    assert notice.rcpt_tos == ["owner@example.com"]
    message = notice.parsed()
    assert message["Subject"] == "Report failed: Broken query (2026-11-02)"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "fetch_and_render:" in text and "no_such_table" in text
    assert f"http://dagster.example.com/runs/{run_id}" in text


def test_runs_dagster_will_retry_send_no_notice(tmp_path, instance, smtp_server):
    notify_about_failure(
        failing_project(tmp_path, smtp_server), instance, tags={"dagster/will_retry": "true"}
    )
    assert smtp_server.messages == []
