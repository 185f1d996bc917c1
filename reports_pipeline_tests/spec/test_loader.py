import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from reports_pipeline.locations import PACKAGE_DIR
from reports_pipeline.spec.loader import load_project
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report


def load_errors(tmp_path: Path, report, connections=None) -> list[str]:
    write_report(
        tmp_path / "reports", report, "test_report.yaml" if isinstance(report, dict) else None
    )
    conn_file = write_connections(tmp_path, connections) if connections is not None else None
    project = load_project([tmp_path / "reports"], conn_file)
    return [str(error) for error in project.errors]


def test_shipped_reports_are_valid():
    project = load_project([PACKAGE_DIR / "reports"], PACKAGE_DIR / "connections.yaml")
    assert project.errors == []
    assert len(project.reports) >= 3


def test_valid_report_gets_policy_timezone_when_it_names_none(tmp_path):
    report = report_dict(schedule={"every": "day", "at": "09:00"})
    write_report(tmp_path / "reports", report)
    connections = write_connections(tmp_path, {"policy": {"timezone": "Europe/Berlin"}})
    project = load_project([tmp_path / "reports"], connections)
    assert project.errors == []
    assert project.reports[0].spec.timezone == "Europe/Berlin"


def test_unknown_field_names_line_and_suggests_the_right_one(tmp_path):
    text = (
        "name: test_report\nowner: owner@example.com\ntitel: Oops\n"
        "source: {sql: select 1}\nschedule: {every: day}\nformat: csv\n"
        "deliver:\n  - email: {to: [a@example.com]}\n"
    )
    errors = load_errors(tmp_path, text)
    assert len(errors) == 1
    assert errors[0].endswith(
        "report.yaml:3: titel: unknown field 'titel'; did you mean 'title'? allowed here: checks, "
        "deliver, description, enabled, format, format_options, max_runtime, name, notify, "
        "owner, retention_days, retry, schedule, send_if, source, tags, team, title"
    )


@pytest.mark.parametrize(
    "changes, field, fragment",
    [
        ({"name": "Weekly-Revenue"}, "name", "e.g. 'weekly_revenue'"),
        ({"name": 12}, "name", "string"),
        ({"owner": "not-an-address"}, "owner", "not a valid email address"),
        ({"format": "docx"}, "format", "'json' or 'parquet' (got 'docx')"),
        ({"schedule": {"every": "fortnight"}}, "schedule.every", "'hour', 'day'"),
        (
            {"schedule": {"every": "cron", "cron": "0 9 * *"}},
            "schedule",
            "not a valid 5-field cron",
        ),
        (
            {"schedule": {"every": "cron", "cron": "61 9 * * *"}},
            "schedule",
            "not a valid 5-field cron",
        ),
        (
            {"schedule": {"every": "day", "timezone": "Mars/Olympus"}},
            "schedule.timezone",
            "unknown time zone",
        ),
        ({"schedule": {"every": "day", "at": "25:00"}}, "schedule.at", "not a time of day"),
        ({"schedule": {"every": "week", "on": "funday"}}, "schedule", "needs on: a weekday"),
        ({"schedule": {"every": "month", "on": 32}}, "schedule", 'a day 1..31 or "last"'),
        (
            {"schedule": {"every": "day", "cron": "0 9 * * *"}},
            "schedule",
            "only used with every: cron",
        ),
        (
            {"source": {"sql": "select 1", "params": {"period_start": 1}}},
            "source.params",
            "bound by the pipeline",
        ),
        ({"source": {"params": {}}}, "source", "needs sql:"),
        ({"deliver": []}, "deliver", "at least 1"),
        (
            {"deliver": [{"email": {"to": ["x@example.com"], "subjct": "hi"}}]},
            "deliver[0].email.subjct",
            "did you mean 'subject'",
        ),
        (
            {"deliver": [{"email": {"to": ["bad address"]}}]},
            "deliver[0].email.to[0]",
            "not a valid email address",
        ),
        ({"deliver": [{"email": {"to": []}}]}, "deliver[0].email", "at least one recipient"),
        ({"deliver": [{"pigeon": {}}]}, "deliver[0].pigeon", "unknown field 'pigeon'"),
        (
            {"format_options": {"delimter": ";"}},
            "format_options.delimter",
            "did you mean 'delimiter'",
        ),
        ({"source": {"sql": "select 1", "timeout": "soon"}}, "source.timeout", "not a duration"),
    ],
)
def test_bad_field_gets_error_naming_file_line_and_field(tmp_path, changes, field, fragment):
    errors = load_errors(tmp_path, report_dict(**changes))
    assert errors, "expected a validation error"
    matching = [e for e in errors if f": {field}: " in e]
    assert matching, errors
    assert fragment in matching[0]
    assert re.search(rf"test_report\.yaml:\d+: {re.escape(field)}: ", matching[0])


def test_missing_required_field(tmp_path):
    errors = load_errors(tmp_path, report_dict(owner=None))
    assert len(errors) == 1
    assert ": owner: required field is missing" in errors[0]


def test_yaml_syntax_error_names_the_line(tmp_path):
    errors = load_errors(tmp_path, "name: x\nowner: [unclosed\nformat: csv\n")
    assert len(errors) == 1
    assert "YAML syntax error" in errors[0]
    assert "report.yaml:" in errors[0]


def test_duplicate_yaml_key_is_an_error_not_a_silent_overwrite(tmp_path):
    errors = load_errors(tmp_path, "name: a\nname: b\n")
    assert "duplicate key 'name' (first on line 1)" in errors[0]
    assert "report.yaml:2:" in errors[0]


def test_unquoted_on_and_time_mean_what_the_analyst_wrote(tmp_path):
    text = (
        "name: test_report\nowner: owner@example.com\nsource: {sql: select 1}\n"
        "schedule:\n  every: week\n  on: monday\n  at: 9:30\nformat: csv\n"
        "deliver:\n  - email: {to: [a@example.com]}\n"
    )
    write_report(tmp_path / "reports", text)
    project = load_project([tmp_path / "reports"], None)
    assert project.errors == []
    schedule = project.reports[0].spec.schedule
    assert schedule.on == "monday"
    assert (schedule.at.hour, schedule.at.minute) == (9, 30)


def test_a_duplicate_report_name_is_refused_in_every_file_that_claims_it(tmp_path):
    write_report(tmp_path / "reports", report_dict(), "a.yaml")
    write_report(tmp_path / "reports", report_dict(), "b.yaml")
    write_report(tmp_path / "reports", report_dict(name="other"), "c.yaml")
    project = load_project([tmp_path / "reports"], None)
    # Neither file wins by its place in the folder: a newcomer cannot replace a running report.
    assert [r.path.name for r in project.reports] == ["c.yaml"]
    messages = sorted(str(error) for error in project.errors)
    assert len(messages) == 2
    assert re.search(
        r"a\.yaml:1: name: duplicate report name 'test_report' \(also in \S*b\.yaml\)", messages[0]
    )
    assert re.search(
        r"b\.yaml:1: name: duplicate report name 'test_report' \(also in \S*a\.yaml\)", messages[1]
    )
    assert "none of these files is scheduled until all but one are renamed" in messages[0]


def test_a_duplicate_name_counts_even_when_the_other_file_has_other_errors(tmp_path):
    write_report(tmp_path / "reports", report_dict(), "a.yaml")
    write_report(
        tmp_path / "reports",
        report_dict(source={"sql": "select 1", "connection": "nope"}),
        "b.yaml",
    )
    project = load_project([tmp_path / "reports"], None)
    assert project.reports == []
    assert {Path(file).name for file in project.errors_by_file()} == {"a.yaml", "b.yaml"}


def test_unknown_connection_lists_the_known_ones(tmp_path):
    connections = {"connections": {"warehouse": {"kind": "sql", "url": {"env": "WAREHOUSE_URL"}}}}
    errors = load_errors(
        tmp_path, report_dict(source={"sql": "select 1", "connection": "warehose"}), connections
    )
    assert len(errors) == 1
    assert ": source.connection: unknown connection 'warehose'" in errors[0]
    assert "demo_warehouse, warehouse" in errors[0]


def test_connection_of_the_wrong_kind(tmp_path):
    connections = {"connections": {"warehouse": {"kind": "sql", "url": {"env": "WAREHOUSE_URL"}}}}
    report = report_dict(deliver=[{"email": {"to": ["a@example.com"], "connection": "warehouse"}}])
    errors = load_errors(tmp_path, report, connections)
    assert "deliver[0].email.connection: connection 'warehouse' is kind sql" in errors[0]


def test_template_with_unknown_variable_is_caught_before_any_run(tmp_path):
    report = report_dict(deliver=[{"email": {"to": ["a@example.com"], "subject": "{{ titel }}"}}])
    errors = load_errors(tmp_path, report)
    assert len(errors) == 1
    assert "deliver[0].email.subject: template error: 'titel' is undefined" in errors[0]


def test_template_syntax_error(tmp_path):
    report = report_dict(deliver=[{"email": {"to": ["a@example.com"], "body": "{% if %}"}}])
    errors = load_errors(tmp_path, report)
    assert "deliver[0].email.body: template error:" in errors[0]


def test_sandbox_blocks_python_internals_in_templates(tmp_path):
    report = report_dict(
        deliver=[{"email": {"to": ["a@example.com"], "subject": "{{ name.__class__.__mro__ }}"}}]
    )
    errors = load_errors(tmp_path, report)
    assert "template error" in errors[0]


def test_body_template_outside_the_report_folder_is_refused(tmp_path):
    (tmp_path / "secret.txt").write_text("x")
    report = report_dict(
        deliver=[{"email": {"to": ["a@example.com"], "body_template": "../secret.txt"}}]
    )
    errors = load_errors(tmp_path, report)
    assert "body_template must be a file inside the report's folder" in errors[0]


def test_policy_limits_recipients_and_domains(tmp_path):
    connections = {"policy": {"max_recipients": 1, "allowed_recipient_domains": ["example.com"]}}
    report = report_dict(deliver=[{"email": {"to": ["a@example.com"], "cc": ["b@other.org"]}}])
    errors = load_errors(tmp_path, report, connections)
    assert any("2 recipients; the policy allows at most 1" in e for e in errors)
    assert any(
        "deliver[0].email.cc[0]: b@other.org: domain other.org is not allowed" in e for e in errors
    )


def test_password_in_connection_url_is_refused(tmp_path):
    connections = {
        "connections": {"warehouse": {"kind": "sql", "url": "postgresql://u:hunter2@db/x"}}
    }
    errors = load_errors(tmp_path, report_dict(), connections)
    assert any("connections.warehouse.url" in e and "environment variable" in e for e in errors)
    assert not any("hunter2" in e for e in errors)


def test_literal_smtp_password_is_refused_without_echoing_it(tmp_path):
    connections = {
        "connections": {
            "mail": {
                "kind": "smtp",
                "host": "smtp.example.com",
                "from": "r@example.com",
                "password": "hunter2",
            }
        }
    }
    errors = load_errors(tmp_path, report_dict(), connections)
    assert any("connections.mail.password: a secret is never written in YAML" in e for e in errors)
    assert not any("hunter2" in e for e in errors)


def test_unknown_connection_kind_in_connections_file(tmp_path):
    errors = load_errors(tmp_path, report_dict(), {"connections": {"x": {"kind": "ftp"}}})
    assert any("connections.x.kind: unknown connection kind 'ftp'" in e for e in errors)


def test_one_bad_file_does_not_stop_the_good_ones(tmp_path):
    write_report(tmp_path / "reports", report_dict(), "good.yaml")
    write_report(
        tmp_path / "reports" / "team_a", report_dict(name="other", format="docx"), "bad.yaml"
    )
    project = load_project([tmp_path / "reports"], None)
    assert [r.spec.name for r in project.reports] == ["test_report"]
    assert list(project.errors_by_file()) == [str(Path("reports/team_a/bad.yaml"))] or list(
        project.errors_by_file()
    )[0].endswith("team_a/bad.yaml")


def test_pdf_template_must_exist_inside_the_report_folder(tmp_path):
    missing = load_errors(
        tmp_path, report_dict(format="pdf", format_options={"template": "t.html.j2"})
    )
    assert any(
        "format_options.template: no file 't.html.j2' next to this report" in e for e in missing
    )
    outside = load_errors(
        tmp_path, report_dict(format="pdf", format_options={"template": "../t.j2"})
    )
    assert any("must be a file inside the report's folder" in e for e in outside)


# skip: [weekends] with a cron that would never run on a weekday


def _cron_report(cron: str) -> dict:
    return report_dict(
        schedule={"every": "cron", "cron": cron, "timezone": "UTC", "skip": ["weekends"]}
    )


def _fires_only_at_weekends_in_28_years(cron: str) -> bool:
    """Ground truth by brute force: every day the cron fires on in 2001-2028.

    28 years without a skipped leap year repeat every (month, day, weekday, leap year)
    combination the 400-year cycle has.
    """
    from dagster._utils.schedules import CroniterShim

    day_fields = cron.split(maxsplit=2)[2]
    ticks = CroniterShim(f"0 0 {day_fields}", datetime(2000, 12, 31))
    fired = False
    while (tick := ticks.get_next(datetime)) < datetime(2029, 1, 1):
        if tick.weekday() < 5:
            return False
        fired = True
    return fired


def test_first_of_the_month_with_skip_weekends_is_accepted(tmp_path):
    # This was refused because the check looked at two weeks of January 2026 only, and
    # 1 February 2026 is a Sunday; the 1st of a month is a weekday in most months.
    assert load_errors(tmp_path, _cron_report("0 9 1 * *")) == []


@pytest.mark.parametrize(
    "cron",
    [
        "0 9 29 2 *",  # a leap day: also a weekday, some years
        "0 9 1 1 *",
        "0 9 L * *",  # the last day of each month
        "0 9 1 * 6",  # the 1st or any Saturday (day-of-month OR day-of-week)
        "0 9 * * 5-7",  # Friday to Sunday
        "0 9 * * 1#1",  # the first Monday
    ],
)
def test_crons_that_also_fire_on_weekdays_are_accepted_with_skip_weekends(tmp_path, cron):
    assert load_errors(tmp_path, _cron_report(cron)) == []


@pytest.mark.parametrize(
    "cron",
    ["0 9 * * 6,0", "0 9 * * sat", "0 9 * * sat-sun", "*/30 8-18 * 1-6 0", "0 9 * * 6#1"],
)
def test_weekend_only_crons_are_refused_with_skip_weekends(tmp_path, cron):
    errors = load_errors(tmp_path, _cron_report(cron))
    assert any(
        f'cron "{cron}" runs only at weekends; with skip: [weekends] it would never run' in error
        for error in errors
    ), errors


@pytest.mark.parametrize(
    "cron",
    [
        "0 9 1 * *",
        "0 9 29 2 *",
        "0 9 1 1 *",
        "0 9 L * *",
        "0 9 1 * 6",
        "0 9 * * 5-7",
        "0 9 * * 1#1",
        "0 9 * * L5",
        "0 9 * * 6,0",
        "0 9 * * sat",
        "0 9 * * 6#5",
        "0 9 30 4 0",
        "0 9 */2 2 sun",
    ],
)
def test_weekend_check_agrees_with_every_day_of_a_full_calendar_cycle(cron):
    from reports_pipeline.spec.report import _runs_only_at_weekends

    assert _runs_only_at_weekends(cron) == _fires_only_at_weekends_in_28_years(cron)


@pytest.mark.parametrize("key", ["[", "x[0]", "function-after", "0"])
def test_an_unknown_key_is_named_whatever_it_looks_like(tmp_path, key):
    text = yaml.safe_dump({**report_dict(), key: 1}, sort_keys=False)
    errors = load_errors(tmp_path, text)
    assert len(errors) == 1
    assert f"unknown field '{key}'; " in errors[0]


def test_a_loader_failure_costs_one_file_not_the_others(tmp_path, monkeypatch):
    from reports_pipeline.spec import loader

    def fails_on_one_file(spec, document, path, connections):
        if path.name == "unlucky.yaml":
            raise RuntimeError("secret=hunter2 in an unexpected place")
        return checked(spec, document, path, connections)

    checked = loader.check_report
    monkeypatch.setattr(loader, "check_report", fails_on_one_file)
    write_report(tmp_path / "reports", report_dict(), "good.yaml")
    write_report(tmp_path / "reports", report_dict(name="other"), "unlucky.yaml")
    project = load_project([tmp_path / "reports"], None)
    assert [r.spec.name for r in project.reports] == ["test_report"]
    (error,) = [str(error) for error in project.errors]
    assert error.endswith(
        "unlucky.yaml:1: (file): this file could not be checked (an unexpected RuntimeError in"
        " the loader); please report it with the file"
    )


def test_a_body_template_that_is_not_text_is_an_error_not_a_crash(tmp_path):
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "body.html.j2").write_bytes(b"\xff\xfe{{ name }}")
    email = {"to": ["someone@example.com"], "body_template": "body.html.j2"}
    errors = load_errors(tmp_path, report_dict(deliver=[{"email": email}]))
    assert len(errors) == 1
    assert "deliver[0].email.body_template: the template is not UTF-8 text" in errors[0]


def test_symlink_loops_and_devices_in_the_folder_do_not_stall_loading(tmp_path):
    reports = tmp_path / "reports"
    write_report(reports, report_dict(), "good.yaml")
    (reports / "up").symlink_to("..")
    (reports / "self").symlink_to(".")
    (reports / "zero.yaml").symlink_to("/dev/zero")
    project = load_project([reports], None)
    assert [r.path.name for r in project.reports] == ["good.yaml"]
    assert project.errors == []
