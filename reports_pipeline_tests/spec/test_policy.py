"""Limits from connections.yaml ``policy``: a report that breaks one is refused at its line."""

from datetime import timedelta
from pathlib import Path

import pytest

from reports_pipeline.spec.connections import Policy
from reports_pipeline.spec.loader import ReportProject, load_project
from reports_pipeline.spec.policy import shortest_gap
from reports_pipeline.spec.yaml_source import SpecError
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report

CRON_UTC = {"every": "cron", "timezone": "UTC"}


def load(tmp_path: Path, reports: dict[str, dict], policy: dict | None = None) -> ReportProject:
    """Write ``reports`` (file name → report) and a connections.yaml with ``policy``; load."""
    for file_name, report in reports.items():
        write_report(tmp_path / "reports", report, file_name)
    settings: dict = {"policy": policy or {}}
    settings["connections"] = {"warehouse": {"kind": "sql", "url": {"env": "WAREHOUSE_URL"}}}
    return load_project([tmp_path / "reports"], write_connections(tmp_path, settings))


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the first line of ``path`` that starts with ``text`` (indent ignored)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip().startswith(text))


def only_error(project: ReportProject) -> SpecError:
    assert len(project.errors) == 1, project.errors
    return project.errors[0]


# policy.max_reports_per_owner


def test_reports_beyond_the_owner_limit_are_refused_at_the_owner_line(tmp_path):
    reports = {f"{n}.yaml": report_dict(name=f"report_{n}") for n in "abc"}
    project = load(tmp_path, reports, {"max_reports_per_owner": 2})
    error = only_error(project)
    assert error.file.endswith("c.yaml")
    assert error.line == line_of(tmp_path / "reports" / "c.yaml", "owner:")
    assert error.field == "owner"
    assert error.message == (
        "owner@example.com owns 3 reports; policy.max_reports_per_owner is 2: the first 2 files "
        "in path order are accepted, this one is not. Give it another owner, retire a report, "
        "or ask for the policy to change"
    )
    assert [r.spec.name for r in project.reports] == ["report_a", "report_b"]


def test_owner_limit_compares_owners_without_case(tmp_path):
    reports = {
        "a.yaml": report_dict(name="report_a", owner="Lead@example.com"),
        "b.yaml": report_dict(name="report_b", owner="lead@example.com"),
    }
    project = load(tmp_path, reports, {"max_reports_per_owner": 1})
    error = only_error(project)
    assert error.file.endswith("b.yaml")
    assert "owns 2 reports; policy.max_reports_per_owner is 1" in error.message


def test_owner_limit_follows_path_order_across_sub_folders(tmp_path):
    write_report(tmp_path / "reports" / "z_team", report_dict(name="report_a"), "a.yaml")
    write_report(tmp_path / "reports" / "a_team", report_dict(name="report_b"), "b.yaml")
    connections = write_connections(tmp_path, {"policy": {"max_reports_per_owner": 1}})
    project = load_project([tmp_path / "reports"], connections)
    assert only_error(project).file.endswith("z_team/a.yaml")


def test_owner_at_the_limit_passes(tmp_path):
    reports = {f"{n}.yaml": report_dict(name=f"report_{n}") for n in "ab"}
    project = load(tmp_path, reports, {"max_reports_per_owner": 2})
    assert project.errors == []
    assert len(project.reports) == 2


def test_default_owner_limit_is_ten(tmp_path):
    reports = {f"r{n:02d}.yaml": report_dict(name=f"report_{n}") for n in range(11)}
    project = load(tmp_path, reports)
    assert only_error(project).file.endswith("r10.yaml")
    assert len(project.reports) == 10


def test_other_owners_are_not_counted(tmp_path):
    reports = {
        "a.yaml": report_dict(name="report_a", owner="one@example.com"),
        "b.yaml": report_dict(name="report_b", owner="two@example.com"),
    }
    assert load(tmp_path, reports, {"max_reports_per_owner": 1}).errors == []


# policy.min_interval


def test_cron_running_more_often_than_min_interval_is_refused_at_schedule(tmp_path):
    report = report_dict(schedule={**CRON_UTC, "cron": "*/2 * * * *"})
    project = load(tmp_path, {"test_report.yaml": report})
    error = only_error(project)
    assert error.line == line_of(tmp_path / "reports" / "test_report.yaml", "schedule:")
    assert error.field == "schedule"
    assert error.message == (
        "runs every 2 minutes; policy.min_interval is 1h: use a cron that runs at most hourly, "
        "or ask for the policy to change"
    )
    assert project.reports == []


def test_cron_at_exactly_min_interval_passes(tmp_path):
    report = report_dict(schedule={**CRON_UTC, "cron": "0 * * * *"})
    assert load(tmp_path, {"test_report.yaml": report}).errors == []


def test_min_interval_uses_the_shortest_gap_of_an_irregular_cron(tmp_path):
    report = report_dict(schedule={**CRON_UTC, "cron": "0,30,31 9 * * 1-5"})
    error = only_error(load(tmp_path, {"test_report.yaml": report}))
    assert error.message.startswith("runs every 1 minute; policy.min_interval is 1h")


def test_cron_limited_to_one_day_of_the_month_is_checked_on_that_day(tmp_path):
    report = report_dict(schedule={**CRON_UTC, "cron": "*/10 * 20 * *"})
    error = only_error(load(tmp_path, {"test_report.yaml": report}))
    assert error.message.startswith("runs every 10 minutes;")


def test_policy_min_interval_in_minutes_allows_the_demo_cadence(tmp_path):
    report = report_dict(schedule={**CRON_UTC, "cron": "*/2 * * * *"})
    assert load(tmp_path, {"test_report.yaml": report}, {"min_interval": "2m"}).errors == []


def test_hourly_report_against_a_two_hour_min_interval(tmp_path):
    report = report_dict(schedule={"every": "hour", "at": "00:15", "timezone": "UTC"})
    error = only_error(load(tmp_path, {"test_report.yaml": report}, {"min_interval": "2h"}))
    assert error.field == "schedule"
    assert error.message == (
        "runs every 1 hour; policy.min_interval is 2h: use a schedule that runs at most once "
        "every 2 hours, or ask for the policy to change"
    )


def test_hourly_report_passes_the_default_min_interval(tmp_path):
    report = report_dict(schedule={"every": "hour", "at": "00:15", "timezone": "UTC"})
    assert load(tmp_path, {"test_report.yaml": report}).errors == []


def test_daily_cron_in_a_dst_zone_passes_a_one_day_min_interval(tmp_path):
    report = report_dict(schedule={**CRON_UTC, "cron": "0 9 * * *", "timezone": "Europe/Berlin"})
    assert load(tmp_path, {"test_report.yaml": report}, {"min_interval": "1d"}).errors == []


def test_hourly_cron_on_fall_back_day_is_still_hourly():
    # 01:00 happens twice on 2026-11-01 in New York: zero apart on the wall clock, 1 h in time.
    assert shortest_gap("0 * 1 11 *", "America/New_York") == timedelta(hours=1)


def test_hourly_cron_on_spring_forward_day_is_hourly():
    # 2026-03-08 in New York has no 02:00; the other hours are still an hour apart.
    assert shortest_gap("0 * 8 3 *", "America/New_York") == timedelta(hours=1)


# policy.max_recipients, policy.allowed_recipient_domains, policy.teams


def test_too_many_recipients_are_refused_at_the_to_line(tmp_path):
    emails = {"to": ["a@example.com", "b@example.com"], "cc": ["c@example.com"]}
    report = report_dict(deliver=[{"email": emails}])
    error = only_error(load(tmp_path, {"test_report.yaml": report}, {"max_recipients": 2}))
    assert error.line == line_of(tmp_path / "reports" / "test_report.yaml", "to:")
    assert error.field == "deliver[0].email.to"
    assert error.message == "3 recipients; the policy allows at most 2 per target"


def test_recipients_at_the_limit_pass(tmp_path):
    emails = {"to": ["a@example.com"], "bcc": ["b@example.com"]}
    report = report_dict(deliver=[{"email": emails}])
    assert load(tmp_path, {"test_report.yaml": report}, {"max_recipients": 2}).errors == []


def test_recipient_outside_the_allowed_domains_is_refused_at_its_line(tmp_path):
    emails = {"to": ["a@example.com"], "bcc": ["leak@other.org"]}
    report = report_dict(deliver=[{"email": emails}])
    policy = {"allowed_recipient_domains": ["example.com", "example.net"]}
    error = only_error(load(tmp_path, {"test_report.yaml": report}, policy))
    assert error.line == line_of(tmp_path / "reports" / "test_report.yaml", "- leak@other.org")
    assert error.field == "deliver[0].email.bcc[0]"
    assert error.message == (
        "leak@other.org: domain other.org is not allowed; allowed: example.com, example.net"
    )


def test_allowed_domains_compare_without_case(tmp_path):
    report = report_dict(deliver=[{"email": {"to": ["a@EXAMPLE.com"]}}])
    policy = {"allowed_recipient_domains": ["Example.COM"]}
    assert load(tmp_path, {"test_report.yaml": report}, policy).errors == []


def test_team_using_a_connection_outside_its_list_is_refused(tmp_path):
    source = {"connection": "warehouse", "sql": "select 1"}
    report = report_dict(team="finance", source=source)
    policy = {"teams": {"finance": {"connections": ["outbox"]}}}
    error = only_error(load(tmp_path, {"test_report.yaml": report}, policy))
    assert error.line == line_of(tmp_path / "reports" / "test_report.yaml", "connection:")
    assert error.field == "source.connection"
    assert error.message == (
        "team 'finance' may use only outbox; ask for 'warehouse' to be added in connections.yaml "
        "policy.teams"
    )


def test_team_using_a_listed_connection_passes(tmp_path):
    source = {"connection": "warehouse", "sql": "select 1"}
    report = report_dict(team="finance", source=source)
    policy = {"teams": {"finance": {"connections": ["warehouse", "outbox"]}}}
    assert load(tmp_path, {"test_report.yaml": report}, policy).errors == []


def test_team_without_a_policy_entry_may_use_any_connection(tmp_path):
    source = {"connection": "warehouse", "sql": "select 1"}
    report = report_dict(team="marketing", source=source)
    policy = {"teams": {"finance": {"connections": ["outbox"]}}}
    assert load(tmp_path, {"test_report.yaml": report}, policy).errors == []


# The policy fields themselves


def test_policy_defaults():
    policy = Policy()
    assert policy.max_reports_per_owner == 10
    assert policy.min_interval == timedelta(hours=1)
    assert policy.max_catchup_periods == 7
    assert policy.max_reports_per_slot == 5


@pytest.mark.parametrize(
    "settings, field, fragment",
    [
        ({"min_interval": "often"}, "policy.min_interval", "'often' is not a duration"),
        ({"max_reports_per_owner": 0}, "policy.max_reports_per_owner", "write at least 1"),
        ({"max_reports_per_slot": 0}, "policy.max_reports_per_slot", "write at least 1"),
        ({"max_catchup_periods": -1}, "policy.max_catchup_periods", "write at least 0"),
    ],
)
def test_bad_policy_value_is_an_error_in_connections_yaml(tmp_path, settings, field, fragment):
    project = load(tmp_path, {"test_report.yaml": report_dict()}, settings)
    errors = [e for e in project.errors if e.field == field]
    assert errors, project.errors
    assert errors[0].file.endswith("connections.yaml")
    assert fragment in errors[0].message


def test_catchup_periods_may_be_zero(tmp_path):
    project = load(tmp_path, {"test_report.yaml": report_dict()}, {"max_catchup_periods": 0})
    assert project.errors == []
    assert project.connections.policy.max_catchup_periods == 0
