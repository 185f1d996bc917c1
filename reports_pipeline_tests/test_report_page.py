"""The job page's account of a report: everything an analyst wrote, no secret."""

from reports_pipeline.definitions import build_definitions
from reports_pipeline.report_page import report_job_metadata, report_page
from reports_pipeline.spec.loader import load_project
from reports_pipeline_tests.report_files import report_dict, write_report, write_test_connections

SQL = "select region, sum(amount) as total\nfrom invoices\nwhere status = :status\ngroup by region"
TOKEN = "T000/B000/hook-token-in-the-path"
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def _every_kind_of_target(tmp_path, monkeypatch):
    monkeypatch.setenv("SFTP_PASSWORD", "sftp-password-value")
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-slack-token-value")
    connections = write_test_connections(
        tmp_path,
        {
            "mail": {"kind": "smtp", "host": "smtp.example.com", "from": "r@example.com"},
            "files": {
                "kind": "sftp",
                "host": "sftp.example.com",
                "username": "reports",
                "password": {"env": "SFTP_PASSWORD"},
                "host_key": HOST_KEY,
            },
            "archive": {"kind": "s3", "bucket": "team-archive"},
            "hook": {"kind": "webhook", "url": f"https://hooks.example.com/services/{TOKEN}"},
            "chat": {"kind": "slack", "token": {"env": "SLACK_TOKEN"}},
        },
    )
    report = report_dict(
        name="revenue_by_region",
        title="Revenue by region",
        description="Paid revenue per region.",
        team="finance",
        source={"connection": "warehouse", "sql": SQL, "params": {"status": "paid"}},
        schedule={
            "every": "day",
            "at": "09:00",
            "timezone": "America/New_York",
            "skip": ["weekends", "holidays"],
            "holiday_calendar": "US",
        },
        format="csv",
        format_options={"delimiter": ";"},
        deliver=[
            {"email": {"to": ["cfo@example.com"], "bcc": ["audit@example.com"]}},
            {"sftp": {"connection": "files", "path": "/drop/{{ name }}.{{ ext }}"}},
            {"s3": {"connection": "archive"}},
            {"webhook": {"connection": "hook"}},
            {"slack": {"connection": "chat", "channel": "#finance"}},
        ],
    )
    write_report(tmp_path / "reports", report)
    project = load_project([tmp_path / "reports"], connections)
    assert not project.errors, project.errors
    (loaded,) = project.reports
    return loaded, project.connections, connections


def test_the_page_shows_the_sql_params_cadence_format_targets_owner_and_file(tmp_path, monkeypatch):
    report, connections, _ = _every_kind_of_target(tmp_path, monkeypatch)
    page = report_page(report, connections)
    assert f"```sql\n{SQL}\n```" in page
    assert "- `:status` = `paid`" in page
    assert "every weekday at 09:00 (America/New_York), skipping US holidays" in page
    assert "**Format** `csv`\n- delimiter: `;`\n" in page and "- quoting: `needed`" in page
    assert "**Owner** owner@example.com · team `finance`" in page
    assert f"**Report file** `{report.shown_as}`" in page and report.shown_as.endswith(".yaml")
    assert "`reports preview revenue_by_region`" in page
    targets = page.split("**Delivers to**\n", 1)[1].splitlines()
    assert targets == [
        "1. **email** to cfo@example.com; bcc audit@example.com (connection `mail`)",
        "2. **sftp** `/drop/{{ name }}.{{ ext }}` on `sftp.example.com` (connection `files`)",
        "3. **s3** `s3://team-archive/reports/{{ name }}/{{ period.key }}.{{ ext }}`"
        " (connection `archive`)",
        "4. **webhook** json to host `hooks.example.com` (connection `hook`)",
        "5. **slack** channel `#finance` (connection `chat`)",
    ]


def test_no_secret_reaches_the_page_a_webhook_shows_its_host_only(tmp_path, monkeypatch):
    report, connections, _ = _every_kind_of_target(tmp_path, monkeypatch)
    shown = report_page(report, connections) + repr(report_job_metadata(report, connections))
    for secret in ("sftp-password-value", "xoxb-slack-token-value", TOKEN, "/services/"):
        assert secret not in shown


def test_the_job_carries_the_page_as_description_and_the_short_facts_as_metadata(
    tmp_path, monkeypatch
):
    report, connections, connections_file = _every_kind_of_target(tmp_path, monkeypatch)
    job = build_definitions([tmp_path / "reports"], connections_file).resolve_job_def(
        "revenue_by_region"
    )
    assert job.description == report_page(report, connections)
    metadata = {key: value.value for key, value in job.metadata.items()}
    assert metadata["cadence"] == (
        "every weekday at 09:00 (America/New_York), skipping US holidays"
    )
    assert metadata["owner"] == "owner@example.com" and metadata["team"] == "finance"
    assert metadata["report file"] == report.shown_as
    assert metadata["next runs"] == "reports preview revenue_by_region"
    assert metadata["delivers to"].split(" · ")[0] == (
        "email to cfo@example.com; bcc audit@example.com (connection mail)"
    )
    assert metadata["delivers to"].split(" · ")[3] == (
        "webhook json to host hooks.example.com (connection hook)"
    )


def test_backticks_in_the_sql_and_values_do_not_break_out_of_their_code(tmp_path):
    connections = write_test_connections(tmp_path)
    sql = "select 1 as `one` -- ``` not the end of the block"
    write_report(
        tmp_path / "reports",
        report_dict(source={"connection": "warehouse", "sql": sql, "params": {"p": "a`b"}}),
    )
    project = load_project([tmp_path / "reports"], connections)
    (report,) = project.reports
    page = report_page(report, project.connections)
    assert f"````sql\n{sql}\n````" in page
    assert "- `:p` = ``a`b``" in page


def test_a_report_type_source_shows_the_type_and_its_parameters_instead_of_sql(tmp_path):
    connections = write_test_connections(tmp_path)
    source = {"report_type": "invoice_aging", "params": {"buckets": [30, 60]}}
    write_report(tmp_path / "reports", report_dict(source=source))
    project = load_project([tmp_path / "reports"], connections)
    assert not project.errors, project.errors
    (report,) = project.reports
    page = report_page(report, project.connections)
    assert "**Report type** `invoice_aging` on connection `demo_warehouse`" in page
    assert "**Parameters**\n- `buckets` = `[30, 60]`\n" in page
    assert "```sql" not in page and ":period_start" not in page
