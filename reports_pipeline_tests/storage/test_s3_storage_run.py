"""Whole report runs storing their file in S3 (moto on 127.0.0.1), recorded in a Dagster
instance: each run keeps its own object, e-mails link to it, deliveries stay exactly once."""

import email
import email.policy
import urllib.request

import pytest
from dagster import DagsterEventType

from reports_pipeline.definitions import build_definitions
from reports_pipeline_tests.report_files import (
    report_dict,
    s3_storage_section,
    write_report,
    write_test_connections,
)
from reports_pipeline_tests.s3_server import S3ErrorServer, S3TestServer

QUERY = (
    "select id, customer, amount from invoices"
    " where issued_at >= :period_start and issued_at < :period_end order by id"
)


@pytest.fixture(scope="module")
def s3():
    with S3TestServer() as server:
        yield server


def project(tmp_path, s3, bucket, endpoint_url=None):
    write_test_connections(
        tmp_path,
        {"outbox": {"kind": "outbox", "path": str(tmp_path / "outbox")}},
        storage=s3_storage_section(
            s3, bucket, tmp_path / "staging", endpoint_url=endpoint_url or s3.endpoint_url
        ),
    )
    write_report(
        tmp_path / "reports",
        report_dict(
            name="invoices",
            source={"connection": "warehouse", "sql": QUERY},
            schedule={"every": "day", "timezone": "America/New_York", "start": "2026-01-01"},
            deliver=[{"email": {"to": ["finance@example.com"], "attach": "link"}}],
            retry={"attempts": 2, "delay": "0.1s"},
        ),
    )
    return build_definitions([tmp_path / "reports"], tmp_path / "connections.yaml")


def step_metadata(result, step: str) -> dict:
    (event,) = [
        e
        for e in result.all_events
        if e.event_type == DagsterEventType.STEP_OUTPUT and e.step_key == step
    ]
    return event.step_output_data.metadata


def test_runs_store_in_s3_and_link_to_the_stored_file(tmp_path, s3, sqlite_instance, monkeypatch):
    monkeypatch.setenv("REPORTS_S3_SECRET", s3.secret_access_key)
    bucket = s3.create_bucket()
    job = project(tmp_path, s3, bucket).resolve_job_def("invoices")

    first = job.execute_in_process(partition_key="2026-11-02", instance=sqlite_instance)
    stored = step_metadata(first, "persist")
    key = f"reports/invoices/2026-11-02/{first.run_id[:8]}/invoices_2026-11-02.csv"
    assert stored["location"].value == f"s3://{bucket}/{key}"
    uploaded = s3.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    assert uploaded.startswith(b"id,customer,amount")
    with urllib.request.urlopen(stored["download_url"].value, timeout=30) as answer:
        assert answer.read() == uploaded
    (sent,) = (tmp_path / "outbox").glob("*.eml")
    message = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    assert f"Download: {stored['download_url'].value}" in text.get_content()

    # A re-run keeps the first object; its e-mail is not sent again (same content).
    second = job.execute_in_process(partition_key="2026-11-02", instance=sqlite_instance)
    assert second.success
    listed = s3.client().list_objects_v2(Bucket=bucket, Prefix="reports/invoices/2026-11-02/")
    assert {item["Key"] for item in listed["Contents"]} == {
        key,
        f"reports/invoices/2026-11-02/{second.run_id[:8]}/invoices_2026-11-02.csv",
        "reports/invoices/2026-11-02/latest",
    }
    latest = s3.client().get_object(Bucket=bucket, Key="reports/invoices/2026-11-02/latest")
    assert latest["Body"].read().decode().strip() == f"{second.run_id[:8]}/invoices_2026-11-02.csv"
    assert step_metadata(second, "deliver_1_email")["status"].value == "already delivered"
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    logs = " ".join(str(record) for record in sqlite_instance.all_logs(first.run_id))
    assert s3.secret_access_key not in logs


def persist_attempts(result) -> int:
    return 1 + sum(
        1
        for e in result.all_events
        if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY and e.step_key == "persist"
    )


def persist_failure(result) -> str:
    (event,) = [
        e
        for e in result.all_events
        if e.event_type == DagsterEventType.STEP_FAILURE and e.step_key == "persist"
    ]
    error, messages = event.step_failure_data.error, []
    # After its last retry a step fails as "Exceeded max_retries", caused by its own error.
    while error is not None:
        messages.append(error.message)
        error = error.cause
    return " ".join(messages)


def test_a_missing_bucket_fails_the_run_at_once_and_sends_nothing(
    tmp_path, s3, sqlite_instance, monkeypatch
):
    monkeypatch.setenv("REPORTS_S3_SECRET", s3.secret_access_key)
    job = project(tmp_path, s3, "no-such-bucket-here").resolve_job_def("invoices")
    result = job.execute_in_process(
        partition_key="2026-11-02", instance=sqlite_instance, raise_on_error=False
    )
    assert not result.success
    assert persist_attempts(result) == 1
    assert "invoices: storing the file failed: S3 upload of" in persist_failure(result)
    assert "NoSuchBucket" in persist_failure(result)
    assert not (tmp_path / "outbox").exists() or not list((tmp_path / "outbox").glob("*.eml"))


def test_a_throttling_store_is_retried_with_the_report_s_policy(
    tmp_path, s3, sqlite_instance, monkeypatch
):
    monkeypatch.setenv("REPORTS_S3_SECRET", s3.secret_access_key)
    with S3ErrorServer(503, "SlowDown") as failing:
        defs = project(tmp_path, s3, "any-bucket", endpoint_url=failing.endpoint_url)
        result = defs.resolve_job_def("invoices").execute_in_process(
            partition_key="2026-11-02", instance=sqlite_instance, raise_on_error=False
        )
    assert not result.success
    assert persist_attempts(result) == 2  # retry: attempts 2
    assert "SlowDown" in persist_failure(result)
    assert s3.secret_access_key not in persist_failure(result)
