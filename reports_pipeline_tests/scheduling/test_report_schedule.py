"""Schedule ticks evaluated the Dagster way, at chosen instants."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from dagster import RunRequest, SkipReason, build_schedule_context
from dagster._utils.schedules import schedule_execution_time_iterator

from reports_pipeline.definitions import build_definitions
from reports_pipeline.scheduling.preview import upcoming_ticks
from reports_pipeline_tests.report_files import report_dict, write_report

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def evaluate(tmp_path, schedule: dict, tick: datetime):
    if schedule.get("every") != "once":
        schedule = {"start": "2026-01-01", **schedule}
    write_report(tmp_path / "reports", report_dict(schedule=schedule))
    defs = build_definitions([tmp_path / "reports"], tmp_path / "no-connections.yaml")
    schedule_def = defs.resolve_schedule_def("test_report_schedule")
    context = build_schedule_context(
        scheduled_execution_time=tick, repository_def=defs.get_repository_def()
    )
    result = schedule_def.evaluate_tick(context)
    if result.skip_message is not None:
        return SkipReason(result.skip_message)
    (request,) = result.run_requests
    return request


def window(tmp_path, request: RunRequest, defs_schedule: dict):
    from reports_pipeline.scheduling.cadence import partitions_definition, period_for_key
    from reports_pipeline.spec.report import Schedule

    return period_for_key(
        partitions_definition(Schedule(start="2026-01-01", **defs_schedule)), request.partition_key
    )


CASES = [
    # schedule, tick, partition key, period start, period end
    (
        {"every": "day", "at": "09:00", "timezone": "America/New_York"},
        datetime(2026, 11, 3, 9, tzinfo=NY),
        "2026-11-02",
        datetime(2026, 11, 2, tzinfo=NY),
        datetime(2026, 11, 3, tzinfo=NY),
    ),
    (
        {"every": "week", "on": "monday", "at": "09:00", "timezone": "America/New_York"},
        datetime(2026, 11, 2, 9, tzinfo=NY),
        "2026-10-26",
        datetime(2026, 10, 26, tzinfo=NY),
        datetime(2026, 11, 2, tzinfo=NY),
    ),
    (
        {"every": "week", "on": "friday", "at": "17:00", "timezone": "Europe/Berlin"},
        datetime(2026, 11, 6, 17, tzinfo=BERLIN),
        "2026-10-30",
        datetime(2026, 10, 30, tzinfo=BERLIN),
        datetime(2026, 11, 6, tzinfo=BERLIN),
    ),
    (
        {"every": "month", "on": 3, "at": "06:00", "timezone": "Europe/Berlin"},
        datetime(2026, 12, 3, 6, tzinfo=BERLIN),
        "2026-11-01",
        datetime(2026, 11, 1, tzinfo=BERLIN),
        datetime(2026, 12, 1, tzinfo=BERLIN),
    ),
    (
        {"every": "quarter", "on": 1, "at": "07:00", "timezone": "America/New_York"},
        datetime(2026, 10, 1, 7, tzinfo=NY),
        "2026-07-01",
        datetime(2026, 7, 1, tzinfo=NY),
        datetime(2026, 10, 1, tzinfo=NY),
    ),
    (
        {"every": "hour", "at": "00:15", "timezone": "America/New_York"},
        datetime(2026, 6, 10, 10, 15, tzinfo=NY),
        "2026-06-10-09:00",
        datetime(2026, 6, 10, 9, tzinfo=NY),
        datetime(2026, 6, 10, 10, tzinfo=NY),
    ),
    (
        {"every": "cron", "cron": "0 9 * * 1-5", "timezone": "America/New_York"},
        datetime(2026, 11, 2, 9, tzinfo=NY),
        "2026-10-30-09:00",
        datetime(2026, 10, 30, 9, tzinfo=NY),
        datetime(2026, 11, 2, 9, tzinfo=NY),
    ),
    # Spring forward in New York: 2026-03-08 has 23 hours.
    (
        {"every": "day", "at": "09:00", "timezone": "America/New_York"},
        datetime(2026, 3, 9, 9, tzinfo=NY),
        "2026-03-08",
        datetime(2026, 3, 8, tzinfo=NY),
        datetime(2026, 3, 9, tzinfo=NY),
    ),
    # Fall back in New York: 2026-11-01 has 25 hours.
    (
        {"every": "day", "at": "09:00", "timezone": "America/New_York"},
        datetime(2026, 11, 2, 9, tzinfo=NY),
        "2026-11-01",
        datetime(2026, 11, 1, tzinfo=NY),
        datetime(2026, 11, 2, tzinfo=NY),
    ),
    # Berlin changes clocks on other dates (2026-03-29, 2026-10-25).
    (
        {"every": "day", "at": "06:00", "timezone": "Europe/Berlin"},
        datetime(2026, 3, 30, 6, tzinfo=BERLIN),
        "2026-03-29",
        datetime(2026, 3, 29, tzinfo=BERLIN),
        datetime(2026, 3, 30, tzinfo=BERLIN),
    ),
]


@pytest.mark.parametrize("schedule, tick, key, start, end", CASES)
def test_tick_runs_the_period_that_has_just_closed(tmp_path, schedule, tick, key, start, end):
    request = evaluate(tmp_path, schedule, tick)
    assert isinstance(request, RunRequest)
    assert request.partition_key == key
    assert request.run_key == key
    period = window(tmp_path, request, schedule)
    assert period.start == start
    assert period.end == end
    assert request.tags["reports/period_start"] == start.isoformat()


def test_month_last_skips_candidate_days_that_are_not_the_last(tmp_path):
    schedule = {"every": "month", "on": "last", "at": "06:00", "timezone": "UTC"}
    utc = ZoneInfo("UTC")
    skipped = evaluate(tmp_path, schedule, datetime(2026, 3, 30, 6, tzinfo=utc))
    assert isinstance(skipped, SkipReason)
    assert "not day last" in skipped.skip_message
    ran = evaluate(tmp_path, schedule, datetime(2026, 3, 31, 6, tzinfo=utc))
    assert ran.partition_key == "2026-02-01"


def test_tick_before_the_first_period_is_skipped_with_a_reason(tmp_path):
    skipped = evaluate(
        tmp_path, {"every": "day", "timezone": "UTC"}, datetime(2026, 1, 1, 0, tzinfo=timezone.utc)
    )
    assert isinstance(skipped, SkipReason)
    assert "no period has closed yet" in skipped.skip_message


def _daemon_ticks(cron: str, zone: str, start: datetime, count: int) -> list[datetime]:
    ticks = schedule_execution_time_iterator(start.timestamp() + 1, cron, zone)
    return [next(ticks) for _ in range(count)]


def test_spring_forward_run_time_that_does_not_exist_moves_like_dagster(tmp_path):
    # 02:30 does not exist in New York on 2026-03-08; Dagster runs at 03:00 that day.
    schedule = {"every": "day", "at": "02:30", "timezone": "America/New_York"}
    start = datetime(2026, 3, 6, 12, tzinfo=NY)
    ticks = _daemon_ticks("30 2 * * *", "America/New_York", start, 3)
    assert [t.strftime("%m-%d %H:%M") for t in ticks] == [
        "03-07 02:30",
        "03-08 03:00",
        "03-09 02:30",
    ]
    request = evaluate(tmp_path, schedule, ticks[1])
    assert request.partition_key == "2026-03-07"
    from reports_pipeline.spec.report import Schedule

    preview = list(upcoming_ticks(Schedule(start="2026-01-01", **schedule), start, 3))
    assert [run.tick for run in preview] == ticks
    assert "does not exist" in preview[1].dst_note


def test_fall_back_run_time_that_exists_twice_runs_once(tmp_path):
    schedule = {"every": "day", "at": "01:30", "timezone": "America/New_York"}
    start = datetime(2026, 10, 31, 12, tzinfo=NY)
    ticks = _daemon_ticks("30 1 * * *", "America/New_York", start, 2)
    assert [t.strftime("%m-%d %H:%M") for t in ticks] == ["11-01 01:30", "11-02 01:30"]
    assert evaluate(tmp_path, schedule, ticks[0]).partition_key == "2026-10-31"
    assert evaluate(tmp_path, schedule, ticks[1]).partition_key == "2026-11-01"


@pytest.mark.parametrize(
    "schedule",
    [
        {"every": "hour", "at": "00:45", "timezone": "America/New_York"},
        {"every": "day", "at": "02:30", "timezone": "America/New_York"},
        {"every": "week", "on": "sunday", "at": "01:30", "timezone": "America/New_York"},
        {"every": "month", "on": "last", "at": "23:00", "timezone": "Europe/Berlin"},
        {"every": "cron", "cron": "30 2 * * *", "timezone": "Europe/Berlin"},
    ],
)
def test_preview_agrees_with_schedule_evaluation(tmp_path, schedule):
    from reports_pipeline.spec.report import Schedule

    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    runs = list(upcoming_ticks(Schedule(start="2026-01-01", **schedule), start, 6))
    assert len(runs) == 6
    for run in runs:
        request = evaluate(tmp_path, schedule, run.tick)
        assert request.partition_key == run.outcome.period.key
    assert all(b.tick - a.tick > timedelta(0) for a, b in zip(runs, runs[1:], strict=False))
