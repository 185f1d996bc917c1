"""Owners hear about every failed run of their report once, however it was started; runs
Dagster will retry stay quiet."""

import re
import socket

import asyncssh
import pytest
from click.testing import CliRunner
from dagster import (
    build_sensor_context,
    job,
    op,
)
from dagster._core.execution.api import execute_run
from dagster._core.remote_origin import (
    RegisteredCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)

from reports_pipeline.cli import cli
from reports_pipeline.definitions import build_definitions
from reports_pipeline.sensors.failure_notice import FAILURE_SENSOR_NAME
from reports_pipeline_tests.jobs.job_factory import reconstructable_report_job
from reports_pipeline_tests.report_files import (
    report_dict,
    smtp_connection,
    write_report,
    write_test_connections,
)
from reports_pipeline_tests.sensors.failure_sensor import evaluate_failure_sensor


def failing_project(tmp_path, smtp_server):
    write_test_connections(
        tmp_path,
        {"mail": smtp_connection(smtp_server)},
        policy={"notify": {"ui_base_url": "http://dagster.example.com"}},
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
    evaluate_failure_sensor(defs, instance, result.run_id)
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


@pytest.fixture
def refusing_port():
    """A port on 127.0.0.1 that refuses connections: bound, never listening, until the end."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound.getsockname()[1]


def sftp_down_project(tmp_path, smtp_server, port):
    """A report whose SFTP target refuses connections, with two attempts per step."""
    connections = write_test_connections(
        tmp_path,
        {
            "mail": smtp_connection(smtp_server),
            "partner": {
                "kind": "sftp",
                "host": "127.0.0.1",
                "port": port,
                "username": "reports",
                "password": {"env": "PARTNER_SFTP_PASSWORD"},
                "host_key": asyncssh.generate_private_key("ssh-ed25519")
                .export_public_key()
                .decode()
                .strip(),
                "timeout": 10,
            },
        },
    )
    reports = tmp_path / "reports"
    write_report(
        reports,
        report_dict(
            name="partner_feed",
            source={"connection": "warehouse", "sql": "select 1 as one"},
            schedule={"every": "day", "timezone": "UTC", "start": "2026-01-01"},
            deliver=[{"sftp": {"connection": "partner", "path": "/in/feed.csv"}}],
            retry={"attempts": 2, "delay": "0.1s"},
        ),
    )
    return reports, connections


def launch_like_the_daemon(reports, connections, instance, partition):
    """A run as the daemon or the UI creates it: tagged from the job and with a code location."""
    job = reconstructable_report_job(reports, connections, "partner_feed")
    definition = job.get_definition()
    origin = RemoteJobOrigin(
        RemoteRepositoryOrigin(
            RegisteredCodeLocationOrigin("reports_pipeline.definitions"), "__repository__"
        ),
        "partner_feed",
    )
    run = instance.create_run_for_job(
        definition,
        tags={**definition.tags, "dagster/partition": partition},
        remote_job_origin=origin,
        job_code_origin=job.get_python_origin(),
    )
    return execute_run(job, run, instance)


def evaluate_like_the_daemon(sensor, defs, instance, cursor):
    """One tick of the sensor against the instance; returns the cursor it leaves."""
    context = build_sensor_context(
        instance=instance, cursor=cursor, repository_def=defs.get_repository_def()
    )
    return sensor.evaluate_tick(context).cursor


def test_daemon_and_cli_runs_that_fail_get_exactly_one_notice_each(
    tmp_path, instance, smtp_server, refusing_port, monkeypatch
):
    monkeypatch.setenv("PARTNER_SFTP_PASSWORD", "not-used")
    reports, connections = sftp_down_project(tmp_path, smtp_server, refusing_port)
    defs = build_definitions([reports], connections)
    sensor = defs.resolve_sensor_def(FAILURE_SENSOR_NAME)
    cursor = evaluate_like_the_daemon(sensor, defs, instance, None)  # starts after the past

    daemon_run = launch_like_the_daemon(reports, connections, instance, "2026-11-02")
    assert not daemon_run.success
    cli_run = CliRunner().invoke(
        cli,
        ["run", "partner_feed", "--period", "2026-11-03"],
        env={
            "REPORTS_DIR": str(reports),
            "REPORTS_CONNECTIONS": str(connections),
            "DAGSTER_HOME": instance.root_directory,
        },
    )
    assert cli_run.exit_code == 1, cli_run.output
    assert len(instance.get_runs()) == 2
    history = CliRunner().invoke(
        cli, ["history", "partner_feed"], env={"DAGSTER_HOME": instance.root_directory}
    )
    assert history.exit_code == 0, history.output
    refused = (
        rf"deliver_1_sftp\s+failed\s+attempts 2  connection refused by 127.0.0.1:{refusing_port}$"
    )
    assert len(re.findall(refused, history.output, re.M)) == 2, history.output

    cursor = evaluate_like_the_daemon(sensor, defs, instance, cursor)
    notices = smtp_server.wait_for_messages(2)
    evaluate_like_the_daemon(sensor, defs, instance, cursor)  # a later tick tells nobody again
    assert len(smtp_server.messages) == 2
    subjects = sorted(notice.parsed()["Subject"] for notice in notices)
    assert subjects == [
        "Report failed: Partner feed (2026-11-02)",
        "Report failed: Partner feed (2026-11-03)",
    ]
    for notice in notices:
        text = notice.parsed().get_body(preferencelist=("plain",)).get_content()
        assert (
            f"deliver_1_sftp: connection refused by 127.0.0.1:{refusing_port} after 2 attempts"
            in text
        )
        assert "max_retries" not in text


def test_runs_of_a_job_of_the_same_name_elsewhere_send_no_notice(tmp_path, instance, smtp_server):
    defs = failing_project(tmp_path, smtp_server)

    @op
    def fails():
        raise ValueError("another code location's job failed")

    @job(name="broken_query")
    def other():
        fails()

    cursor = evaluate_like_the_daemon(
        defs.resolve_sensor_def(FAILURE_SENSOR_NAME), defs, instance, None
    )
    assert not other.execute_in_process(instance=instance, raise_on_error=False).success
    evaluate_like_the_daemon(defs.resolve_sensor_def(FAILURE_SENSOR_NAME), defs, instance, cursor)
    assert smtp_server.messages == []
