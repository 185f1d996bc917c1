"""A report's health from its schedule, the time and its runs: late, failing, last result,
in progress and next runs, decided without an instance."""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports_pipeline.health import (
    MIN_GRACE,
    LatePeriod,
    RunFact,
    grace_period,
    report_health,
)
from reports_pipeline.scheduling.cadence import partitions_definition
from reports_pipeline.spec.report import ReportSpec
from reports_pipeline_tests.report_files import report_dict

UTC = timezone.utc
DAILY = {"every": "day", "at": "09:00", "timezone": "UTC", "start": "2026-11-01"}


def spec(**schedule) -> ReportSpec:
    return ReportSpec.model_validate(report_dict(schedule={**DAILY, **schedule}))


def at(day, hour=0, minute=0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def run(period, status="SUCCESS", ended=None, minutes=5, run_id=None) -> RunFact:
    """A run of ``period`` that ended at ``ended`` (default: the day after the period, 09:05)
    after ``minutes``."""
    if ended is None and period and ".." not in period:
        ended = datetime.fromisoformat(period).replace(tzinfo=UTC) + timedelta(days=1, hours=9)
        ended += timedelta(minutes=minutes)
    ended = ended or at(1)
    finished = status in ("SUCCESS", "FAILURE", "CANCELED")
    return RunFact(
        run_id=run_id or f"{period}-{status}-{ended:%d%H%M}",
        status=status,
        period=period,
        created=ended - timedelta(minutes=minutes),
        started=ended - timedelta(minutes=minutes),
        ended=ended if finished else None,
    )


def health(report, runs=(), now=at(20, 12), running=True, since=None, ahead=timedelta(hours=1)):
    return report_health(
        report,
        partitions_definition(report.schedule, today=now.date()),
        list(runs),
        now=now,
        schedule_running=running,
        running_since=since,
        ahead=ahead,
    )


@pytest.mark.parametrize(
    ("now", "late"),
    [
        (at(20, 8, 59), LatePeriod("2026-11-18", at(19, 9), MIN_GRACE)),  # before today's tick
        (at(20, 9, 0), None),  # today's tick: 2026-11-19 is due, within the grace
        (at(20, 9, 15), None),  # the grace's last moment
        (at(20, 9, 16), LatePeriod("2026-11-19", at(20, 9), MIN_GRACE)),
        (at(21, 8), LatePeriod("2026-11-19", at(20, 9), MIN_GRACE)),
    ],
)
def test_the_latest_due_period_without_a_run_is_late_after_15_minutes(now, late):
    assert health(spec(), now=now).late == late


def test_a_successful_run_of_the_latest_due_period_is_not_late():
    assert health(spec(), [run("2026-11-19")]).late is None


@pytest.mark.parametrize("status", ["FAILURE", "CANCELED", "QUEUED", "STARTED"], ids=str.lower)
def test_a_period_whose_run_failed_was_canceled_or_still_waits_is_late(status):
    report = health(spec(), [run("2026-11-18"), run("2026-11-19", status)], now=at(20, 10))
    assert report.late and report.late.period == "2026-11-19"


def test_only_an_older_period_delivered_leaves_the_latest_late():
    report = health(spec(), [run("2026-11-18")])
    assert report.late.period == "2026-11-19"
    assert report.late.since == at(20, 9, 15)


@pytest.mark.parametrize(
    ("minutes", "grace"),
    [
        ([], MIN_GRACE),  # no successful run yet
        ([1, 2, 3], MIN_GRACE),  # twice 2 minutes is under the floor
        ([10, 20, 30], timedelta(minutes=40)),  # twice the median
        ([10, 20, 30, 1000], timedelta(minutes=50)),  # one slow run moves the median a little
        ([1, 1, 1, 60, 60, 60, 60, 60], timedelta(minutes=120)),  # the last 5 runs only
    ],
)
def test_grace_is_twice_the_median_of_the_last_successful_runs_and_at_least_15_minutes(
    minutes, grace
):
    # Oldest first: the last runs are the ones listed last.
    runs = [run(f"2026-11-{day:02d}", minutes=m) for day, m in enumerate(minutes, start=1)]
    failed = run("2026-11-15", "FAILURE", minutes=999)  # failures say nothing of the run time
    assert grace_period([*reversed(runs), failed]) == grace


def test_a_slow_report_is_late_after_twice_its_typical_run_time():
    runs = [run(f"2026-11-{day}", minutes=30) for day in (16, 17, 18)]
    assert health(spec(), runs, now=at(20, 10, 0)).late is None
    late = health(spec(), runs, now=at(20, 10, 1)).late
    assert late.grace == timedelta(hours=1) and late.since == at(20, 10)


def test_a_stopped_schedule_is_never_late_and_has_no_next_runs():
    report = health(spec(), [], running=False)
    assert (report.state, report.late, report.next_runs) == ("stopped", None, [])


def test_a_period_due_before_the_schedule_was_started_is_not_late():
    assert health(spec(), [], now=at(20, 12), since=at(20, 10)).late is None
    assert health(spec(), [], now=at(20, 12), since=at(20, 8)).late.period == "2026-11-19"


def test_nothing_is_late_before_the_first_period_has_closed():
    assert health(spec(start="2026-11-20"), [], now=at(20, 12)).late is None


WEEKDAYS_ONLY = {"skip": ["weekends"]}


def test_a_skipped_weekend_is_not_due_the_friday_tick_is():
    report = health(spec(**WEEKDAYS_ONLY), [], now=at(22, 12))  # Sunday
    assert (report.late.period, report.late.due) == ("2026-11-19", at(20, 9))  # Friday's tick


@pytest.mark.parametrize(
    ("runs", "late"),
    [
        ([], True),
        ([run("2026-11-20..2026-11-22", ended=at(23, 9, 5))], False),  # the tick's own run
        ([run("2026-11-22", ended=at(23, 9, 5))], False),  # its last period run by hand
        ([run("2026-11-20", ended=at(23, 9, 5))], True),  # only the first of the three
    ],
)
def test_monday_covers_the_weekend_and_any_run_ending_with_its_last_period_delivers_it(runs, late):
    report = health(spec(**WEEKDAYS_ONLY), runs, now=at(23, 12))
    assert bool(report.late) is late
    if late:
        assert report.late.period == "2026-11-20..2026-11-22"


@pytest.mark.parametrize(
    ("runs", "failing"),
    [
        ([], None),
        ([run("2026-11-19", "FAILURE", run_id="f")], ("2026-11-19", "f")),
        ([run("2026-11-19", "FAILURE"), run("2026-11-19", ended=at(20, 10))], None),  # retried
        # The newest period counts, not the newest run: a backfill of an old period that fails
        # is failing only if nothing newer ran.
        ([run("2026-11-19"), run("2026-11-10", "FAILURE", ended=at(20, 11))], None),
        ([run("2026-11-18"), run("2026-11-19", "FAILURE", run_id="f")], ("2026-11-19", "f")),
        ([run("2026-11-19", "CANCELED")], None),  # stopped by a person, who knows
        ([run("2026-11-19", "FAILURE"), run("2026-11-19", "STARTED")], ("2026-11-19", None)),
        # Delivered once: a later forced re-run that fails does not undo the delivery.
        ([run("2026-11-19"), run("2026-11-19", "FAILURE", ended=at(20, 11))], None),
    ],
)
def test_failing_is_the_latest_period_whose_last_run_failed_without_a_success(runs, failing):
    found = health(spec(), runs).failing
    if failing is None:
        assert found is None
    else:
        assert found.period == failing[0]
        assert failing[1] is None or found.run_id == failing[1]


def test_failing_is_told_for_a_stopped_schedule_too():
    assert health(spec(), [run("2026-11-19", "FAILURE")], running=False).failing


def test_last_result_is_the_run_that_finished_last():
    runs = [
        run("2026-11-19", "FAILURE", ended=at(20, 9, 30)),
        run("2026-11-18", ended=at(20, 10, 0)),  # a backfill, finished later
        run("2026-11-19", "STARTED"),
    ]
    report = health(spec(), runs)
    assert (report.last_result, report.last_result_at) == ("success", at(20, 10))
    assert health(spec(), []).last_result is None


def test_queued_and_running_runs_are_in_progress():
    statuses = ["QUEUED", "STARTING", "STARTED", "SUCCESS", "FAILURE", "NOT_STARTED"]
    runs = [run(f"2026-11-{day}", status) for day, status in enumerate(statuses, start=10)]
    assert health(spec(), runs).in_progress == 4


@pytest.mark.parametrize(
    ("hours", "ticks"),
    [(1, [at(20, 12, 5)]), (3, [at(20, 12, 5), at(20, 13, 5), at(20, 14, 5)])],
)
def test_next_runs_are_the_ticks_in_the_coming_hours(hours, ticks):
    hourly = spec(every="hour", at="00:05")
    report = health(hourly, [], now=at(20, 12), ahead=timedelta(hours=hours))
    assert [next_run.tick for next_run in report.next_runs] == ticks
    assert report.next_runs[0].period == "2026-11-20-11:00"


def test_a_daily_report_has_no_next_run_outside_the_hour():
    assert health(spec(), [], now=at(20, 12)).next_runs == []
    assert [r.tick for r in health(spec(), [], now=at(20, 8, 30)).next_runs] == [at(20, 9)]


def once(run_at: str) -> ReportSpec:
    return spec(every="once", at=None, run_at=run_at, start=None)


def test_a_one_off_report_is_late_once_its_time_has_passed_without_a_success():
    assert health(once("2026-11-20T11:00"), [], now=at(20, 10, 30)).late is None
    upcoming = health(once("2026-11-20T11:00"), [], now=at(20, 10, 30)).next_runs
    assert [r.tick for r in upcoming] == [at(20, 11)]
    late = health(once("2026-11-20T11:00"), [], now=at(20, 11, 20)).late
    assert late.due == at(20, 11)
    delivered = run(None, ended=at(20, 11, 2))
    assert health(once("2026-11-20T11:00"), [delivered], now=at(20, 11, 20)).late is None


PERIODS = [f"2026-11-{day}" for day in range(14, 20)]
STATUSES = ["SUCCESS", "FAILURE", "CANCELED", "QUEUED", "STARTED"]


@given(
    runs=st.lists(
        st.builds(
            run,
            st.sampled_from(PERIODS),
            st.sampled_from(STATUSES),
            minutes=st.integers(1, 120),
        ),
        max_size=8,
    ),
    minutes_after_tick=st.integers(-120, 3000),
)
def test_late_means_past_the_grace_without_a_success_and_a_success_ends_it(
    runs, minutes_after_tick
):
    now = at(20, 9) + timedelta(minutes=minutes_after_tick)
    report = health(spec(), runs, now=now)
    if report.late is None:
        return
    assert now > report.late.since and report.late.grace >= MIN_GRACE
    assert not any(r.status == "SUCCESS" and r.period == report.late.period for r in runs)
    delivered = run(report.late.period, ended=now)
    assert health(spec(), [*runs, delivered], now=now).late is None
