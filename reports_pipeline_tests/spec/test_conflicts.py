"""Reports taken together: copies of one another, and too many due in the same minute."""

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from reports_pipeline.scheduling.cadence import schedule_cron
from reports_pipeline.spec import policy
from reports_pipeline.spec.conflicts import (
    crowded_slot_warnings,
    past_run_at_warnings,
    schedule_conflicts,
)
from reports_pipeline.spec.connections import ConnectionsFile, Policy
from reports_pipeline.spec.loader import LoadedReport, ReportProject, load_project, parse_report
from reports_pipeline.spec.yaml_source import SpecError, YamlDocument
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report

WAREHOUSE_SQL = {"connection": "warehouse", "sql": "select 1"}


def daily(at: str, zone: str = "UTC") -> dict:
    return {"every": "day", "at": at, "timezone": zone}


def load(tmp_path: Path, reports: dict[str, dict], policy: dict | None = None) -> ReportProject:
    """Write ``reports`` (file name → report) and a connections.yaml with ``policy``; load."""
    for file_name, report in reports.items():
        write_report(tmp_path / "reports", report, file_name)
    settings = {
        "connections": {"warehouse": {"kind": "sql", "url": {"env": "WAREHOUSE_URL"}}},
        "policy": policy or {},
    }
    return load_project([tmp_path / "reports"], write_connections(tmp_path, settings))


def crowd(count: int, schedule: dict, **changes) -> dict[str, dict]:
    """``count`` reports r1..rN with the same schedule (different queries, so not copies)."""
    return {
        f"r{n}.yaml": report_dict(
            name=f"r{n}", schedule=schedule, source={"sql": f"select {n}"}, **changes
        )
        for n in range(1, count + 1)
    }


def line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip().startswith(text))


def only_warning(project: ReportProject) -> SpecError:
    assert project.errors == []
    assert len(project.warnings) == 1, project.warnings
    return project.warnings[0]


# Copies


def test_copy_of_another_report_is_a_warning_on_the_second_naming_the_first(tmp_path):
    first = report_dict(name="first", source={"sql": "select id\nfrom invoices"})
    second = report_dict(name="second", source={"sql": "select   id from\n  invoices  "})
    project = load(tmp_path, {"a.yaml": first, "b.yaml": second})
    warning = only_warning(project)
    assert warning.severity == "warning"
    assert warning.file.endswith("b.yaml")
    assert warning.line == line_of(tmp_path / "reports" / "b.yaml", "name:")
    assert warning.field == "name"
    assert warning.message == (
        f"same query, schedule and recipients as {tmp_path / 'reports' / 'a.yaml'}: one of them "
        "is probably a copy"
    )
    assert [r.spec.name for r in project.reports] == ["first", "second"]


def test_copy_with_recipients_in_another_order_and_case_is_still_a_copy(tmp_path):
    emails = {"to": ["a@example.com", "b@example.com"]}
    reordered = {"to": ["B@example.com", "a@example.com"]}
    reports = {
        "a.yaml": report_dict(name="first", deliver=[{"email": emails}]),
        "b.yaml": report_dict(name="second", deliver=[{"email": reordered}]),
    }
    assert only_warning(load(tmp_path, reports)).file.endswith("b.yaml")


def test_third_copy_names_the_first_file(tmp_path):
    reports = {f"{n}.yaml": report_dict(name=f"report_{n}") for n in "abc"}
    warnings = load(tmp_path, reports).warnings
    assert [w.file[-6:] for w in warnings] == ["b.yaml", "c.yaml"]
    assert all("as " + str(tmp_path / "reports" / "a.yaml") in w.message for w in warnings)


def test_reports_differing_in_recipients_are_not_copies(tmp_path):
    reports = {
        "a.yaml": report_dict(name="first"),
        "b.yaml": report_dict(name="second", deliver=[{"email": {"to": ["x@example.com"]}}]),
    }
    assert load(tmp_path, reports).warnings == []


def test_reports_differing_in_params_are_not_copies(tmp_path):
    reports = {
        "a.yaml": report_dict(name="first", source={"sql": "select :s", "params": {"s": "paid"}}),
        "b.yaml": report_dict(name="second", source={"sql": "select :s", "params": {"s": "open"}}),
    }
    assert load(tmp_path, reports).warnings == []


def test_reports_differing_in_schedule_are_not_copies(tmp_path):
    reports = {
        "a.yaml": report_dict(name="first", schedule=daily("09:00")),
        "b.yaml": report_dict(name="second", schedule=daily("09:00", "Europe/Berlin")),
    }
    assert load(tmp_path, reports).warnings == []


def test_reports_differing_in_source_connection_are_not_copies(tmp_path):
    reports = {
        "a.yaml": report_dict(name="first"),
        "b.yaml": report_dict(name="second", source=WAREHOUSE_SQL),
    }
    assert load(tmp_path, reports).warnings == []


# Crowded minutes


def test_more_reports_than_the_slot_limit_on_one_connection_is_one_warning(tmp_path):
    project = load(tmp_path, crowd(6, daily("09:00")))
    warning = only_warning(project)
    assert warning.severity == "warning"
    assert warning.file.endswith("r6.yaml")
    assert warning.line == line_of(tmp_path / "reports" / "r6.yaml", "schedule:")
    assert warning.field == "schedule"
    assert warning.message == (
        "6 reports on connection 'demo_warehouse' are due at 09:00 UTC every day "
        "(r1, r2, r3, r4, r5, r6); policy.max_reports_per_slot is 5: stagger their `at:` times "
        "(e.g. 09:05, 09:10)"
    )
    assert len(project.reports) == 6


def test_reports_at_the_slot_limit_pass(tmp_path):
    assert load(tmp_path, crowd(5, daily("09:00"))).warnings == []


def test_slot_limit_comes_from_the_policy(tmp_path):
    warning = only_warning(load(tmp_path, crowd(3, daily("09:00")), {"max_reports_per_slot": 2}))
    assert "3 reports on connection" in warning.message
    assert "policy.max_reports_per_slot is 2" in warning.message


def test_reports_on_different_connections_do_not_crowd_each_other(tmp_path):
    reports = crowd(3, daily("09:00"))
    for n in (4, 5, 6):
        source = {**WAREHOUSE_SQL, "sql": f"select {n}"}
        reports[f"r{n}.yaml"] = report_dict(name=f"r{n}", schedule=daily("09:00"), source=source)
    assert load(tmp_path, reports, {"max_reports_per_slot": 3}).warnings == []


def test_the_same_instant_in_different_zones_is_the_same_slot(tmp_path):
    reports = crowd(2, daily("09:00"))
    # 04:00 in New York is 09:00 UTC in winter, when the sample week is.
    reports["r3.yaml"] = report_dict(
        name="r3", schedule=daily("04:00", "America/New_York"), source={"sql": "select 3"}
    )
    warning = only_warning(load(tmp_path, reports, {"max_reports_per_slot": 2}))
    assert warning.message == (
        "3 reports on connection 'demo_warehouse' are due at 09:00 UTC every day (r1, r2, r3); "
        "policy.max_reports_per_slot is 2: stagger their `at:` times "
        "(e.g. 04:05, 04:10 America/New_York)"
    )


def test_weekly_crowd_names_its_weekday(tmp_path):
    reports = crowd(2, daily("09:00"))
    weekly = {"every": "week", "on": "monday", "at": "09:00", "timezone": "UTC"}
    reports["r3.yaml"] = report_dict(name="r3", schedule=weekly, source={"sql": "select 3"})
    warning = only_warning(load(tmp_path, reports, {"max_reports_per_slot": 2}))
    assert "are due at 09:00 UTC on Mondays (r1, r2, r3)" in warning.message


def test_monthly_crowd_names_its_day_of_the_month(tmp_path):
    monthly = {"every": "month", "on": 1, "at": "06:00", "timezone": "UTC"}
    warning = only_warning(load(tmp_path, crowd(3, monthly), {"max_reports_per_slot": 2}))
    assert "are due at 06:00 UTC on day 1 of the month (r1, r2, r3)" in warning.message


def test_hourly_crowd_is_one_warning_not_one_per_hour(tmp_path):
    hourly = {"every": "hour", "at": "00:00", "timezone": "UTC"}
    warning = only_warning(load(tmp_path, crowd(3, hourly), {"max_reports_per_slot": 2}))
    assert "are due every hour at :00 UTC (r1, r2, r3)" in warning.message
    assert warning.message.endswith("(e.g. 00:05, 00:10)")


def test_a_larger_crowd_inside_a_daily_one_is_told_separately(tmp_path):
    reports = crowd(2, daily("09:00"))
    weekly = {"every": "week", "on": "monday", "at": "09:00", "timezone": "UTC"}
    reports["r3.yaml"] = report_dict(name="r3", schedule=weekly, source={"sql": "select 3"})
    warnings = load(tmp_path, reports, {"max_reports_per_slot": 1}).warnings
    assert [w.message.split(" (")[0] for w in warnings] == [
        "2 reports on connection 'demo_warehouse' are due at 09:00 UTC every day",
        "3 reports on connection 'demo_warehouse' are due at 09:00 UTC on Mondays",
    ]


def test_paused_reports_do_not_count_towards_a_slot(tmp_path):
    reports = crowd(6, daily("09:00"))
    reports["r6.yaml"] = {**reports["r6.yaml"], "enabled": False}
    assert load(tmp_path, reports).warnings == []


def test_reports_a_minute_apart_are_not_in_the_same_slot(tmp_path):
    reports = crowd(5, daily("09:00"))
    reports["r6.yaml"] = report_dict(name="r6", schedule=daily("09:01"), source={"sql": "x"})
    assert load(tmp_path, reports).warnings == []


# Cost: the checks run on every load of the code location.


def loaded_report(name: str, schedule: dict) -> LoadedReport:
    data = report_dict(name=name, schedule=schedule, source={"sql": f"select '{name}'"})
    document = YamlDocument(path=f"{name}.yaml", data=data)
    return LoadedReport(spec=parse_report(document), path=Path(document.path), document=document)


def test_conflict_checks_over_a_thousand_reports_walk_each_schedule_once():
    zones = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo", "Australia/Sydney"]
    reports = []
    for n in range(1000):
        zone = zones[n % len(zones)]
        at = f"{n % 24:02d}:{(n * 7) % 60:02d}"
        schedules = [
            daily(at, zone),
            {"every": "hour", "at": f"00:{n % 60:02d}", "timezone": zone},
            {"every": "week", "on": "friday", "at": at, "timezone": zone},
            {"every": "month", "on": "last", "at": at, "timezone": zone},
            {"every": "cron", "cron": f"{n % 60} {n % 24} * * 1-5", "timezone": zone},
        ]
        reports.append(loaded_report(f"report_{n}", schedules[n % len(schedules)]))
    policy.sample_ticks.cache_clear()  # a cold start: the first load of a code location
    schedule_conflicts(reports, ConnectionsFile().with_builtins())
    # The cost is in walking a week of ticks: once per distinct (cron, zone), not per report
    # (the time this takes is a benchmark's business, not a test's).
    distinct = {(schedule_cron(r.spec.schedule), r.spec.timezone) for r in reports}
    assert policy.sample_ticks.cache_info().misses == len(distinct) < len(reports)


def test_crowd_check_works_on_reports_in_memory():
    reports = [loaded_report(f"report_{n}", daily("09:00")) for n in range(3)]
    warnings = crowded_slot_warnings(reports, Policy(max_reports_per_slot=2))
    assert [w.file for w in warnings] == ["report_2.yaml"]


# every: once with a run_at that has passed


def once_at(run_at: datetime, zone: str) -> dict:
    return {"every": "once", "timezone": zone, "run_at": run_at.strftime("%Y-%m-%dT%H:%M")}


def run_at_warnings(tmp_path: Path, run_at: datetime, zone: str) -> list[SpecError]:
    project = load(
        tmp_path, {"once.yaml": report_dict(name="once", schedule=once_at(run_at, zone))}
    )
    assert project.errors == []
    return [w for w in project.warnings if w.field == "schedule.run_at"]


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
@pytest.mark.parametrize(
    "ago", [timedelta(minutes=1), timedelta(hours=2), timedelta(days=1), timedelta(days=3650)]
)
def test_a_run_at_that_has_passed_is_a_warning_saying_it_will_never_run(tmp_path, zone, ago):
    run_at = datetime.now(ZoneInfo(zone)) - ago
    warnings = run_at_warnings(tmp_path, run_at, zone)
    assert len(warnings) == 1
    assert warnings[0].severity == "warning"
    assert warnings[0].line == line_of(tmp_path / "reports" / "once.yaml", "run_at:")
    assert warnings[0].message == (
        f"run_at {run_at:%Y-%m-%dT%H:%M} ({zone}) has passed: the schedule will never run this"
        " report. Set a later run_at, or run it now with `reports run once`"
    )


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
@pytest.mark.parametrize("ahead", [timedelta(hours=1), timedelta(days=400)])
def test_a_run_at_still_ahead_is_no_warning(tmp_path, zone, ahead):
    assert run_at_warnings(tmp_path, datetime.now(ZoneInfo(zone)) + ahead, zone) == []


def test_the_run_at_is_compared_in_the_reports_zone():
    # 10:00 in Kiritimati (UTC+14) is 20:00 UTC the day before.
    loaded = _loaded_once(datetime(2026, 3, 2, 10, 0), "Pacific/Kiritimati")
    before = datetime(2026, 3, 1, 19, 59, tzinfo=timezone.utc)
    after = datetime(2026, 3, 1, 20, 0, tzinfo=timezone.utc)
    assert past_run_at_warnings([loaded], before) == []
    assert len(past_run_at_warnings([loaded], after)) == 1


def test_validate_strict_fails_on_a_run_at_that_has_passed(tmp_path):
    from click.testing import CliRunner

    from reports_pipeline.cli import cli

    report = report_dict(name="once", schedule=once_at(datetime(2025, 1, 1, 8), "UTC"))
    write_report(tmp_path / "reports", report)
    args = ["validate", str(tmp_path / "reports"), "--connections", str(tmp_path / "none.yaml")]
    relaxed = CliRunner().invoke(cli, args, catch_exceptions=False)
    strict = CliRunner().invoke(cli, [*args, "--strict"], catch_exceptions=False)
    assert relaxed.exit_code == 0, relaxed.output
    assert "warning: schedule.run_at: run_at 2025-01-01T08:00 (UTC) has passed" in relaxed.output
    assert strict.exit_code == 1, strict.output


def _loaded_once(run_at: datetime, zone: str) -> LoadedReport:
    data = report_dict(name="once", schedule=once_at(run_at, zone))
    document = YamlDocument(path="once.yaml", data=data, lines={})
    return LoadedReport(spec=parse_report(document), path=Path("once.yaml"), document=document)
