"""What `reports history` and the failure notice read from the instance: root causes and
attempts of real runs against a real SFTP server (or a port that refuses connections)."""

import socket

import pytest
from dagster._utils.error import SerializableErrorInfo

from reports_pipeline.definitions import build_definitions
from reports_pipeline.run_history import (
    StepOutcome,
    error_text,
    failure_lines,
    report_history,
)
from reports_pipeline_tests.report_files import (
    report_dict,
    write_report,
    write_test_connections,
)
from reports_pipeline_tests.sftp_server import SftpTestServer


@pytest.fixture
def sftp():
    with SftpTestServer(username="reports", password="history-test-pw") as server:
        yield server


@pytest.fixture
def refusing_port():
    """A port on 127.0.0.1 that refuses connections: bound, never listening, until the end."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound.getsockname()[1]


def run_sftp_report(tmp_path, instance, sftp, port, attempts):
    write_test_connections(
        tmp_path,
        {
            "partner": {
                "kind": "sftp",
                "host": sftp.host,
                "port": port,
                "username": sftp.username,
                "password": {"env": "HISTORY_SFTP_PASSWORD"},
                "host_key": sftp.host_key,
                "timeout": 10,
            },
        },
    )
    write_report(
        tmp_path / "reports",
        report_dict(
            name="partner_feed",
            source={"connection": "warehouse", "sql": "select 1 as one"},
            schedule={"every": "day", "timezone": "UTC", "start": "2026-01-01"},
            deliver=[{"sftp": {"connection": "partner", "path": "/in/feed.csv"}}],
            retry={"attempts": attempts, "delay": "0.1s"},
        ),
    )
    defs = build_definitions([tmp_path / "reports"], tmp_path / "connections.yaml")
    return defs.resolve_job_def("partner_feed").execute_in_process(
        partition_key="2026-11-02", instance=instance, raise_on_error=False
    )


def test_a_target_down_past_its_retries_is_named_by_its_root_cause_and_attempts(
    tmp_path, sqlite_instance, sftp, refusing_port, monkeypatch
):
    monkeypatch.setenv("HISTORY_SFTP_PASSWORD", sftp.password)
    result = run_sftp_report(tmp_path, sqlite_instance, sftp, refusing_port, attempts=2)
    assert not result.success
    (run,) = report_history(sqlite_instance, "partner_feed", 10)
    (target,) = run.targets
    assert (target.step, target.status, target.attempts) == ("deliver_1_sftp", "failed", 2)
    assert target.detail == f"connection refused by 127.0.0.1:{refusing_port}"
    assert failure_lines(sqlite_instance, result.run_id) == [
        f"deliver_1_sftp: connection refused by 127.0.0.1:{refusing_port} after 2 attempts"
    ]


def test_attempts_count_the_retries_of_a_step_that_then_succeeds(
    tmp_path, sqlite_instance, sftp, monkeypatch
):
    monkeypatch.setenv("HISTORY_SFTP_PASSWORD", sftp.password)
    sftp.drop_next_connections(1)
    result = run_sftp_report(tmp_path, sqlite_instance, sftp, sftp.port, attempts=3)
    assert result.success
    (run,) = report_history(sqlite_instance, "partner_feed", 10)
    (target,) = run.targets
    assert (target.status, target.attempts) == ("delivered", 2)
    assert sftp.path("/in/feed.csv").read_text().splitlines() == ["one", "1"]


def error(cls_name, message, cause=None):
    return SerializableErrorInfo(message=message, stack=[], cls_name=cls_name, cause=cause)


def test_error_text_reads_the_cause_without_wrappers_or_class_paths():
    exhausted = error(
        "RetryRequestedFromPolicy",
        "Exceeded max_retries of 1\n",
        cause=error(
            "TransientDeliveryError",
            "reports_pipeline.delivery.errors.TransientDeliveryError: connection refused by "
            "10.0.0.5:22\n",
        ),
    )
    assert error_text(exhausted) == "connection refused by 10.0.0.5:22"
    failure = error(
        "Failure",
        "dagster._core.definitions.events.Failure: sales: the query on connection 'warehouse' "
        "failed: syntax error at or near \"selec\"\nLINE 1: selec 1\n",
    )
    assert error_text(failure) == (
        "sales: the query on connection 'warehouse' failed: syntax error at or near \"selec\""
    )


def test_summary_says_what_happened_from_the_step_metadata():
    earlier = "0123456789abcdef-run"
    already = StepOutcome(
        "deliver_2_s3",
        status="already delivered",
        metadata={"status": "already delivered", "delivered_by_run": earlier},
    )
    assert already.summary() == "already delivered by run 01234567, not sent again"
    skipped = StepOutcome(
        "deliver_1_email",
        status="skipped",
        metadata={"status": "skipped", "reason": "no rows (send_if: rows)"},
    )
    assert skipped.summary() == "skipped: no rows (send_if: rows)"
    changed_status = "delivered (content changed since the delivery by run 01234567)"
    changed = StepOutcome(
        "deliver_1_email",
        status=changed_status,
        metadata={"status": changed_status, "delivered_by_run": earlier, "answer": {}},
    )
    assert changed.summary() == changed_status
