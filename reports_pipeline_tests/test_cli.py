"""The `reports` command as an analyst uses it."""

import csv
import re

from click.testing import CliRunner

from reports_pipeline.cli import cli
from reports_pipeline_tests.jobs.warehouses import create_sqlite_warehouse
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report


def invoke(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_validate_shipped_reports_passes():
    result = invoke("validate")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: 4 reports valid")


def test_validate_prints_file_line_field_and_fails(tmp_path):
    write_report(
        tmp_path, report_dict(schedule={"every": "day", "timezone": "Mars/Base"}), "bad.yaml"
    )
    write_report(tmp_path, report_dict(name="fine"), "fine.yaml")
    result = invoke("validate", str(tmp_path), "--connections", str(tmp_path / "none.yaml"))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert re.match(
        r".*bad\.yaml:\d+: schedule\.timezone: unknown time zone 'Mars/Base'; use an IANA", lines[0]
    )
    assert "Traceback" not in result.output


def test_validate_yaml_syntax_error_is_one_line_not_a_traceback(tmp_path):
    (tmp_path / "broken.yaml").write_text("name: [\n")
    result = invoke("validate", str(tmp_path / "broken.yaml"))
    assert result.exit_code == 1
    assert "broken.yaml:2: (file): YAML syntax error" in result.output
    assert "Traceback" not in result.output


def test_validate_missing_path(tmp_path):
    result = invoke("validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code != 0
    assert "no such file or folder" in result.output


def test_list_shows_cadence_cron_and_zone():
    result = invoke("list")
    assert result.exit_code == 0
    assert re.search(
        r"weekly_revenue_by_region\s+week\s+0 8 \* \* 1\s+America/New_York\s+xlsx", result.output
    )


def test_preview_shows_local_and_utc_times_and_periods(tmp_path):
    write_report(
        tmp_path / "reports",
        report_dict(
            schedule={
                "every": "day",
                "at": "09:00",
                "timezone": "America/New_York",
                "start": "2026-01-01",
            }
        ),
    )
    env = {
        "REPORTS_DIR": str(tmp_path / "reports"),
        "REPORTS_CONNECTIONS": str(tmp_path / "none.yaml"),
    }
    result = invoke(
        "preview", "test_report", "--count", "2", "--after", "2026-11-02T12:00", env=env
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1] == (
        "run 2026-11-03 09:00 EST (2026-11-03 14:00 UTC)  covers 2026-11-02: 2026-11-02 00:00 – "
        "2026-11-03 00:00 America/New_York (2026-11-02 05:00 – 2026-11-03 05:00 UTC)"
    )
    assert len(lines) == 3


def test_preview_unknown_report(tmp_path):
    result = invoke("preview", "nope")
    assert result.exit_code != 0
    assert "no valid report named 'nope'" in result.output


def test_run_no_deliver_renders_the_period_and_prints_the_path(tmp_path):
    url = create_sqlite_warehouse(tmp_path / "wh.sqlite")
    write_connections(
        tmp_path,
        {
            "connections": {"warehouse": {"kind": "sql", "url": url}},
            "storage": {"path": str(tmp_path / "files")},
        },
    )
    write_report(
        tmp_path / "reports",
        report_dict(
            source={
                "connection": "warehouse",
                "sql": "select id from invoices where issued_at >= "
                ":period_start and issued_at < :period_end",
            },
            schedule={"every": "day", "timezone": "America/New_York", "start": "2026-01-01"},
        ),
    )
    env = {
        "REPORTS_DIR": str(tmp_path / "reports"),
        "REPORTS_CONNECTIONS": str(tmp_path / "connections.yaml"),
        "DAGSTER_HOME": "",
    }
    result = invoke("run", "test_report", "--period", "2026-11-02", "--no-deliver", env=env)
    assert result.exit_code == 0, result.output
    path = tmp_path / "files" / "test_report" / "2026-11-02" / "test_report_2026-11-02.csv"
    assert f"3 rows → {path}" in result.output
    assert list(csv.reader(path.open())) == [["id"], ["1"], ["2"], ["3"]]
    assert "not delivered" in result.output


def test_run_rejects_a_period_that_does_not_exist(tmp_path):
    write_report(
        tmp_path / "reports",
        report_dict(schedule={"every": "day", "timezone": "UTC", "start": "2026-01-01"}),
    )
    env = {
        "REPORTS_DIR": str(tmp_path / "reports"),
        "REPORTS_CONNECTIONS": str(tmp_path / "none.yaml"),
    }
    bad_shape = invoke("run", "test_report", "--period", "last tuesday", env=env)
    assert bad_shape.exit_code != 0 and "periods look like 'YYYY-MM-DD'" in bad_shape.output
    too_early = invoke("run", "test_report", "--period", "2025-06-01", env=env)
    assert too_early.exit_code != 0 and "is not available" in too_early.output
