"""A report's fetch step runs in its connection's pool; a run past max_runtime is stopped by
Dagster's run monitoring, marked failed, and its owner told."""

import logging
import time

from dagster import DagsterEventType, DagsterRunStatus
from dagster._core.events import DagsterEvent
from dagster._core.storage.tags import MAX_RUNTIME_SECONDS_TAG
from dagster._daemon.monitoring.run_monitoring import check_run_timeout

from reports_pipeline.definitions import build_definitions
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report
from reports_pipeline_tests.sensors.failure_sensor import evaluate_failure_sensor


def project(tmp_path, smtp_server=None, policy=None, **report_changes):
    mail = (
        {
            "mail": {
                "kind": "smtp",
                "host": smtp_server.host,
                "port": smtp_server.port,
                "from": "reports@example.com",
            }
        }
        if smtp_server
        else {}
    )
    write_connections(
        tmp_path,
        {
            "connections": {
                "warehouse": {
                    "kind": "sql",
                    "url": "sqlite://",  # never queried here
                    "pool": "dwh",
                    "max_concurrent": 2,
                },
                **mail,
            },
            "storage": {"path": str(tmp_path / "files")},
            "policy": policy or {},
        },
    )
    write_report(
        tmp_path / "reports",
        report_dict(
            name="slow_report",
            source={"connection": "warehouse", "sql": "select 1 as one"},
            schedule={"every": "day", "timezone": "UTC", "start": "2026-01-01"},
            **report_changes,
        ),
    )
    return build_definitions([tmp_path / "reports"], tmp_path / "connections.yaml")


def test_the_fetch_step_is_in_its_connections_pool_and_no_other_step_is(tmp_path):
    job = project(tmp_path).resolve_job_def("slow_report")
    pools = {node.name: node.definition.pool for node in job.graph.nodes}
    assert pools.pop("fetch_and_render") == "dwh"
    assert set(pools.values()) == {None}  # storing and delivering do not touch the warehouse


def test_a_report_on_the_demo_warehouse_is_in_the_demo_pool(tmp_path):
    write_report(tmp_path / "reports", report_dict(name="demo_report"))
    job = build_definitions([tmp_path / "reports"], tmp_path / "none.yaml").resolve_job_def(
        "demo_report"
    )
    assert job.graph.node_named("fetch_and_render").definition.pool == "demo_warehouse"


def test_max_runtime_becomes_the_run_tag_in_seconds(tmp_path):
    job = project(tmp_path, max_runtime="90m").resolve_job_def("slow_report")
    assert job.tags[MAX_RUNTIME_SECONDS_TAG] == "5400"


def test_without_its_own_max_runtime_a_report_gets_the_policy_default(tmp_path):
    job = project(tmp_path).resolve_job_def("slow_report")
    assert job.tags[MAX_RUNTIME_SECONDS_TAG] == "7200"
    job = project(tmp_path, policy={"max_runtime": "20m"}).resolve_job_def("slow_report")
    assert job.tags[MAX_RUNTIME_SECONDS_TAG] == "1200"


def test_a_run_over_its_max_runtime_is_failed_and_its_owner_told(
    tmp_path, sqlite_instance, smtp_server
):
    defs = project(tmp_path, smtp_server, max_runtime="1m")
    job = defs.resolve_job_def("slow_report")
    run = sqlite_instance.create_run_for_job(
        job, tags={**job.tags, "dagster/partition": "2026-11-02"}
    )
    sqlite_instance.report_dagster_event(
        DagsterEvent(DagsterEventType.RUN_START.value, job_name=job.name), run.run_id
    )
    record = sqlite_instance.get_run_record_by_id(run.run_id)
    assert record.dagster_run.status == DagsterRunStatus.STARTED
    # The run has been going for two minutes, past its one-minute limit: what the daemon sees.
    two_minutes_in = record._replace(start_time=time.time() - 120)
    check_run_timeout(sqlite_instance, two_minutes_in, logging.getLogger("monitoring"), 0.0)

    stopped = sqlite_instance.get_run_by_id(run.run_id)
    assert stopped.status == DagsterRunStatus.FAILURE  # a failure, not a cancellation
    evaluate_failure_sensor(defs, sqlite_instance, run.run_id)
    (notice,) = smtp_server.wait_for_messages(1)
    assert notice.rcpt_tos == ["owner@example.com"]
    text = notice.parsed().get_body(preferencelist=("plain",)).get_content()
    assert "took longer than its max_runtime of 1m and was stopped" in text
