"""The deployment's own schedules and sensors in a real dagster-daemon: the owners' digest goes
out and retention deletes old report files, at the minute the policy names; the owner of a
report that is late hears of it."""

import os
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from dagster import DagsterInstance

from reports_pipeline.jobs.digest_job import DIGEST_JOB_NAME
from reports_pipeline.jobs.retention_job import RETENTION_JOB_NAME
from reports_pipeline.storage.layout import latest_pointer_path, pointer_text, stored_file_path
from reports_pipeline_tests.dagster_processes import (
    STARTUP_TIMEOUT,
    prepare_deployment,
    start_daemon,
)
from reports_pipeline_tests.report_files import (
    report_dict,
    smtp_connection,
    write_report,
    write_test_connections,
)
from reports_pipeline_tests.test_cli import set_schedule_state

pytestmark = pytest.mark.daemon

REPORT = "weekly_invoices"
LATE_REPORT = "never_delivered"
OLD, RECENT = "2026-01-05", "2026-11-23"


def _stored(files: Path, period: str, run_id: str, age: timedelta) -> Path:
    """A report file as a run stores it (and its period's pointer), ``age`` old."""
    stored = stored_file_path(REPORT, period, "csv", run_id)
    path = files / stored
    path.parent.mkdir(parents=True)
    path.write_text("id\n1\n")
    pointer = files / latest_pointer_path(REPORT, period)
    pointer.write_text(pointer_text(stored))
    moment = (datetime.now(timezone.utc) - age).timestamp()
    for written in (path, pointer):
        os.utime(written, (moment, moment))
    return path


def _write_deployment(folder: Path, smtp_server, minute: datetime) -> None:
    at = minute.strftime("%H:%M")
    write_test_connections(
        folder,
        {"mail": smtp_connection(smtp_server)},
        storage={"path": str(folder / "files"), "retention_days": 30},
        policy={
            "timezone": "UTC",
            "digest": {"every": "day", "at": at},
            "retention_at": at,
            "notify": {"connection": "mail"},
        },
    )


def _finished_runs(env: dict, jobs: set[str], timeout: float) -> dict:
    """The first finished run of each of ``jobs``, by job name."""
    pause = threading.Event()
    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = {r.job_name: r for r in instance.get_runs() if r.job_name in jobs}
            if set(runs) == jobs and all(run.is_finished for run in runs.values()):
                return runs
            pause.wait(1)
    raise AssertionError(f"runs of {sorted(jobs)} not finished within {timeout}s")


def _subjects_with(text: str, messages) -> int:
    return sum(text in m.parsed()["Subject"] for m in messages)


def _minute_after(seconds: float) -> datetime:
    soon = datetime.now(timezone.utc) + timedelta(seconds=seconds + 59)
    return soon.replace(second=0, microsecond=0)


def test_the_digest_and_retention_schedules_run_in_the_daemon(tmp_path, smtp_server):
    files = tmp_path / "files"
    old = _stored(files, OLD, "0a1b2c3d-old", timedelta(days=300))
    recent = _stored(files, RECENT, "4e5f6a7b-new", timedelta(days=2))
    # A daily report whose tick was two hours ago and whose runs all fail (no such table): the
    # daemon has run its schedule for a week, so that period is late.
    past_tick = datetime.now(timezone.utc) - timedelta(hours=2)
    write_report(
        tmp_path / "reports",
        report_dict(
            name=LATE_REPORT,
            owner="late-owner@example.com",
            source={"connection": "warehouse", "sql": "select id from no_such_table"},
            schedule={"every": "day", "at": f"{past_tick:%H:%M}", "timezone": "UTC"},
        ),
    )
    write_report(
        tmp_path / "reports",
        report_dict(
            name=REPORT,
            owner="finance-lead@example.com",
            source={"connection": "warehouse", "sql": "select id from invoices"},
            schedule={"every": "week", "on": "monday", "at": "06:00", "timezone": "UTC"},
        ),
    )
    # A minute well after the daemon is up; if it comes up late, the schedules move to a later
    # minute (the daemon's code server reloads the settings every 60 s).
    minute = _minute_after(120)
    _write_deployment(tmp_path, smtp_server, minute)
    env = prepare_deployment(tmp_path)
    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        set_schedule_state(
            instance, f"{LATE_REPORT}_schedule", running=True, since=past_tick - timedelta(days=7)
        )
    daemon = start_daemon(tmp_path / "workspace.yaml", env)
    try:
        daemon.wait_for_line(
            "Instance is configured with the following daemons", timeout=STARTUP_TIMEOUT
        )
        if datetime.now(timezone.utc) > minute - timedelta(seconds=30):
            minute = _minute_after(150)
            _write_deployment(tmp_path, smtp_server, minute)
        smtp_server.wait_until(
            lambda messages: _subjects_with("digest", messages) >= 2
            and _subjects_with("Report late", messages) >= 1,
            timeout=STARTUP_TIMEOUT + 300,
        )
        runs = _finished_runs(env, {DIGEST_JOB_NAME, RETENTION_JOB_NAME}, STARTUP_TIMEOUT)
    finally:
        daemon.stop()

    (digest,) = [
        m
        for m in smtp_server.messages
        if "digest" in m.parsed()["Subject"] and m.rcpt_tos == ["finance-lead@example.com"]
    ]
    assert REPORT in digest.parsed().get_body(preferencelist=("plain",)).get_content()
    for run in runs.values():
        assert run.is_success
        assert run.tags["dagster/schedule_name"] == f"{run.job_name}_schedule"
    (late,) = [m for m in smtp_server.messages if "Report late" in m.parsed()["Subject"]]
    assert late.rcpt_tos == ["late-owner@example.com"]
    assert f"The report {LATE_REPORT} " in late.parsed().get_body(("plain",)).get_content()
    # Retention deleted the period older than 30 days and kept the report's latest one.
    assert not old.exists() and not (files / REPORT / OLD).exists()
    assert recent.exists()
