"""A schedule due within the test fires in a real dagster-daemon and the e-mail arrives;
the same deployment seen through a real dagster-webserver."""

import os
import shutil
import threading
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

from reports_pipeline.locations import PACKAGE_DIR
from reports_pipeline_tests.dagster_processes import free_port, start_daemon, start_webserver
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
    (tmp_path / "workspace.yaml").write_text(
        yaml.safe_dump(
            {
                "load_from": [
                    {
                        "python_module": {
                            "module_name": "reports_pipeline.definitions",
                            "working_directory": str(tmp_path),
                        }
                    }
                ]
            }
        )
    )
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PACKAGE_DIR.parent / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "REPORTS_DIR": str(tmp_path / "reports"),
        "REPORTS_CONNECTIONS": str(tmp_path / "connections.yaml"),
    }
    return tmp_path, env


def test_daemon_runs_the_due_schedule_and_the_email_arrives(deployment, smtp_server):
    folder, env = deployment
    daemon = start_daemon(folder / "workspace.yaml", env)
    port = free_port()
    webserver = start_webserver(folder / "workspace.yaml", env, port)
    try:
        # A every-minute schedule is due within 60 s of the daemon starting.
        (message,) = smtp_server.wait_for_messages(1, timeout=150)
        assert message.rcpt_tos == ["ops@example.com"]
        subject = message.parsed()["Subject"]
        assert subject.startswith("every_minute ")

        webserver.wait_for_line("Serving dagster-webserver", timeout=90)
        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        (repository,) = client._execute(REPOSITORY_QUERY)["repositoriesOrError"]["nodes"]
        assert [job["name"] for job in repository["jobs"] if not job["name"].startswith("__")] == [
            "every_minute"
        ]
        (schedule,) = repository["schedules"]
        assert schedule == {
            "name": "every_minute_schedule",
            "cronSchedule": "* * * * *",
            "scheduleState": {"status": "RUNNING"},
        }
        (sensor,) = repository["sensors"]
        assert "broken.yaml" in sensor["description"]
        assert "owner: value is not a valid email address" in sensor["description"]

        with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            (run,) = instance.get_runs()
            assert run.tags["dagster/schedule_name"] == "every_minute_schedule"
            assert subject == f"every_minute {run.tags['dagster/partition']}"
            finished = threading.Event()
            for _ in range(120):  # the e-mail is out; the run records its success right after
                if client.get_run_status(run.run_id) in (
                    DagsterRunStatus.SUCCESS,
                    DagsterRunStatus.FAILURE,
                ):
                    break
                finished.wait(0.5)
            assert client.get_run_status(run.run_id) == DagsterRunStatus.SUCCESS
        stored = list(Path(folder / "files" / "every_minute").rglob("*.csv"))
        assert len(stored) == 1
    finally:
        webserver.stop()
        daemon.stop()
