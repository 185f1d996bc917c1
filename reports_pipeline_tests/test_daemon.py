"""A schedule due within the test fires in a real dagster-daemon and the e-mail arrives;
the same deployment seen through a real dagster-webserver."""

import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

from reports_pipeline.spec.report import RESERVED_NAMES
from reports_pipeline_tests.dagster_processes import (
    STARTUP_TIMEOUT,
    backfill,
    free_port,
    prepare_deployment,
    start_daemon,
    start_webserver,
)
from reports_pipeline_tests.jobs.warehouses import create_sqlite_warehouse
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report

pytestmark = pytest.mark.daemon

REPOSITORY_QUERY = """
query {
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        jobs { name }
        schedules { name cronSchedule scheduleState { status } }
        sensors { name description }
      }
    }
  }
}
"""


@pytest.fixture
def deployment(tmp_path, smtp_server):
    """A folder with reports, connections, workspace.yaml and DAGSTER_HOME, as an operator has."""
    url = create_sqlite_warehouse(tmp_path / "warehouse.sqlite")
    write_connections(
        tmp_path,
        {
            "connections": {
                "warehouse": {"kind": "sql", "url": url},
                "mail": {
                    "kind": "smtp",
                    "host": smtp_server.host,
                    "port": smtp_server.port,
                    "from": "reports@example.com",
                },
            },
            "storage": {"path": str(tmp_path / "files")},
            "policy": {"min_interval": "1m"},  # the test's report runs every minute
        },
    )
    write_report(
        tmp_path / "reports",
        report_dict(
            name="every_minute",
            source={
                "connection": "warehouse",
                "sql": "select id, customer from invoices order by id",
            },
            schedule={"every": "cron", "cron": "* * * * *", "timezone": "UTC"},
            deliver=[
                {"email": {"to": ["ops@example.com"], "subject": "{{ name }} {{ period.key }}"}}
            ],
        ),
    )
    write_report(tmp_path / "reports", "name: broken\nowner: nobody\n", "broken.yaml")
    env = prepare_deployment(tmp_path)
    return tmp_path, env


def test_daemon_runs_the_due_schedule_and_the_email_arrives(deployment, smtp_server):
    folder, env = deployment
    daemon = start_daemon(folder / "workspace.yaml", env)
    port = free_port()
    webserver = start_webserver(folder / "workspace.yaml", env, port)
    try:
        # An every-minute schedule is due within 60 s of the daemon having started (which takes
        # a while on a loaded machine).
        (message,) = smtp_server.wait_for_messages(1, timeout=STARTUP_TIMEOUT + 60)
        assert message.rcpt_tos == ["ops@example.com"]
        subject = message.parsed()["Subject"]
        assert subject.startswith("every_minute ")

        webserver.wait_for_line("Serving dagster-webserver", timeout=STARTUP_TIMEOUT)
        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        (repository,) = client._execute(REPOSITORY_QUERY)["repositoriesOrError"]["nodes"]
        # Dagster's own (`__…`) and the deployment's own jobs (the digest) aside, one per report.
        jobs = [job["name"] for job in repository["jobs"] if not job["name"].startswith("__")]
        assert [name for name in jobs if name not in RESERVED_NAMES] == ["every_minute"]
        assert "reports_digest" in jobs
        own = {f"{name}_schedule" for name in RESERVED_NAMES}
        (schedule,) = [s for s in repository["schedules"] if s["name"] not in own]
        assert schedule == {
            "name": "every_minute_schedule",
            "cronSchedule": "* * * * *",
            "scheduleState": {"status": "RUNNING"},
        }
        sensors = {sensor["name"]: sensor for sensor in repository["sensors"]}
        assert "report_catch_up" in sensors
        (invalid,) = [name for name in sensors if name.startswith("invalid_report_file__")]
        assert invalid.endswith("broken_yaml")
        sensor = sensors[invalid]
        assert "broken.yaml" in sensor["description"]
        assert "owner: value is not a valid email address" in sensor["description"]

        with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            # Another minute may have ticked meanwhile: find the run of the e-mail's period.
            (run,) = [
                r
                for r in instance.get_runs()
                if subject == f"every_minute {r.tags.get('dagster/partition')}"
            ]
            assert run.tags["dagster/schedule_name"] == "every_minute_schedule"
            # The e-mail is out; the run records its success right after.
            pause = threading.Event()
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while time.monotonic() < deadline and client.get_run_status(run.run_id) not in (
                DagsterRunStatus.SUCCESS,
                DagsterRunStatus.FAILURE,
            ):
                pause.wait(0.5)
            assert client.get_run_status(run.run_id) == DagsterRunStatus.SUCCESS
        stored = list(Path(folder / "files" / "every_minute").rglob("*.csv"))
        assert len(stored) == 1
    finally:
        webserver.stop()
        daemon.stop()


def _period_keys(messages) -> list[str]:
    return [message.parsed()["Subject"].split(" ", 1)[1] for message in messages]


def _wait_until(moment: float) -> None:
    # Letting wall-clock time pass (minute ticks must go by while the daemon is down); nothing
    # else can signal that a tick was missed.
    threading.Event().wait(max(0.0, moment - time.time()))


def _wait_for_finished_runs(env: dict, timeout: float = STARTUP_TIMEOUT) -> list:
    """Every run in the instance once none is queued or in progress."""
    pause = threading.Event()
    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = instance.get_runs()
            if runs and all(run.is_finished for run in runs):
                return runs
            pause.wait(0.5)
    raise AssertionError(f"runs still unfinished after {timeout}s")


def test_daemon_down_across_two_ticks_delivers_each_missed_period_once(deployment, smtp_server):
    folder, env = deployment
    daemon = start_daemon(folder / "workspace.yaml", env)
    try:
        (first,) = smtp_server.wait_for_messages(1, timeout=STARTUP_TIMEOUT + 60)
        # Stop between runs, not in the middle of one: a run killed after its e-mail went out
        # is a crash, which is a different story from downtime.
        _wait_for_finished_runs(env)
    finally:
        daemon.stop()
    stopped_at = time.time()
    first_key = _period_keys([first])[0]
    # Stay down across two minute ticks.
    next_tick = (int(stopped_at) // 60 + 1) * 60
    _wait_until(next_tick + 60 + 5)
    restarted_at = time.time()
    missed_ticks = list(range(next_tick, int(restarted_at) + 1, 60))
    assert len(missed_ticks) >= 2

    daemon = start_daemon(folder / "workspace.yaml", env)
    try:
        # The first period plus one per missed tick: the scheduler runs the latest missed tick,
        # the catch-up sensor the ones before it.
        smtp_server.wait_for_messages(1 + len(missed_ticks), timeout=STARTUP_TIMEOUT + 60)
        runs = _wait_for_finished_runs(env)
    finally:
        daemon.stop()

    keys = _period_keys(smtp_server.messages)
    assert len(keys) == len(set(keys)), f"a period was delivered twice: {sorted(keys)}"
    expected = {first_key} | {
        datetime.fromtimestamp(tick - 60, timezone.utc).strftime("%Y-%m-%d-%H:%M")
        for tick in missed_ticks
    }
    assert expected <= set(keys)
    catch_up = [run for run in runs if run.tags.get("reports/catch_up") == "true"]
    assert catch_up, "the missed periods before the latest were requested by the catch-up sensor"
    assert all(run.is_success for run in runs)
    partitions = [run.tags["dagster/partition"] for run in runs]
    assert len(partitions) == len(set(partitions))


def test_backfill_from_the_cli_delivers_one_report_per_period(deployment, smtp_server):
    folder, env = deployment
    daemon = start_daemon(folder / "workspace.yaml", env)
    try:
        # The backfill needs the daemon to run its runs: wait until it is up.
        daemon.wait_for_line(
            "Instance is configured with the following daemons", timeout=STARTUP_TIMEOUT
        )
        day = datetime.now(timezone.utc).date().isoformat()
        backfill(
            folder / "workspace.yaml", env, "every_minute", f"{day}-00:00", f"{day}-00:02"
        )
        wanted = {f"{day}-00:00", f"{day}-00:01", f"{day}-00:02"}
        smtp_server.wait_until(
            lambda msgs: wanted <= set(_period_keys(msgs)), timeout=STARTUP_TIMEOUT
        )
    finally:
        daemon.stop()
    keys = _period_keys(smtp_server.messages)
    assert sorted(k for k in keys if k in wanted) == sorted(wanted)
