"""Runs requested by schedules and the catch-up sensor queue behind runs started by hand."""

from datetime import datetime
from zoneinfo import ZoneInfo

from dagster import RunRequest
from dagster._core.storage.tags import PRIORITY_TAG

from reports_pipeline.scheduling.cadence import partitions_definition
from reports_pipeline.scheduling.due import DueRun, due_at
from reports_pipeline.scheduling.run_requests import run_request
from reports_pipeline.spec.report import Schedule
from reports_pipeline_tests.scheduling.test_report_schedule import evaluate

NY = ZoneInfo("America/New_York")


def test_a_scheduled_run_has_a_priority_below_dagsters_default(tmp_path):
    request = evaluate(
        tmp_path,
        {"every": "day", "at": "09:00", "timezone": "America/New_York"},
        datetime(2026, 11, 3, 9, tzinfo=NY),
    )
    assert isinstance(request, RunRequest)
    # Runs launched from the UI or the CLI carry no priority tag: Dagster reads that as 0.
    assert int(request.tags[PRIORITY_TAG]) < 0


def test_a_catch_up_run_has_the_same_low_priority(tmp_path):
    schedule = Schedule(every="hour", at="00:15", timezone="UTC", start="2026-11-01")
    due = due_at(schedule, partitions_definition(schedule), datetime(2026, 11, 2, 5, 15, tzinfo=NY))
    assert isinstance(due, DueRun)
    request = run_request(due, partitioned=True, tags={"reports/catch_up": "true"})
    assert int(request.tags[PRIORITY_TAG]) < 0
    assert request.tags["reports/catch_up"] == "true"
