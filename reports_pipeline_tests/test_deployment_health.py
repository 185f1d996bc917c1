"""Lateness for the late-notice sensor in few queries: the same verdicts as the full health."""

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy
from dagster import DagsterRunStatus
from dagster._core.storage.dagster_run import DagsterRun

from reports_pipeline import deployment_health
from reports_pipeline.deployment_health import hold_connection, reports_health, reports_lateness
from reports_pipeline.jobs.report_job import REPORT_TAG
from reports_pipeline.spec.loader import load_project
from reports_pipeline_tests.report_files import report_dict, write_report
from reports_pipeline_tests.test_cli import set_schedule_state

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=timezone.utc)  # a Wednesday
TICK = "10:00"  # two hours ago: a daily report is due for 2026-11-17, late after 15 minutes
DUE = "2026-11-17"

# report name: (its runs as (period, status, job name or None for the report's own), schedule)
SCENARIOS = {
    "delivered": ([(DUE, "SUCCESS", None)], {}),
    "delivered_after_a_failure": ([(DUE, "FAILURE", None), (DUE, "SUCCESS", None)], {}),
    "failed": ([(DUE, "FAILURE", None)], {}),
    "only_yesterday": ([("2026-11-16", "SUCCESS", None)], {}),
    "range_run": ([("2026-11-15..2026-11-17", "SUCCESS", None)], {}),
    "running_now": ([(DUE, "STARTED", None)], {}),
    "another_locations_job": ([(DUE, "SUCCESS", "not_this_report")], {}),
    "never_ran": ([], {}),
    "paused": ([], {"running": False}),
    "just_due": ([], {"at": "11:50"}),
    "weekly_delivered": (
        [("2026-11-09", "SUCCESS", None)],
        {"schedule": {"every": "week", "on": "monday", "at": "08:00", "timezone": "UTC"}},
    ),
    "weekly_late": (
        [("2026-11-02", "SUCCESS", None)],
        {"schedule": {"every": "week", "on": "monday", "at": "08:00", "timezone": "UTC"}},
    ),
    "monthly_delivered": (
        [("2026-10-01", "SUCCESS", None)],
        {"schedule": {"every": "month", "on": 1, "at": "06:00", "timezone": "UTC"}},
    ),
}


@pytest.fixture
def deployment(tmp_path, sqlite_instance):
    return sqlite_instance, _populate(tmp_path, sqlite_instance)


def _populate(tmp_path, instance):
    """The SCENARIOS' report files, schedule states and runs; their specs."""
    for name, (runs, options) in SCENARIOS.items():
        schedule = options.get(
            "schedule", {"every": "day", "at": options.get("at", TICK), "timezone": "UTC"}
        )
        report = report_dict(name=name, owner=f"{name}@example.com", schedule=schedule)
        write_report(tmp_path / "reports", report)
        # The daemon has run the schedules for a month (paused: stopped by hand since).
        running = options.get("running", True)
        set_schedule_state(instance, f"{name}_schedule", running, since=NOW - timedelta(days=40))
        for period, status, job_name in runs:
            instance.run_storage.add_run(
                DagsterRun(
                    job_name=job_name or name,
                    status=DagsterRunStatus(status),
                    tags={REPORT_TAG: name, "dagster/partition": period},
                )
            )
    project = load_project([tmp_path / "reports"], tmp_path / "none.yaml")
    assert project.errors == []
    return [report.spec for report in project.reports]


def _backend_pids(instance, times: int) -> set[int]:
    pids = set()
    for _ in range(times):
        with instance.run_storage.connect() as connection:
            pids.add(connection.execute(sqlalchemy.text("select pg_backend_pid()")).scalar())
    return pids


def test_a_held_connection_serves_every_query_with_the_same_healths(tmp_path, postgres_instance):
    specs = _populate(tmp_path, postgres_instance)
    # Dagster's PostgreSQL storage connects anew for every query...
    assert len(_backend_pids(postgres_instance, 3)) == 3
    separate = reports_health(postgres_instance, specs, NOW)
    # ...`reports status` holds one connection for its query per report.
    hold_connection(postgres_instance)
    assert len(_backend_pids(postgres_instance, 3)) == 1
    assert reports_health(postgres_instance, specs, NOW) == separate
    assert sorted(h.name for h in separate if h.late)[:2] == ["another_locations_job", "failed"]


def test_lateness_gives_the_full_healths_verdict_for_every_report(deployment):
    instance, specs = deployment
    full = {h.name: h.late for h in reports_health(instance, specs, NOW)}
    fast = {h.name: h.late for h in reports_lateness(instance, specs, NOW)}
    assert fast == full
    assert sorted(name for name, late in full.items() if late) == [
        "another_locations_job",
        "failed",
        "never_ran",
        "only_yesterday",
        "running_now",
        "weekly_late",
    ]


def test_lateness_reads_the_runs_of_suspect_reports_only(deployment, monkeypatch):
    instance, specs = deployment
    read = []
    original = deployment_health.recent_runs

    def recording(instance, name, *args, **kwargs):
        read.append(name)
        return original(instance, name, *args, **kwargs)

    monkeypatch.setattr(deployment_health, "recent_runs", recording)
    healths = reports_lateness(instance, specs, NOW)
    # On-time reports are proven so by the few batched queries, the late ones read in full.
    assert sorted(read) == sorted(h.name for h in healths if h.late)
    assert "delivered" not in read and "monthly_delivered" not in read
    late = {h.name: h for h in healths if h.late}
    assert late["failed"].last_result == "failure"  # the notice's text needs the full health
