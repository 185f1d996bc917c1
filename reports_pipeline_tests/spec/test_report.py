"""Field values of a report file at their edges: each class of bad value is an error at its field.

Files are written as YAML (``.inf``, ``.nan``, ``true`` reach the model as YAML reads them) and
loaded the way ``reports validate`` loads them.
"""

from pathlib import Path

import pytest
import yaml

from reports_pipeline.spec.loader import load_project
from reports_pipeline.spec.report import (
    HTML_MAX_ROWS_LIMIT,
    PDF_MAX_ROWS_LIMIT,
)
from reports_pipeline_tests.report_files import report_dict, write_report

INF, NAN = float("inf"), float("nan")
ABSURD_NUMBERS = [True, False, INF, -INF, NAN, -1, 10**40, 2.5]


def problems(tmp_path: Path, report: dict | str) -> dict[str, list[str]]:
    """Errors of one report file, by field."""
    write_report(tmp_path / "reports", report, "test_report.yaml")
    project = load_project([tmp_path / "reports"], None)
    found: dict[str, list[str]] = {}
    for error in project.errors:
        found.setdefault(error.field, []).append(error.message)
    return found


def only_problem(tmp_path: Path, report: dict | str, field: str) -> str:
    found = problems(tmp_path, report)
    assert list(found) == [field], found
    assert len(found[field]) == 1, found
    return found[field][0]


def schedule(**fields) -> dict:
    return {"timezone": "UTC", **fields}


# Durations: source.timeout, max_runtime, retry.delay


@pytest.mark.parametrize(
    "value",
    ["99999999999d", INF, NAN, -5, 0, "-1s", "8d", 10**400, True, "soon", [1]],
    ids=repr,
)
@pytest.mark.parametrize(
    "field, place",
    [
        ("source.timeout", lambda v: {"source": {"sql": "select 1", "timeout": v}}),
        ("max_runtime", lambda v: {"max_runtime": v}),
        ("retry.delay", lambda v: {"retry": {"delay": v}}),
    ],
)
def test_a_duration_out_of_range_is_an_error_at_its_field(tmp_path, value, field, place):
    message = only_problem(tmp_path, report_dict(**place(value)), field)
    assert "duration" in message or "at most" in message or "at least" in message, message


@pytest.mark.parametrize("value", ["10m", "7d", 90, "1.5h"])
def test_query_timeouts_in_range_are_accepted(tmp_path, value):
    assert problems(tmp_path, report_dict(source={"sql": "select 1", "timeout": value})) == {}


# Numbers: rows shown in PDF and HTML, row checks, retry attempts


@pytest.mark.parametrize("value", [*ABSURD_NUMBERS, PDF_MAX_ROWS_LIMIT + 1], ids=repr)
def test_pdf_max_rows_out_of_range_is_an_error(tmp_path, value):
    report = report_dict(format="pdf", format_options={"pdf_max_rows": value})
    message = only_problem(tmp_path, report, "format_options.pdf_max_rows")
    assert f"{PDF_MAX_ROWS_LIMIT:,}" in message, message


@pytest.mark.parametrize("value", [*ABSURD_NUMBERS, HTML_MAX_ROWS_LIMIT + 1], ids=repr)
def test_html_max_rows_out_of_range_is_an_error(tmp_path, value):
    report = report_dict(format="html", format_options={"max_rows": value})
    message = only_problem(tmp_path, report, "format_options.max_rows")
    assert f"{HTML_MAX_ROWS_LIMIT:,}" in message, message


def test_the_row_limits_themselves_are_accepted(tmp_path):
    pdf = report_dict(format="pdf", format_options={"pdf_max_rows": PDF_MAX_ROWS_LIMIT})
    assert problems(tmp_path / "pdf", pdf) == {}
    html = report_dict(format="html", format_options={"max_rows": HTML_MAX_ROWS_LIMIT})
    assert problems(tmp_path / "html", html) == {}


@pytest.mark.parametrize("value", ABSURD_NUMBERS, ids=repr)
@pytest.mark.parametrize(
    "field, place",
    [
        ("checks.min_rows", lambda v: {"checks": {"min_rows": v}}),
        ("checks.max_rows", lambda v: {"checks": {"max_rows": v}}),
        ("retry.attempts", lambda v: {"retry": {"attempts": v}}),
    ],
)
def test_a_number_out_of_range_is_an_error_at_its_field(tmp_path, value, field, place):
    if value is False and field.startswith("checks"):
        value = True  # false is not out of range for a count of 0; true is the same class
    message = only_problem(tmp_path, report_dict(**place(value)), field)
    assert "expected a whole number" in message or "out of range" in message, message


def test_row_checks_that_no_result_could_pass_are_an_error(tmp_path):
    message = only_problem(tmp_path, report_dict(checks={"min_rows": 10, "max_rows": 5}), "checks")
    assert message == "min_rows 10 is above max_rows 5: no result could pass"


# schedule.at and schedule.on


@pytest.mark.parametrize(
    "every, value, suggestion",
    [
        ({"every": "day"}, 9, '"09:00" for 9 o\'clock'),
        ({"every": "day"}, 0, '"00:00" for 0 o\'clock'),
        ({"every": "week", "on": "monday"}, 23, '"23:00"'),
        ({"every": "hour"}, 15, '"00:15" for 15 minutes past the hour'),
        ({"every": "day"}, 930, '"09:00"'),
        ({"every": "day"}, 9.5, '"09:00"'),
    ],
)
def test_a_bare_number_at_is_an_error_that_says_what_to_write(tmp_path, every, value, suggestion):
    report = report_dict(schedule=schedule(**every, at=value))
    message = only_problem(tmp_path, report, "schedule.at")
    assert "is a number, not a time of day" in message
    assert suggestion in message, message


def test_at_written_as_hh_mm_unquoted_is_the_time_it_says(tmp_path):
    text = (
        "name: test_report\nowner: owner@example.com\nsource: {sql: select 1}\n"
        "schedule: {every: day, at: 9:05, timezone: UTC}\nformat: csv\n"
        "deliver: [{email: {to: [a@example.com]}}]\n"
    )
    write_report(tmp_path / "reports", text, "test_report.yaml")
    project = load_project([tmp_path / "reports"], None)
    assert project.errors == []
    assert str(project.reports[0].spec.schedule.at) == "09:05:00"


@pytest.mark.parametrize("value", [True, False, 1.0, INF, NAN], ids=repr)
@pytest.mark.parametrize("every", ["month", "quarter", "week"])
def test_a_boolean_or_fraction_on_is_an_error_not_a_day(tmp_path, value, every):
    message = only_problem(
        tmp_path, report_dict(schedule=schedule(every=every, on=value)), "schedule.on"
    )
    assert "neither a weekday nor a day of the month" in message


# schedule.start and run_at: only dates the scheduler can represent


@pytest.mark.parametrize(
    "every",
    [
        {"every": "day"},
        {"every": "week", "on": "monday"},
        {"every": "hour"},
        {"every": "month"},
        {"every": "cron", "cron": "0 9 * * 1-5"},
    ],
)
@pytest.mark.parametrize(
    "start", ["0001-01-01", "1000-06-15", "1969-12-31", "2100-01-01", "9999-12-31"]
)
def test_a_start_the_scheduler_cannot_represent_is_an_error(tmp_path, every, start):
    text = yaml.safe_dump(report_dict(schedule=schedule(**every))).replace(
        "timezone: UTC", f"timezone: UTC\n  start: {start}"
    )
    message = only_problem(tmp_path, text, "schedule.start")
    assert "outside the dates the scheduler can represent" in message
    assert "1970-01-01 to 2099-12-31" in message


@pytest.mark.parametrize("run_at", ["0001-01-01T08:00", "1960-05-01T00:00", "2100-01-01T00:00"])
def test_a_run_at_the_scheduler_cannot_represent_is_an_error(tmp_path, run_at):
    text = yaml.safe_dump(report_dict(schedule={"every": "once", "timezone": "UTC"})).replace(
        "timezone: UTC", f"timezone: UTC\n  run_at: {run_at}"
    )
    message = only_problem(tmp_path, text, "schedule.run_at")
    assert "outside the dates the scheduler can represent" in message


# Crons that never fire


@pytest.mark.parametrize(
    "cron, months",
    [
        ("0 9 31 4 *", "April has no day 31"),
        ("0 9 30 2 *", "February has no day 30"),
        ("0 9 30,31 2 *", "February has no day 30 or 31"),
        ("0 9 31 4,6,9,11 *", "April and June and September and November have no day 31"),
        ("0 9 31 4 1", "April has no day 31"),
        ("*/5 * 31 2 1-5", "February has no day 31"),
    ],
)
def test_a_cron_that_never_fires_is_an_error(tmp_path, cron, months):
    report = report_dict(schedule=schedule(every="cron", cron=cron))
    message = only_problem(tmp_path, report, "schedule")
    assert message.startswith(f'cron "{cron}" never fires: {months}'), message


@pytest.mark.parametrize(
    "cron", ["0 9 29 2 *", "0 9 L 2 *", "0 9 31 * *", "0 9 * 2 1#5", "0 9 30,31 2,3 *"]
)
def test_crons_that_fire_rarely_are_accepted(tmp_path, cron):
    assert problems(tmp_path, report_dict(schedule=schedule(every="cron", cron=cron))) == {}


# title and subject: one line


LINE_BREAKS = ["\n", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\x0b", "\x0c"]


@pytest.mark.parametrize("char", [*LINE_BREAKS, "\x00", "\t", "\x1b"], ids=repr)
def test_a_title_with_a_line_break_or_control_character_is_an_error(tmp_path, char):
    message = only_problem(tmp_path, report_dict(title=f"Weekly{char}Bcc: x@evil.example"), "title")
    assert "control character" in message and "one line" in message


@pytest.mark.parametrize("char", LINE_BREAKS, ids=repr)
def test_a_subject_with_a_line_break_is_an_error(tmp_path, char):
    target = {"email": {"to": ["a@example.com"], "subject": f"{{{{ title }}}}{char}Bcc: x"}}
    message = only_problem(tmp_path, report_dict(deliver=[target]), "deliver[0].email.subject")
    assert "line break" in message


def test_a_title_is_at_most_200_characters(tmp_path):
    assert problems(tmp_path / "ok", report_dict(title="x" * 200)) == {}
    assert "title" in problems(tmp_path / "long", report_dict(title="x" * 201))


def test_unicode_titles_are_fine(tmp_path):
    assert problems(tmp_path, report_dict(title="Umsätze – Übersicht 📈 (Q1)")) == {}


@pytest.mark.parametrize("channel", ["email", "sftp", "s3", "webhook", "slack"])
def test_a_delivery_entry_without_settings_is_an_error_at_that_entry(tmp_path, channel):
    text = yaml.safe_dump(report_dict(deliver=[{"email": {"to": ["a@example.com"]}}]))
    text = text.replace("- email:\n    to:\n    - a@example.com\n", f"- {channel}:\n")
    assert f"- {channel}:\n" in text
    message = only_problem(tmp_path, text, "deliver[0]")
    assert f"'{channel}:' has no settings" in message
