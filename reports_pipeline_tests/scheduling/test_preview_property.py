"""Property: `reports preview` and the daemon's evaluation of the schedule always agree."""

import tempfile
from datetime import datetime, timezone
from pathlib import Path

from dagster import build_schedule_context
from dagster._utils.schedules import schedule_execution_time_iterator
from hypothesis import example, given
from hypothesis import strategies as st

from reports_pipeline.definitions import build_definitions
from reports_pipeline.scheduling.cadence import schedule_cron, tick_runs
from reports_pipeline.scheduling.due import DueRun
from reports_pipeline.scheduling.preview import upcoming_ticks
from reports_pipeline.spec.report import WEEKDAYS, Schedule
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report

ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Sydney"]
CRONS = ["*/30 * * * *", "0 9 * * 1-5", "15 2 * * *", "30 1 1 * *", "0 */6 * * 0,3", "45 23 * * 5"]


@st.composite
def schedules(draw) -> dict:
    every = draw(st.sampled_from(["hour", "day", "week", "month", "quarter", "cron"]))
    schedule: dict = {
        "every": every,
        "timezone": draw(st.sampled_from(ZONES)),
        "start": "2025-06-01",
    }
    hour = 0 if every == "hour" else draw(st.integers(0, 23))
    if every != "cron":
        schedule["at"] = f"{hour:02d}:{draw(st.integers(0, 59)):02d}"
    if every == "week":
        schedule["on"] = draw(st.sampled_from(WEEKDAYS[:5]))
    if every in ("month", "quarter"):
        schedule["on"] = draw(st.one_of(st.integers(1, 31), st.just("last")))
    if every == "cron":
        schedule["cron"] = draw(st.sampled_from(CRONS))
    skip = draw(st.sampled_from([[], ["weekends"], ["holidays"], ["weekends", "holidays"]]))
    if skip:
        schedule["skip"] = skip
    if "holidays" in skip:
        schedule["holiday_calendar"] = draw(st.sampled_from(["US", "DE", "GB"]))
    return schedule


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 6, 30), timezones=st.just(timezone.utc)
)


# The number of examples and the deadline come from the hypothesis profile (conftest.py).
@given(schedule=schedules(), instant=instants)
# Found by this test: a monthly cron skipping weekends was refused, because 1 February 2026 is a
# Sunday and the check looked at January 2026 only.
@example(
    schedule={
        "every": "cron",
        "cron": "30 1 1 * *",
        "timezone": "UTC",
        "start": "2025-06-01",
        "skip": ["weekends"],
    },
    instant=datetime(2026, 1, 20, tzinfo=timezone.utc),
)
def test_preview_matches_the_daemon_tick_by_tick(schedule, instant):
    with tempfile.TemporaryDirectory() as folder:
        write_report(Path(folder) / "reports", report_dict(schedule=schedule))
        # Half-hourly crons are among the examples; the default policy allows hourly at most.
        connections = write_connections(Path(folder), {"policy": {"min_interval": "1m"}})
        defs = build_definitions([Path(folder) / "reports"], connections)
        schedule_def = defs.resolve_schedule_def("test_report_schedule")
        repository = defs.get_repository_def()
        spec = Schedule(**schedule)

        preview = list(upcoming_ticks(spec, instant, 3))

        daemon_ticks = schedule_execution_time_iterator(
            instant.timestamp() + 1, schedule_def.cron_schedule, schedule_def.execution_timezone
        )
        expected = [
            t for _, t in zip(range(3000), daemon_ticks, strict=False) if tick_runs(spec, t)
        ]
        assert schedule_def.cron_schedule == schedule_cron(spec)
        assert [u.tick for u in preview] == expected[: len(preview)]
        assert sum(u.runs for u in preview) == 3
        for upcoming in preview:
            context = build_schedule_context(
                scheduled_execution_time=upcoming.tick, repository_def=repository
            )
            result = schedule_def.evaluate_tick(context)
            if isinstance(upcoming.outcome, DueRun):
                (request,) = result.run_requests
                assert request.run_key == upcoming.outcome.period.key
                assert request.tags["reports/period_end"] == upcoming.outcome.period.end.isoformat()
                assert upcoming.outcome.period.end.timestamp() <= upcoming.tick.timestamp()
            else:
                assert result.run_requests == []
                assert result.skip_message == upcoming.outcome.reason
