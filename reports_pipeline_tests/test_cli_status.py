"""`reports status` against a real instance with real runs: the table, the late and failing
lists, the queue, the next runs, --json, and the exit code a probe alerts on."""

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from dagster import DagsterRunStatus
from dagster._core.remote_origin import (
    RegisteredCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.test_utils import create_run_for_test

from reports_pipeline.cli import cli
from reports_pipeline.definitions import build_definitions
from reports_pipeline.jobs.report_job import REPORT_TAG
from reports_pipeline_tests.report_files import (
    report_dict,
    smtp_connection,
    write_report,
    write_test_connections,
)
from reports_pipeline_tests.test_cli import schedules_running_since, set_schedule_state

NOW = datetime.now(timezone.utc)
# A daily report whose tick was two hours ago: its due period is the day before that tick.
PAST_TICK = NOW - timedelta(hours=2)
DUE_PERIOD = f"{PAST_TICK.date() - timedelta(days=1)}"
# A daily report whose tick comes in 30 minutes, for the day before; its previous tick, a day
# earlier, was due for the day before that.
SOON = NOW + timedelta(minutes=30)
SOON_PERIOD = f"{SOON.date() - timedelta(days=1)}"
SOON_DUE_PERIOD = f"{SOON.date() - timedelta(days=2)}"


def daily(name: str, clock: datetime, **changes) -> dict:
    return report_dict(
        **{
            "name": name,
            "source": {"connection": "warehouse", "sql": "select 1 as one"},
            "schedule": {"every": "day", "at": f"{clock:%H:%M}", "timezone": "UTC"},
            "deliver": [{"email": {"to": ["reader@example.com"]}}],
            **changes,
        }
    )


def queued_in(instance, name: str, period: str) -> None:
    """A run waiting in the queue, as the daemon's queue holds it (with its code location)."""
    origin = RemoteJobOrigin(
        RemoteRepositoryOrigin(
            RegisteredCodeLocationOrigin("reports_pipeline.definitions"), "__repository__"
        ),
        name,
    )
    create_run_for_test(
        instance,
        job_name=name,
        status=DagsterRunStatus.QUEUED,
        tags={REPORT_TAG: name, "dagster/partition": period},
        remote_job_origin=origin,
    )


@pytest.fixture
def deployment(tmp_path, sqlite_instance, smtp_server):
    """Five reports: delivered, late, failing (and so late too), stopped, and one running soon;
    one invalid file; one run waiting in the queue. The runs are real, in the instance."""
    reports = tmp_path / "reports"
    connections = write_test_connections(tmp_path, {"mail": smtp_connection(smtp_server)})
    write_report(reports, daily("delivered", PAST_TICK))
    write_report(reports, daily("overdue", PAST_TICK))
    write_report(
        reports,
        daily("broken", PAST_TICK, source={"connection": "warehouse", "sql": "select * from nope"}),
    )
    write_report(reports, daily("paused", PAST_TICK))
    write_report(reports, daily("soon", SOON))
    write_report(reports, "name: [unclosed\n", "bad.yaml")
    defs = build_definitions([reports], connections)
    for name, period in (
        ("delivered", DUE_PERIOD),
        ("broken", DUE_PERIOD),
        ("soon", SOON_DUE_PERIOD),
    ):
        defs.resolve_job_def(name).execute_in_process(
            partition_key=period, instance=sqlite_instance, raise_on_error=False
        )
    set_schedule_state(sqlite_instance, "paused_schedule", running=False)
    schedules_running_since(sqlite_instance, defs, PAST_TICK - timedelta(days=7))
    queued_in(sqlite_instance, "overdue", DUE_PERIOD)
    return {
        "REPORTS_DIR": str(reports),
        "REPORTS_CONNECTIONS": str(connections),
        "DAGSTER_HOME": sqlite_instance.root_directory,
    }


def status(env, *args):
    return CliRunner().invoke(cli, ["status", *args], env=env, catch_exceptions=False)


def rows(output: str) -> dict[str, list[str]]:
    table = output.split("\n\n")[0].splitlines()[1:]
    return {line.split()[0]: line.split() for line in table}


def test_status_lists_reports_by_state_late_failing_queue_and_next_runs(deployment):
    result = status(deployment)
    assert result.exit_code == 1, result.output
    table = rows(result.output)
    assert list(table)[:5] == ["broken", "delivered", "overdue", "soon", "paused"]
    (invalid,) = list(table)[5:]
    assert invalid.endswith("bad.yaml") and table[invalid][1] == "invalid"
    assert table["delivered"][1:3] == ["running", "success"] and table["delivered"][-1] == "ok"
    assert table["overdue"][1:4] == ["running", "never", "ran"]
    assert table["overdue"][-2:] == ["1", "late"]  # its queued run is in progress
    assert table["broken"][1:3] == ["running", "failure"] and table["broken"][-2:] == [
        "late,",
        "failing",
    ]
    assert table["paused"][1] == "stopped" and table["paused"][-1] == "ok"
    assert table["soon"][-1] == "ok"

    lines = result.output.splitlines()
    late = lines[lines.index("late (2):") + 1 : lines.index("late (2):") + 3]
    assert [line.split(":")[0].strip() for line in late] == ["broken", "overdue"]
    assert f"overdue: period {DUE_PERIOD} due {PAST_TICK:%Y-%m-%d %H:%M} UTC" in late[1]
    assert "not delivered within 15 min" in late[1]
    assert any(
        line.startswith(f"  broken: period {DUE_PERIOD}, run ") and "reports history broken" in line
        for line in lines
    )
    assert "invalid files (1):" in lines
    assert "queue: 1 queued runs" in lines
    next_runs = lines.index("next runs in the coming 1 h: 1")
    assert lines[next_runs + 1] == f"  {SOON:%Y-%m-%d %H:%M} UTC  soon  {SOON_PERIOD}"


def test_status_json_says_the_same_for_a_monitoring_system(deployment):
    result = status(deployment, "--json")
    assert result.exit_code == 1, result.output
    document = json.loads(result.output)
    assert document["healthy"] is False
    assert document["queued_runs"] == 1
    assert document["counts"] == {
        "running": 4,
        "stopped": 1,
        "invalid": 1,
        "late": 2,
        "failing": 1,
    }
    by_name = {report["name"]: report for report in document["reports"]}
    assert by_name["overdue"]["late"]["period"] == DUE_PERIOD
    assert by_name["overdue"]["late"]["grace_minutes"] == 15
    assert by_name["broken"]["failing"]["period"] == DUE_PERIOD
    assert by_name["delivered"]["late"] is None and by_name["delivered"]["failing"] is None
    assert by_name["delivered"]["last_result"] == "success"
    assert datetime.fromisoformat(by_name["delivered"]["last_result_at"]) <= datetime.now(
        timezone.utc
    )
    assert by_name["paused"]["state"] == "stopped" and by_name["paused"]["next_runs"] == []
    assert [run["period"] for run in by_name["soon"]["next_runs"]] == [SOON_PERIOD]
    assert document["invalid"][0]["file"].endswith("bad.yaml")


def test_status_exits_0_when_nothing_is_late_or_failing(tmp_path, sqlite_instance, smtp_server):
    reports = tmp_path / "reports"
    connections = write_test_connections(tmp_path, {"mail": smtp_connection(smtp_server)})
    write_report(reports, daily("delivered", PAST_TICK))
    write_report(reports, daily("paused", PAST_TICK, enabled=False))
    write_report(reports, "name: [unclosed\n", "bad.yaml")  # `reports validate` alarms on it
    build_definitions([reports], connections).resolve_job_def("delivered").execute_in_process(
        partition_key=DUE_PERIOD, instance=sqlite_instance
    )
    env = {
        "REPORTS_DIR": str(reports),
        "REPORTS_CONNECTIONS": str(connections),
        "DAGSTER_HOME": sqlite_instance.root_directory,
    }
    result = status(env)
    assert result.exit_code == 0, result.output
    assert "late (" not in result.output and "failing (" not in result.output
    assert json.loads(status(env, "--json").output)["healthy"] is True


def test_status_looks_further_ahead_on_request(deployment):
    result = status(deployment, "--hours-ahead", "48", "--json")
    soon = next(r for r in json.loads(result.output)["reports"] if r["name"] == "soon")
    assert len(soon["next_runs"]) == 2


def test_status_needs_the_instance(tmp_path):
    result = CliRunner().invoke(cli, ["status"], env={"DAGSTER_HOME": ""})
    assert result.exit_code == 1
    assert "set DAGSTER_HOME" in result.output
