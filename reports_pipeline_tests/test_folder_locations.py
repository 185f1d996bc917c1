"""Reports split over several code locations, one per folder (`reports workspace --per-folder`)."""

import threading
import time

import pytest
import yaml
from click.testing import CliRunner
from dagster import DagsterInstance, DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

from reports_pipeline import folder_locations
from reports_pipeline.cli import cli
from reports_pipeline.folder_locations import OPERATIONS, TOP_LEVEL, location_repository
from reports_pipeline_tests.dagster_processes import (
    STARTUP_TIMEOUT,
    free_port,
    prepare_deployment,
    start_daemon,
    start_webserver,
)
from reports_pipeline_tests.jobs.warehouses import create_sqlite_warehouse
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report


def _own_jobs(repository) -> list[str]:
    return sorted(name for name in repository.job_names if not name.startswith("__"))


def _sensors(repository) -> dict:
    return {sensor.name: sensor for sensor in repository.sensor_defs}


@pytest.fixture
def split_reports(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # no deployment: nothing has run yet
    reports = tmp_path / "reports"
    write_report(reports / "finance", report_dict(name="fin_daily"))
    write_report(reports / "finance", report_dict(name="fin_weekly"))
    write_report(reports / "finance" / "eu", report_dict(name="fin_eu"))
    write_report(reports / "sales", report_dict(name="sales_daily"))
    write_report(reports / "sales", "name: sales_broken\nowner: nobody\n", "broken.yaml")
    write_report(reports, report_dict(name="at_top"))
    monkeypatch.setenv("REPORTS_DIR", str(reports))
    monkeypatch.setenv("REPORTS_CONNECTIONS", str(tmp_path / "none.yaml"))
    return reports


def test_each_folder_is_a_location_of_its_own_reports(split_reports):
    finance = location_repository("folder__finance")
    sales = location_repository("folder__sales")
    top = location_repository(TOP_LEVEL)
    assert _own_jobs(finance) == ["fin_daily", "fin_eu", "fin_weekly"]  # subfolders included
    assert _own_jobs(sales) == ["sales_daily"]
    assert _own_jobs(top) == ["at_top"]
    assert sorted(s.name for s in finance.schedule_defs) == [
        "fin_daily_schedule",
        "fin_eu_schedule",
        "fin_weekly_schedule",
    ]
    # A broken file is shown by its folder's location only.
    (marker,) = [n for n in _sensors(sales) if n.startswith("invalid_report_file")]
    assert marker.endswith("reports_sales_broken_yaml")
    assert not [n for n in _sensors(finance) if n.startswith("invalid_report_file")]
    # Each location watches its own reports; deployment-wide work is in none of them.
    assert {"report_catch_up", "report_failure_notice", "report_late_notice"} <= set(
        _sensors(finance)
    )
    assert "report_pool_limits" not in _sensors(finance)
    assert "reports_digest" not in finance.job_names


def test_the_operations_location_holds_what_needs_every_report_once(split_reports):
    operations = location_repository(OPERATIONS)
    assert _own_jobs(operations) == ["reports_digest"]
    assert set(_sensors(operations)) == {"report_pool_limits"}  # no report's sensors, no marker
    assert not operations.schedule_defs[0].name.endswith("_daily_schedule")


def test_a_run_worker_of_a_folder_location_parses_only_the_file_it_runs(split_reports):
    repository = location_repository("folder__finance")
    job = repository.get_job("fin_weekly")
    data = repository._repository_data
    assert job.name == "fin_weekly"
    assert [p.name for p in data.files_loaded_for_single_jobs] == ["fin_weekly.yaml"]
    assert not data.full_load_done


def test_a_name_declared_in_two_folders_is_scheduled_in_neither(split_reports):
    write_report(split_reports / "sales", report_dict(name="fin_daily"), "copy.yaml")
    finance = location_repository("folder__finance")
    sales = location_repository("folder__sales")
    assert "fin_daily" not in finance.job_names and "fin_daily" not in sales.job_names
    for repository, other in ((finance, "copy.yaml"), (sales, "fin_daily.yaml")):
        (marker,) = [
            s
            for n, s in _sensors(repository).items()
            if n.startswith("invalid_report_file") and "broken" not in n
        ]
        assert "duplicate report name 'fin_daily'" in marker.description
        assert other in marker.description
        assert "another folder's code location" in marker.description
    assert "fin_weekly" in finance.job_names  # the others still load


def test_a_name_already_deployed_from_one_folder_stays_there(split_reports, tmp_path, monkeypatch):
    from dagster._core.test_utils import create_run_for_test

    from reports_pipeline.jobs.report_job import REPORT_FILE_TAG
    from reports_pipeline.locations import PACKAGE_DIR

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PACKAGE_DIR.parent / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    deployed = location_repository("folder__finance").get_job("fin_daily")
    with DagsterInstance.get() as instance:
        create_run_for_test(instance, job_name="fin_daily", tags=dict(deployed.tags))

    write_report(split_reports / "sales", report_dict(name="fin_daily"), "copy.yaml")
    finance = location_repository("folder__finance")
    sales = location_repository("folder__sales")
    assert finance.get_job("fin_daily").tags[REPORT_FILE_TAG] == deployed.tags[REPORT_FILE_TAG]
    assert "fin_daily" not in sales.job_names


def test_an_unknown_folder_attribute_says_to_regenerate_the_workspace(split_reports):
    with pytest.raises(AttributeError, match="regenerate workspace.yaml"):
        location_repository("folder__gone")
    with pytest.raises(AttributeError):
        location_repository("not_a_location")


def test_the_module_serves_each_location_once_by_attribute(split_reports, monkeypatch):
    monkeypatch.setattr(folder_locations, "_built", {})
    first = folder_locations.folder__sales  # how Dagster loads it: getattr(module, attribute)
    assert first is getattr(folder_locations, "folder__sales")  # noqa: B009 (the path Dagster takes)
    assert _own_jobs(first) == ["sales_daily"]


def test_reports_workspace_per_folder_lists_every_location(split_reports):
    result = CliRunner().invoke(cli, ["workspace", "--per-folder"])
    assert result.exit_code == 0, result.output
    entries = [e["python_module"] for e in yaml.safe_load(result.output)["load_from"]]
    assert [(e["attribute"], e["location_name"]) for e in entries] == [
        ("folder__finance", "reports_finance"),
        ("folder__sales", "reports_sales"),
        (TOP_LEVEL, "reports_top_level"),
        (OPERATIONS, "reports_operations"),
    ]
    assert {e["module_name"] for e in entries} == {"reports_pipeline.folder_locations"}
    single = CliRunner().invoke(cli, ["workspace"])
    assert yaml.safe_load(single.output)["load_from"][0]["python_module"]["module_name"] == (
        "reports_pipeline.definitions"
    )


LOCATIONS_QUERY = """
query {
  workspaceOrError {
    ... on Workspace {
      locationEntries {
        name
        locationOrLoadError {
          ... on RepositoryLocation { repositories { jobs { name } } }
          ... on PythonError { message }
        }
      }
    }
  }
}
"""


@pytest.mark.daemon
def test_a_per_folder_workspace_delivers_through_a_real_daemon_and_webserver(tmp_path, smtp_server):
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
            "policy": {"min_interval": "1m"},
        },
    )
    write_report(
        tmp_path / "reports" / "team_a",
        report_dict(
            name="every_minute",
            source={"connection": "warehouse", "sql": "select id from invoices order by id"},
            schedule={"every": "cron", "cron": "* * * * *", "timezone": "UTC"},
            deliver=[{"email": {"to": ["ops@example.com"], "subject": "{{ period.key }}"}}],
        ),
    )
    write_report(tmp_path / "reports" / "team_b", report_dict(name="team_b_daily"))
    env = prepare_deployment(tmp_path)
    result = CliRunner(env={"REPORTS_DIR": env["REPORTS_DIR"]}).invoke(
        cli, ["workspace", "--per-folder", "-o", str(tmp_path / "workspace.yaml")]
    )
    assert result.exit_code == 0, result.output

    daemon = start_daemon(tmp_path / "workspace.yaml", env)
    port = free_port()
    webserver = start_webserver(tmp_path / "workspace.yaml", env, port)
    try:
        # The run worker rebuilds the job from the folder location's attribute.
        (message,) = smtp_server.wait_for_messages(1, timeout=STARTUP_TIMEOUT + 60)
        assert message.rcpt_tos == ["ops@example.com"]
        period = message.parsed()["Subject"]

        webserver.wait_for_line("Serving dagster-webserver", timeout=STARTUP_TIMEOUT)
        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        entries = client._execute(LOCATIONS_QUERY)["workspaceOrError"]["locationEntries"]
        jobs = {
            entry["name"]: sorted(
                job["name"]
                for repository in entry["locationOrLoadError"]["repositories"]
                for job in repository["jobs"]
                if not job["name"].startswith("__")
            )
            for entry in entries
        }
        assert jobs == {
            "reports_team_a": ["every_minute"],
            "reports_team_b": ["team_b_daily"],
            "reports_operations": ["reports_digest"],
        }
        with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            (run,) = [r for r in instance.get_runs() if r.tags.get("dagster/partition") == period]
            assert run.remote_job_origin.location_name == "reports_team_a"
            pause = threading.Event()
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while time.monotonic() < deadline and client.get_run_status(run.run_id) not in (
                DagsterRunStatus.SUCCESS,
                DagsterRunStatus.FAILURE,
            ):
                pause.wait(0.5)
            assert client.get_run_status(run.run_id) == DagsterRunStatus.SUCCESS
    finally:
        webserver.stop()
        daemon.stop()


def test_reports_workspace_can_name_long_lived_code_servers(split_reports):
    result = CliRunner().invoke(cli, ["workspace", "--per-folder", "--code-servers", "4300"])
    assert result.exit_code == 0, result.output
    entries = [e["grpc_server"] for e in yaml.safe_load(result.output)["load_from"]]
    assert [(e["port"], e["location_name"]) for e in entries] == [
        (4300, "reports_finance"),
        (4301, "reports_sales"),
        (4302, "reports_top_level"),
        (4303, "reports_operations"),
    ]
    # The header says how to start each one.
    assert (
        "dagster code-server start -h 127.0.0.1 -p 4301 -m reports_pipeline.folder_locations"
        " -a folder__sales"
    ) in result.output
    refused = CliRunner().invoke(cli, ["workspace", "--code-servers", "4300"])
    assert refused.exit_code == 2 and "--per-folder" in refused.output
