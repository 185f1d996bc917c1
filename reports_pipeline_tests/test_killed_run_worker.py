"""A run whose worker process is killed in the middle of a burst is retried by Dagster, and every
target of every period is delivered exactly once.

Three reports due every minute run through a real ``dagster-daemon``. The second target's SMTP
server holds the first transaction that reaches it at MAIL FROM; the test then kills the process
holding that connection (the run worker: reports run their steps in-process) with SIGKILL, as a
lost machine or the kernel's OOM killer would. The code server notices the dead process and marks
the run failed; the daemon's run retries re-execute it from the failure.

Scheduled runs, not a backfill: Dagster does not retry the runs of a backfill that has already
finished, and a backfill of a few runs finishes as soon as its last run fails.
"""

import signal
import threading
import time

import psutil
import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

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
from reports_pipeline_tests.smtp_server import SmtpTestServer

pytestmark = pytest.mark.daemon

SUBJECT = "{{ name }} {{ period.key }}"


def _process_connected_from(port: int) -> psutil.Process:
    """The process whose TCP connection has local port ``port`` (the held SMTP client)."""
    for process in psutil.process_iter():
        try:
            if any(c.laddr and c.laddr.port == port for c in process.net_connections("tcp")):
                return process
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    raise AssertionError(f"no process holds a connection from port {port}")


def _retry_of(run_id: str, env: dict, timeout: float):
    """The finished automatic retry of run ``run_id``."""
    pause = threading.Event()
    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            retries = instance.get_runs(RunsFilter(tags={"dagster/parent_run_id": run_id}))
            if retries and retries[0].is_finished:
                return instance.get_run_by_id(run_id), retries[0]
            pause.wait(0.5)
    raise AssertionError(f"run {run_id} was not retried within {timeout}s")


def _run_of(process: psutil.Process, env: dict, timeout: float) -> str:
    """The id of the run that ``process`` executes (from its "Started process" event)."""
    pause = threading.Event()
    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for run in instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED])):
                for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT):
                    if f"(pid: {process.pid})" in entry.message:
                        return run.run_id
            pause.wait(0.5)
    raise AssertionError(f"no started run names process {process.pid}")


def _subjects(server: SmtpTestServer) -> list[str]:
    return sorted(m.parsed()["Subject"] for m in server.messages)


def test_a_killed_run_worker_is_retried_and_each_target_delivers_once(tmp_path, smtp_server):
    with SmtpTestServer() as held_server:
        write_test_connections(
            tmp_path,
            {"mail": smtp_connection(smtp_server), "held": smtp_connection(held_server)},
            policy={"min_interval": "1m"},  # the test's reports run every minute
        )
        for name in ("first_due", "second_due", "third_due"):
            write_report(
                tmp_path / "reports",
                report_dict(
                    name=name,
                    source={"connection": "warehouse", "sql": "select id from invoices"},
                    schedule={"every": "cron", "cron": "* * * * *", "timezone": "UTC"},
                    deliver=[
                        {"email": {"to": ["first@example.com"], "subject": SUBJECT}},
                        {
                            "email": {
                                "connection": "held",
                                "to": ["second@example.com"],
                                "subject": SUBJECT,
                            }
                        },
                    ],
                ),
            )
        env = prepare_deployment(tmp_path)
        hold = held_server.hold_next()
        daemon = start_daemon(tmp_path / "workspace.yaml", env)
        try:
            # The reports are due every minute: within a minute of the daemon being up, a run
            # reaches the second target.
            assert hold.arrived.wait(STARTUP_TIMEOUT + 120), "no run reached the second target"
            worker = _process_connected_from(hold.peer[1])
            killed_run_id = _run_of(worker, env, timeout=60)
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=60)
            hold.released.set()
            killed, retry = _retry_of(killed_run_id, env, timeout=STARTUP_TIMEOUT)
        finally:
            daemon.stop()

        assert killed.is_failure
        assert retry.is_success
        assert retry.job_name == killed.job_name
        assert retry.tags["dagster/partition"] == killed.tags["dagster/partition"]
        # The first target was delivered before the kill and not again by the retry; the second
        # was cut off at MAIL FROM, before any message, and delivered by the retry. No period of
        # any report arrived twice at either server.
        subject = f"{killed.job_name} {killed.tags['dagster/partition']}"
        for server in (smtp_server, held_server):
            subjects = _subjects(server)
            assert subjects.count(subject) == 1
            assert len(subjects) == len(set(subjects))
