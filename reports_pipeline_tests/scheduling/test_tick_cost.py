"""A tick's work does not grow with how long a schedule has run: counted in ticks looked at."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from reports_pipeline.scheduling.cadence import partitions_definition
from reports_pipeline.scheduling.due import DueRun, due_at, previous_run_tick
from reports_pipeline.scheduling.missed import missed_runs
from reports_pipeline.spec.report import Schedule

NY = ZoneInfo("America/New_York")
UTC = timezone.utc


@pytest.mark.parametrize(("cron", "last_friday_tick"), [("*/5 * * * *", 55), ("* * * * *", 59)])
def test_a_monday_tick_steps_over_the_weekend_a_day_at_a_time(cron, last_friday_tick):
    schedule = Schedule(
        every="cron", cron=cron, timezone="America/New_York", skip=["weekends"], start="2026-11-01"
    )
    monday = datetime(2026, 12, 7, 0, 0, tzinfo=NY)
    previous = previous_run_tick(schedule, monday)
    assert previous.tick == datetime(2026, 12, 4, 23, last_friday_tick, tzinfo=NY)
    # Sunday 23:55 (skipped: go to Saturday), Saturday 23:55 (skipped), Friday 23:55: three
    # looks, where walking tick by tick takes 577 (or 2,881 every minute).
    assert previous.ticks_examined == 3

    due = due_at(schedule, partitions_definition(schedule), monday)
    assert isinstance(due, DueRun)
    assert due.first.start == datetime(2026, 12, 4, 23, last_friday_tick, tzinfo=NY)
    assert due.last.end == monday  # the whole weekend, in one run


def test_a_business_day_after_christmas_and_a_weekend_looks_at_four_days():
    schedule = Schedule(
        every="hour",
        at="00:30",
        timezone="America/New_York",
        skip=["weekends", "holidays"],
        holiday_calendar="US",
        start="2026-11-01",
    )
    # Monday 28th 00:30: Sunday, Saturday, Friday (Christmas) are skipped whole.
    previous = previous_run_tick(schedule, datetime(2026, 12, 28, 0, 30, tzinfo=NY))
    assert previous.tick == datetime(2026, 12, 24, 23, 30, tzinfo=NY)
    assert previous.ticks_examined == 4


@pytest.mark.parametrize("running_for", [timedelta(days=2), timedelta(days=400)])
def test_catching_up_a_schedule_that_never_missed_looks_at_two_ticks(running_for):
    schedule = Schedule(every="hour", at="00:05", timezone="UTC", start="2025-01-01")
    now = datetime(2026, 11, 20, 13, 30, tzinfo=UTC)
    result = missed_runs(
        schedule,
        partitions_definition(schedule),
        since=now - running_for,
        now=now,
        already_run=lambda due: True,  # every period has its run
        limit=7,
    )
    assert result.runs == []
    # The latest tick (the scheduler's) and the one before it, which ran: the same two ticks
    # after 2 days or 400 (9,600 hourly ticks).
    assert result.ticks_examined == 2


def test_after_downtime_the_walk_ends_at_the_last_tick_that_ran():
    schedule = Schedule(every="hour", at="00:05", timezone="UTC", start="2025-01-01")
    now = datetime(2026, 11, 20, 13, 30, tzinfo=UTC)
    ran_before_the_outage = {f"2026-11-20-0{hour}:00" for hour in range(10)}
    result = missed_runs(
        schedule,
        partitions_definition(schedule),
        since=now - timedelta(days=400),
        now=now,
        already_run=lambda due: due.period.key in ran_before_the_outage,
        limit=7,
    )
    assert [run.period.key for run in result.runs] == ["2026-11-20-10:00", "2026-11-20-11:00"]
    # 13:05 (the scheduler's), 12:05 and 11:05 (missed), 10:05 (ran): four ticks, not 9,600.
    assert result.ticks_examined == 4


def test_a_later_evaluation_looks_only_at_the_ticks_since_the_last_check():
    schedule = Schedule(every="hour", at="00:05", timezone="UTC", start="2025-01-01")
    now = datetime(2026, 11, 20, 13, 30, tzinfo=UTC)
    result = missed_runs(
        schedule,
        partitions_definition(schedule),
        since=now - timedelta(days=400),
        now=now,
        checked_until=now - timedelta(hours=2, minutes=30),
        already_run=lambda due: False,  # even with no run at all, older ticks are not looked at
        limit=7,
    )
    # 13:05 (the scheduler's), 12:05 and 11:05 (since 11:00), 10:05 (the scheduler's at 11:00).
    assert [run.period.key for run in result.runs] == [
        "2026-11-20-09:00",
        "2026-11-20-10:00",
        "2026-11-20-11:00",
    ]
    assert result.ticks_examined == 4
