"""Business days, holidays and one-off runs, evaluated the way the daemon evaluates them."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from dagster import RunRequest, SkipReason
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from reports_pipeline.scheduling.holidays import holiday_name
from reports_pipeline_tests.scheduling.test_report_schedule import evaluate

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
BUSINESS_DAYS_US = {
    "every": "day",
    "at": "09:00",
    "timezone": "America/New_York",
    "skip": ["weekends", "holidays"],
    "holiday_calendar": "US",
}


def test_holiday_tick_is_skipped_with_the_holiday_named(tmp_path):
    skipped = evaluate(tmp_path, BUSINESS_DAYS_US, datetime(2026, 12, 25, 9, tzinfo=NY))
    assert isinstance(skipped, SkipReason)
    assert skipped.skip_message.startswith("skipped: 2026-12-25 Christmas Day")


def test_weekend_tick_is_skipped(tmp_path):
    skipped = evaluate(tmp_path, BUSINESS_DAYS_US, datetime(2026, 12, 26, 9, tzinfo=NY))
    assert skipped.skip_message.startswith("skipped: 2026-12-26 is a Saturday")


def test_next_run_after_holiday_and_weekend_covers_every_skipped_period(tmp_path):
    request = evaluate(tmp_path, BUSINESS_DAYS_US, datetime(2026, 12, 28, 9, tzinfo=NY))
    assert isinstance(request, RunRequest)
    assert request.partition_key is None
    assert request.run_key == "2026-12-24..2026-12-27"
    assert request.tags[ASSET_PARTITION_RANGE_START_TAG] == "2026-12-24"
    assert request.tags[ASSET_PARTITION_RANGE_END_TAG] == "2026-12-27"
    assert request.tags["reports/period_start"] == "2026-12-24T00:00:00-05:00"
    assert request.tags["reports/period_end"] == "2026-12-28T00:00:00-05:00"


def test_ordinary_business_day_covers_one_period(tmp_path):
    request = evaluate(tmp_path, BUSINESS_DAYS_US, datetime(2026, 12, 23, 9, tzinfo=NY))
    assert request.partition_key == "2026-12-22"


def test_second_calendar_german_holiday(tmp_path):
    schedule = {
        "every": "day",
        "at": "06:00",
        "timezone": "Europe/Berlin",
        "skip": ["holidays"],
        "holiday_calendar": "DE",
    }
    name = holiday_name("DE", date(2026, 10, 3))
    assert name  # German Unity Day, whatever the package calls it
    skipped = evaluate(tmp_path, schedule, datetime(2026, 10, 3, 6, tzinfo=BERLIN))
    assert skipped.skip_message.startswith(f"skipped: 2026-10-03 {name}")
    request = evaluate(tmp_path, schedule, datetime(2026, 10, 4, 6, tzinfo=BERLIN))
    assert request.run_key == "2026-10-02..2026-10-03"


def test_subdivision_calendar(tmp_path):
    # Epiphany is a holiday in Bavaria, not in Berlin.
    schedule = {
        "every": "day",
        "at": "06:00",
        "timezone": "Europe/Berlin",
        "skip": ["holidays"],
        "holiday_calendar": "DE-BY",
    }
    assert isinstance(
        evaluate(tmp_path, schedule, datetime(2026, 1, 6, 6, tzinfo=BERLIN)), SkipReason
    )
    schedule["holiday_calendar"] = "DE-BE"
    assert isinstance(
        evaluate(tmp_path, schedule, datetime(2026, 1, 6, 6, tzinfo=BERLIN)), RunRequest
    )


def test_weekly_report_on_a_holiday_monday_is_covered_the_next_week(tmp_path):
    schedule = {
        "every": "week",
        "on": "monday",
        "at": "08:00",
        "timezone": "America/New_York",
        "skip": ["holidays"],
        "holiday_calendar": "US",
    }
    skipped = evaluate(tmp_path, schedule, datetime(2026, 5, 25, 8, tzinfo=NY))  # Memorial Day
    assert "Memorial Day" in skipped.skip_message
    request = evaluate(tmp_path, schedule, datetime(2026, 6, 1, 8, tzinfo=NY))
    assert request.run_key == "2026-05-18..2026-05-25"
    assert request.tags["reports/period_start"] == "2026-05-18T00:00:00-04:00"
    assert request.tags["reports/period_end"] == "2026-06-01T00:00:00-04:00"


def test_monthly_report_due_on_a_saturday_is_covered_next_month(tmp_path):
    schedule = {"every": "month", "on": 1, "at": "06:00", "timezone": "UTC", "skip": ["weekends"]}
    utc = ZoneInfo("UTC")
    assert isinstance(evaluate(tmp_path, schedule, datetime(2026, 8, 1, 6, tzinfo=utc)), SkipReason)
    request = evaluate(tmp_path, schedule, datetime(2026, 9, 1, 6, tzinfo=utc))
    assert request.run_key == "2026-07-01..2026-08-01"


def test_month_end_in_a_leap_february(tmp_path):
    schedule = {"every": "month", "on": 30, "at": "06:00", "timezone": "UTC", "start": "2027-12-01"}
    utc = ZoneInfo("UTC")
    assert isinstance(
        evaluate(tmp_path, schedule, datetime(2028, 2, 28, 6, tzinfo=utc)), SkipReason
    )
    assert (
        evaluate(tmp_path, schedule, datetime(2028, 2, 29, 6, tzinfo=utc)).partition_key
        == "2028-01-01"
    )


ONCE = {"every": "once", "run_at": "2026-12-01T08:00", "timezone": "America/New_York"}


def test_once_runs_at_run_at_covering_the_previous_24_hours(tmp_path):
    request = evaluate(tmp_path, ONCE, datetime(2026, 12, 1, 8, tzinfo=NY))
    assert request.run_key == "once"
    assert request.partition_key is None
    assert request.tags["reports/period_start"] == "2026-11-30T08:00:00-05:00"
    assert request.tags["reports/period_end"] == "2026-12-01T08:00:00-05:00"


def test_once_with_start_covers_from_start(tmp_path):
    request = evaluate(
        tmp_path, {**ONCE, "start": "2026-11-01"}, datetime(2026, 12, 1, 8, tzinfo=NY)
    )
    assert request.tags["reports/period_start"] == "2026-11-01T00:00:00-04:00"


def test_once_never_runs_in_a_later_year(tmp_path):
    skipped = evaluate(tmp_path, ONCE, datetime(2027, 12, 1, 8, tzinfo=NY))
    assert isinstance(skipped, SkipReason)
    assert "runs once, at 2026-12-01T08:00" in skipped.skip_message


@pytest.mark.parametrize(
    "schedule, message",
    [
        ({"every": "day", "skip": ["holidays"]}, "needs holiday_calendar"),
        (
            {"every": "day", "skip": ["holidays"], "holiday_calendar": "XX"},
            "unknown holiday calendar 'XX'",
        ),
        (
            {"every": "day", "skip": ["holidays"], "holiday_calendar": "US-ZZ"},
            "not a subdivision of US",
        ),
        ({"every": "day", "skip": ["mondays"]}, "'weekends' or 'holidays'"),
        ({"every": "once"}, "needs run_at"),
        ({"every": "once", "run_at": "2026-12-01T08:00", "at": "09:00"}, "runs at run_at: only"),
        ({"every": "day", "run_at": "2026-12-01T08:00"}, "only used with every: once"),
        ({"every": "once", "run_at": "2026-12-01T08:00+01:00"}, "without an offset"),
        ({"every": "week", "on": "sunday", "skip": ["weekends"]}, "would never run"),
        ({"every": "cron", "cron": "0 */6 * * 0,6", "skip": ["weekends"]}, "would never run"),
    ],
)
def test_bad_schedules_are_refused_with_a_clear_message(tmp_path, schedule, message):
    from reports_pipeline.spec.loader import load_project
    from reports_pipeline_tests.report_files import report_dict, write_report

    write_report(tmp_path, report_dict(schedule=schedule))
    project = load_project([tmp_path], None)
    assert project.reports == []
    assert message in str(project.errors[0]), project.errors
