"""Whole runs of a report job: query, render, store, e-mail to a real SMTP server."""

import csv
import io
from pathlib import Path

import openpyxl
import pytest
import yaml
from dagster import DagsterEventType, DagsterInstance

from reports_pipeline.definitions import build_definitions
from reports_pipeline_tests.jobs.warehouses import (
    INVOICES,
    NOV_2_NEW_YORK_IDS,
    create_postgres_warehouse,
    create_sqlite_warehouse,
)
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report

QUERY = (
    "select id, customer, region, amount, status, issued_at from invoices"
    " where issued_at >= :period_start and issued_at < :period_end order by id"
)


def make_project(
    tmp_path,
    smtp_server,
    warehouse_url="sqlite",
    report_changes=None,
    mail_extra=None,
    warehouse_env=None,
):
    url = create_sqlite_warehouse(tmp_path / "wh.sqlite") if warehouse_url == "sqlite" else None
    warehouse = {"kind": "sql", "url": {"env": warehouse_env} if warehouse_env else url}
    connections = {
        "connections": {
            "warehouse": warehouse,
            "mail": {
                "kind": "smtp",
                "host": smtp_server.host,
                "port": smtp_server.port,
                "from": "reports@example.com",
                "timeout": 10,
                **(mail_extra or {}),
            },
        },
        "storage": {"path": str(tmp_path / "files")},
    }
    report = report_dict(
        **{
            "name": "invoices_daily",
            "title": "Invoices",
            "source": {"connection": "warehouse", "sql": QUERY},
            "schedule": {
                "every": "day",
                "at": "09:00",
                "timezone": "America/New_York",
                "start": "2026-01-01",
            },
            "deliver": [
                {
                    "email": {
                        "to": ["cfo@example.com"],
                        "cc": ["team@example.com"],
                        "bcc": ["audit@example.com"],
                        "subject": "{{ title }} for {{ period.start | date }}: {{ rows }} rows",
                        "body": "Period {{ period.key }} of {{ name }} ({{ format }}), "
                        "run {{ run_id }}.",
                    }
                }
            ],
            "retry": {"attempts": 2, "delay": "0.1s"},
            **(report_changes or {}),
        }
    )
    write_report(tmp_path / "reports", report)
    write_connections(tmp_path, connections)
    return build_definitions([tmp_path / "reports"], tmp_path / "connections.yaml")


def login_over_starttls(server) -> dict:
    """Mail settings that log in as ``reports`` with the password in TEST_SMTP_PASSWORD."""
    return {
        "starttls": True,
        "username": "reports",
        "password": {"env": "TEST_SMTP_PASSWORD"},
        "ca_file": server.ca_file,
    }


def run_period(defs, key="2026-11-02", instance=None):
    job = defs.resolve_job_def("invoices_daily")
    return job.execute_in_process(
        partition_key=key, instance=instance or DagsterInstance.ephemeral(), raise_on_error=False
    )


def only_failure(result):
    """The run's single failed step (asserting there was exactly one)."""
    (failure,) = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    return failure


def only_failure_message(result) -> str:
    return only_failure(result).step_failure_data.error.message


def attachment_of(message):
    parsed = message.parsed()
    (part,) = [p for p in parsed.iter_attachments()]
    return part.get_filename(), part.get_content()


def test_run_emails_the_period_to_to_cc_and_bcc(tmp_path, smtp_server):
    result = run_period(make_project(tmp_path, smtp_server))
    assert result.success
    (message,) = smtp_server.wait_for_messages(1)
    assert message.mail_from == "reports@example.com"
    assert sorted(message.rcpt_tos) == ["audit@example.com", "cfo@example.com", "team@example.com"]
    parsed = message.parsed()
    assert parsed["To"] == "cfo@example.com"
    assert parsed["Cc"] == "team@example.com"
    assert parsed["Bcc"] is None
    assert b"audit@example.com" not in message.content
    assert parsed["Subject"] == "Invoices for 2026-11-02: 3 rows"
    body = parsed.get_body(preferencelist=("plain",)).get_content()
    assert f"Period 2026-11-02 of invoices_daily (csv), run {result.run_id}." in body
    name, content = attachment_of(message)
    assert name == "invoices_daily_2026-11-02.csv"
    rows = list(
        csv.DictReader(io.StringIO(content if isinstance(content, str) else content.decode()))
    )
    assert [int(r["id"]) for r in rows] == NOV_2_NEW_YORK_IDS
    assert rows[2]["customer"] == "東京商事"
    assert float(rows[0]["amount"]) == 1200.5


def test_persist_records_rows_bytes_path_and_sha256(tmp_path, smtp_server):
    import hashlib

    result = run_period(make_project(tmp_path, smtp_server))
    (output,) = [
        e
        for e in result.all_events
        if e.event_type == DagsterEventType.STEP_OUTPUT and e.step_key == "persist"
    ]
    metadata = output.step_output_data.metadata
    path = Path(metadata["path"].value)
    period_folder = tmp_path / "files" / "invoices_daily" / "2026-11-02"
    assert path == period_folder / result.run_id[:8] / "invoices_daily_2026-11-02.csv"
    assert metadata["rows"].value == 3
    assert metadata["bytes"].value == path.stat().st_size
    assert metadata["sha256"].value == hashlib.sha256(path.read_bytes()).hexdigest()
    assert not list((tmp_path / "files" / ".staging").iterdir())


def test_xlsx_attachment_keeps_numbers_and_dates(tmp_path, smtp_server):
    defs = make_project(tmp_path, smtp_server, report_changes={"format": "xlsx"})
    assert run_period(defs).success
    (message,) = smtp_server.wait_for_messages(1)
    name, content = attachment_of(message)
    assert name.endswith(".xlsx")
    (tmp_path / "a.xlsx").write_bytes(content)
    sheet = openpyxl.load_workbook(tmp_path / "a.xlsx").active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("id", "customer", "region", "amount", "status", "issued_at")
    assert [r[0] for r in rows[1:]] == NOV_2_NEW_YORK_IDS
    assert isinstance(rows[1][3], (int, float)) and rows[1][3] == pytest.approx(1200.5)


def test_transient_smtp_failure_is_retried_and_delivered_once(tmp_path, smtp_server):
    smtp_server.fail_next(1, code=451, message="greylisted, try later")
    result = run_period(make_project(tmp_path, smtp_server))
    assert result.success
    assert len(smtp_server.wait_for_messages(1)) == 1
    retries = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY]
    assert len(retries) == 1
    assert len(smtp_server.messages) == 1


def test_permanent_smtp_failure_fails_the_step_once_with_the_server_answer(tmp_path, smtp_server):
    smtp_server.refuse_recipient("cfo@example.com")
    smtp_server.refuse_recipient("team@example.com")
    smtp_server.refuse_recipient("audit@example.com")
    result = run_period(make_project(tmp_path, smtp_server))
    assert not result.success
    retries = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY]
    assert retries == []
    failure = only_failure(result)
    assert failure.step_key == "deliver_1_email"
    assert "550" in failure.step_failure_data.error.message
    assert smtp_server.messages == []


def test_send_if_rows_sends_nothing_for_an_empty_period(tmp_path, smtp_server):
    defs = make_project(tmp_path, smtp_server, report_changes={"send_if": "rows"})
    result = run_period(defs, key="2026-06-01")
    assert result.success
    assert smtp_server.messages == []


def test_failing_check_stops_delivery(tmp_path, smtp_server):
    defs = make_project(tmp_path, smtp_server, report_changes={"checks": {"min_rows": 10}})
    result = run_period(defs)
    assert not result.success
    assert "3 rows, fewer than checks.min_rows=10" in only_failure_message(result)
    assert smtp_server.messages == []


def test_bad_sql_fails_with_the_database_message(tmp_path, smtp_server):
    defs = make_project(
        tmp_path,
        smtp_server,
        report_changes={
            "source": {"connection": "warehouse", "sql": "select * from no_such_table"}
        },
    )
    result = run_period(defs)
    assert not result.success
    assert "no_such_table" in only_failure_message(result)
    assert smtp_server.messages == []


def test_smtp_password_from_environment_never_appears_in_events_or_config(tmp_path, monkeypatch):
    from reports_pipeline_tests.smtp_server import SmtpTestServer

    secret = "s3cr3t-Pa55word-xyz"
    monkeypatch.setenv("TEST_SMTP_PASSWORD", secret)
    with SmtpTestServer(starttls=True, auth=("reports", secret)) as server:
        defs = make_project(
            tmp_path,
            server,
            mail_extra=login_over_starttls(server),
        )
        instance = DagsterInstance.ephemeral()
        result = run_period(defs, instance=instance)
        assert result.success
        (message,) = server.wait_for_messages(1)
        assert message.login == "reports" and message.encrypted
    run = instance.get_run_by_id(result.run_id)
    assert secret not in yaml.safe_dump(run.run_config)
    logs = instance.all_logs(result.run_id)
    assert logs, "expected events"
    assert not any(
        secret in (record.message or "") or secret in str(record.dagster_event) for record in logs
    )


def test_wrong_smtp_password_error_names_the_user_not_the_password(tmp_path, monkeypatch):
    from reports_pipeline_tests.smtp_server import SmtpTestServer

    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong-password-123")
    with SmtpTestServer(starttls=True, auth=("reports", "right")) as server:
        defs = make_project(
            tmp_path,
            server,
            mail_extra=login_over_starttls(server),
        )
        result = run_period(defs)
    assert not result.success
    message = only_failure_message(result)
    assert "login refused for user reports" in message
    assert "wrong-password-123" not in message


def test_postgres_warehouse_with_postgres_instance_storage(
    tmp_path, smtp_server, postgres_url, monkeypatch
):
    create_postgres_warehouse(postgres_url)
    monkeypatch.setenv("TEST_WAREHOUSE_URL", postgres_url)
    defs = make_project(
        tmp_path, smtp_server, warehouse_url=None, warehouse_env="TEST_WAREHOUSE_URL"
    )
    home = tmp_path / "dagster_home"
    home.mkdir()
    instance_url = postgres_url.replace("postgresql://", "postgresql+psycopg2://")
    (home / "dagster.yaml").write_text(
        yaml.safe_dump(
            {
                "storage": {"postgres": {"postgres_url": instance_url}},
                "telemetry": {"enabled": False},
            }
        )
    )
    with DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = run_period(defs, instance=instance)
        assert result.success
        stored_run = instance.get_run_by_id(result.run_id)
        assert stored_run.is_success
        assert stored_run.tags["dagster/partition"] == "2026-11-02"
        outputs = [
            r
            for r in instance.all_logs(result.run_id)
            if r.dagster_event
            and r.dagster_event.event_type == DagsterEventType.STEP_OUTPUT
            and r.dagster_event.step_key == "persist"
        ]
        assert outputs[0].dagster_event.step_output_data.metadata["rows"].value == 3
    (message,) = smtp_server.wait_for_messages(1)
    _, content = attachment_of(message)
    text = content if isinstance(content, str) else content.decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [int(r["id"]) for r in rows] == NOV_2_NEW_YORK_IDS
    assert len(INVOICES) == 5


def test_range_run_after_skipped_days_covers_every_period_once(tmp_path, smtp_server):
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    job = make_project(tmp_path, smtp_server).resolve_job_def("invoices_daily")
    result = job.execute_in_process(
        tags={
            ASSET_PARTITION_RANGE_START_TAG: "2026-11-01",
            ASSET_PARTITION_RANGE_END_TAG: "2026-11-02",
        },
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success
    (message,) = smtp_server.wait_for_messages(1)
    assert message.parsed()["Subject"] == "Invoices for 2026-11-01: 4 rows"
    name, content = attachment_of(message)
    assert name == "invoices_daily_2026-11-01..2026-11-02.csv"
    rows = list(csv.DictReader(io.StringIO(content)))
    assert [int(r["id"]) for r in rows] == [1, 2, 3, 5]


def test_once_report_runs_its_fixed_period(tmp_path, smtp_server):
    defs = make_project(
        tmp_path,
        smtp_server,
        report_changes={
            "schedule": {
                "every": "once",
                "run_at": "2026-11-03T00:00",
                "start": "2026-11-02",
                "timezone": "America/New_York",
            }
        },
    )
    job = defs.resolve_job_def("invoices_daily")
    assert job.partitions_def is None
    result = job.execute_in_process(instance=DagsterInstance.ephemeral())
    assert result.success
    (message,) = smtp_server.wait_for_messages(1)
    assert message.parsed()["Subject"] == "Invoices for 2026-11-02: 3 rows"


@pytest.mark.parametrize(
    "report_format, options, suffix",
    [
        ("json", {}, ".json"),
        ("parquet", {}, ".parquet"),
        ("csv", {"compress": "gzip"}, ".csv.gz"),
        ("json", {"lines": True, "compress": "zip"}, ".json.zip"),
    ],
)
def test_other_formats_are_stored_and_attached(
    tmp_path, smtp_server, report_format, options, suffix
):
    import gzip
    import json
    import zipfile

    import pyarrow.parquet as pq

    defs = make_project(
        tmp_path, smtp_server, report_changes={"format": report_format, "format_options": options}
    )
    result = run_period(defs)
    assert result.success
    (message,) = smtp_server.wait_for_messages(1)
    name, content = attachment_of(message)
    assert name == f"invoices_daily_2026-11-02{suffix}"
    data = content if isinstance(content, bytes) else content.encode()
    path = tmp_path / name
    path.write_bytes(data)
    if suffix == ".json":
        ids = [row["id"] for row in json.loads(data)]
    elif suffix == ".parquet":
        ids = pq.read_table(path).column("id").to_pylist()
    elif suffix == ".csv.gz":
        ids = [int(r["id"]) for r in csv.DictReader(io.StringIO(gzip.decompress(data).decode()))]
    else:
        with zipfile.ZipFile(path) as archive:
            (inner,) = archive.namelist()
            assert inner == "invoices_daily_2026-11-02.json"
            ids = [json.loads(line)["id"] for line in archive.read(inner).decode().splitlines()]
    assert ids == NOV_2_NEW_YORK_IDS


def test_html_report_can_be_the_email_body(tmp_path, smtp_server):
    defs = make_project(
        tmp_path,
        smtp_server,
        report_changes={
            "format": "html",
            "deliver": [{"email": {"to": ["cfo@example.com"], "inline": True}}],
        },
    )
    assert run_period(defs).success
    (message,) = smtp_server.wait_for_messages(1)
    parsed = message.parsed()
    html = parsed.get_body(preferencelist=("html",)).get_content()
    name, attached = attachment_of(message)
    assert name.endswith(".html")
    # Both travel with the e-mail's CRLF line endings.
    assert html.replace("\r\n", "\n").strip() == attached.replace("\r\n", "\n").strip()
    assert "Müller GmbH" in html
