from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports_pipeline.scheduling.cadence import (
    first_period_day,
    partitions_definition,
    period_closed_at,
    period_for_key,
    schedule_cron,
    tick_runs,
)
from reports_pipeline.spec.report import EARLIEST_DATE, LATEST_DATE, Schedule

NY = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    "schedule, cron",
    [
        (Schedule(every="hour", at="00:15"), "15 * * * *"),
        (Schedule(every="day", at="09:00"), "0 9 * * *"),
        (Schedule(every="week", on="monday", at="08:30"), "30 8 * * 1"),
        (Schedule(every="week", on="sunday"), "0 0 * * 0"),
        (Schedule(every="month", on=3, at="06:00"), "0 6 3 * *"),
        (Schedule(every="month", on="last"), "0 0 28-31 * *"),
        (Schedule(every="quarter", on=1, at="07:00"), "0 7 1 1,4,7,10 *"),
        (Schedule(every="cron", cron="*/5 9-17 * * 1-5"), "*/5 9-17 * * 1-5"),
    ],
)
def test_schedule_cron(schedule, cron):
    assert schedule_cron(schedule) == cron


@pytest.mark.parametrize(
    "on, day, runs",
    [
        ("last", datetime(2026, 2, 28), True),
        ("last", datetime(2028, 2, 28), False),  # leap year: the 29th is the last day
        ("last", datetime(2028, 2, 29), True),
        (31, datetime(2026, 4, 30), True),  # the 31st in a 30-day month means its last day
        (31, datetime(2026, 3, 30), False),
        (31, datetime(2026, 3, 31), True),
        (30, datetime(2026, 2, 28), True),
        (29, datetime(2026, 3, 28), False),
    ],
)
def test_month_end_days_run_on_the_intended_day(on, day, runs):
    schedule = Schedule(every="month", on=on, timezone="UTC")
    assert tick_runs(schedule, day.replace(tzinfo=ZoneInfo("UTC"))) is runs


def test_default_start_is_thirty_days_back_aligned_to_the_period():
    weekly = Schedule(every="week", on="monday", timezone="UTC")
    assert first_period_day(weekly, today=date(2026, 11, 25)) == date(2026, 10, 26)
    quarterly = Schedule(every="quarter", on=1, timezone="UTC")
    assert first_period_day(quarterly, today=date(2026, 11, 25)) == date(2026, 10, 1)
    daily = Schedule(every="day", start=date(2026, 1, 15), timezone="UTC")
    assert first_period_day(daily) == date(2026, 1, 15)


def test_period_for_key_rejects_a_key_of_the_wrong_shape():
    partitions = partitions_definition(
        Schedule(every="day", start=date(2026, 1, 1), timezone="UTC")
    )
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        period_for_key(partitions, "2026-13-45")


def test_daily_period_is_midnight_to_midnight_in_the_report_zone():
    schedule = Schedule(
        every="day", at="09:00", timezone="America/New_York", start=date(2026, 1, 1)
    )
    period = period_closed_at(partitions_definition(schedule), datetime(2026, 11, 3, 9, tzinfo=NY))
    assert period.key == "2026-11-02"
    assert period.start == datetime(2026, 11, 2, tzinfo=NY)
    assert period.end == datetime(2026, 11, 3, tzinfo=NY)


def test_spring_forward_day_is_23_hours_and_fall_back_day_25():
    schedule = Schedule(
        every="day", at="09:00", timezone="America/New_York", start=date(2026, 1, 1)
    )
    partitions = partitions_definition(schedule)
    spring = period_for_key(partitions, "2026-03-08")
    fall = period_for_key(partitions, "2026-11-01")
    # Subtracting datetimes of one zone gives wall-clock time; elapsed time needs timestamps.
    assert spring.end.timestamp() - spring.start.timestamp() == timedelta(hours=23).total_seconds()
    assert fall.end.timestamp() - fall.start.timestamp() == timedelta(hours=25).total_seconds()


@given(st.dates(min_value=EARLIEST_DATE, max_value=LATEST_DATE))
def test_every_start_validation_accepts_gives_periods(start):
    """Across the whole range of schedule.start, in the zones furthest ahead of and behind UTC
    (0001-01-01 and 9999-12-31 overflowed here before validation refused them)."""
    late = datetime(2100, 1, 2, tzinfo=ZoneInfo("UTC"))
    for every in (
        {"every": "day"},
        {"every": "week", "on": "sunday"},
        {"every": "quarter"},
        {"every": "cron", "cron": "0 9 * * 1-5"},
    ):
        for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
            schedule = Schedule(**every, start=start, timezone=zone)
            assert period_closed_at(partitions_definition(schedule), late) is not None
