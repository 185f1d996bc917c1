from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from reports_pipeline.scheduling.cadence import partitions_definition
from reports_pipeline.scheduling.missed import missed_runs
from reports_pipeline.spec.report import Schedule

UTC = timezone.utc
HOURLY = Schedule(every="hour", at="00:05", timezone="UTC", start="2026-11-01")


def keys(result):
    return [run.period.key for run in result.runs]


def find(schedule, since, now, done=(), limit=7, **window):
    """``window``: the evaluation's ``horizon`` and ``checked_until``, if any."""
    return missed_runs(
        schedule,
        partitions_definition(schedule),
        since=since,
        now=now,
        already_run=lambda due: due.period.key in done,
        limit=limit,
        **window,
    )


def test_missed_ticks_are_found_oldest_first_leaving_the_latest_to_the_scheduler():
    # Ticks at 10:05, 11:05, 12:05, 13:05; now 13:30; the schedule ran at 10:05 only.
    result = find(
        HOURLY,
        datetime(2026, 11, 20, 10, tzinfo=UTC),
        datetime(2026, 11, 20, 13, 30, tzinfo=UTC),
        done={"2026-11-20-09:00"},
    )
    assert keys(result) == ["2026-11-20-10:00", "2026-11-20-11:00"]
    assert result.left_out == 0


def test_nothing_is_missed_when_every_tick_ran():
    done = {"2026-11-20-09:00", "2026-11-20-10:00", "2026-11-20-11:00"}
    result = find(
        HOURLY,
        datetime(2026, 11, 20, 10, tzinfo=UTC),
        datetime(2026, 11, 20, 13, 30, tzinfo=UTC),
        done=done,
    )
    assert keys(result) == []


def test_ticks_before_the_schedule_was_started_or_resumed_are_not_missed():
    result = find(
        HOURLY,
        datetime(2026, 11, 20, 11, 30, tzinfo=UTC),
        datetime(2026, 11, 20, 13, 30, tzinfo=UTC),
    )
    assert keys(result) == ["2026-11-20-11:00"]


def test_limit_keeps_the_most_recent_and_counts_the_rest():
    result = find(
        HOURLY,
        datetime(2026, 11, 19, 0, tzinfo=UTC),
        datetime(2026, 11, 20, 13, 30, tzinfo=UTC),
        limit=3,
    )
    assert keys(result) == ["2026-11-20-09:00", "2026-11-20-10:00", "2026-11-20-11:00"]
    assert result.left_out == 34


def test_holidays_are_not_missed_runs_and_the_next_business_day_covers_them():
    ny = ZoneInfo("America/New_York")
    daily = Schedule(
        every="day",
        at="09:00",
        timezone="America/New_York",
        skip=["weekends", "holidays"],
        holiday_calendar="US",
        start="2026-12-01",
    )
    # Down from Tue 22nd noon to Tue 29th 10:00: the runs of Wed 23rd (the 22nd), Thu 24th (the
    # 23rd) and Mon 28th (24th..27th) were missed; Christmas and the weekend are no runs of their
    # own; Tue 29th is the scheduler's.
    result = find(
        daily, datetime(2026, 12, 22, 12, tzinfo=ny), datetime(2026, 12, 29, 10, tzinfo=ny)
    )
    assert keys(result) == ["2026-12-22", "2026-12-23", "2026-12-24..2026-12-27"]


def test_since_the_last_check_a_tick_that_ran_does_not_hide_an_older_one_that_did_not():
    # The scheduler, running late, created the 12:05 run but never the 11:05 one.
    result = find(
        HOURLY,
        datetime(2026, 11, 20, 0, tzinfo=UTC),
        datetime(2026, 11, 20, 13, 30, tzinfo=UTC),
        done={"2026-11-20-08:00", "2026-11-20-09:00", "2026-11-20-11:00"},
        checked_until=datetime(2026, 11, 20, 10, 30, tzinfo=UTC),
    )
    assert keys(result) == ["2026-11-20-10:00"]


def test_ticks_after_the_horizon_are_left_for_a_later_evaluation():
    result = find(
        HOURLY,
        datetime(2026, 11, 20, 0, tzinfo=UTC),
        datetime(2026, 11, 20, 13, 30, tzinfo=UTC),
        done={"2026-11-20-08:00"},
        horizon=datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
    )
    # 12:05 has no run yet but may still be on its way; 11:05 and 10:05 are missed.
    assert keys(result) == ["2026-11-20-09:00", "2026-11-20-10:00"]


def test_once_the_latest_tick_has_its_run_the_ticks_before_it_are_settled():
    since, now = datetime(2026, 11, 20, 0, tzinfo=UTC), datetime(2026, 11, 20, 13, 30, tzinfo=UTC)
    horizon = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    ran_before = {"2026-11-20-08:00", "2026-11-20-09:00"}
    # The scheduler has not made the 13:05 run yet: 12:05, 11:05 and 10:05 (after the horizon)
    # may still be on its way.
    waiting = find(HOURLY, since, now, done=ran_before, horizon=horizon)
    assert keys(waiting) == []
    assert waiting.deferred == 3
    # It has (as it does first thing after downtime): it went past them, so they were missed.
    settled = find(HOURLY, since, now, done=ran_before | {"2026-11-20-12:00"}, horizon=horizon)
    assert keys(settled) == ["2026-11-20-10:00", "2026-11-20-11:00"]
    assert settled.deferred == 0
