"""`reports reload`: a running webserver loads new report files; its errors are told plainly."""

import json
import re
import socket
import urllib.request

from click.testing import CliRunner

from reports_pipeline.cli import cli
from reports_pipeline_tests.dagster_processes import (
    STARTUP_TIMEOUT,
    free_port,
    prepare_deployment,
    serving_webserver,
)
from reports_pipeline_tests.http_server import RecordingHttpServer
from reports_pipeline_tests.jobs.warehouses import create_sqlite_warehouse
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report

JOBS_QUERY = (
    "query { repositoriesOrError { ... on RepositoryConnection { nodes { jobs { name } } } } }"
)


def _jobs(url: str) -> set[str]:
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": JOBS_QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=STARTUP_TIMEOUT) as response:
        nodes = json.loads(response.read())["data"]["repositoriesOrError"]["nodes"]
    return {job["name"] for node in nodes for job in node["jobs"]}


def _report(name: str) -> dict:
    return report_dict(name=name, source={"connection": "warehouse", "sql": "select 1 as one"})


def _reload(url: str):
    return CliRunner().invoke(cli, ["reload", "--url", url], catch_exceptions=False)


def test_reports_reload_makes_the_running_ui_list_a_new_report(tmp_path):
    url = create_sqlite_warehouse(tmp_path / "warehouse.sqlite")
    write_connections(
        tmp_path,
        {
            "connections": {"warehouse": {"kind": "sql", "url": url}},
            "storage": {"path": str(tmp_path / "files")},
        },
    )
    write_report(tmp_path / "reports", _report("first_report"), "first.yaml")
    env = prepare_deployment(tmp_path)
    port = free_port()
    webserver = serving_webserver(tmp_path / "workspace.yaml", env, port)
    try:
        ui = f"http://127.0.0.1:{port}"
        before = _jobs(ui)
        assert "first_report" in before and "second_report" not in before

        write_report(tmp_path / "reports", _report("second_report"), "second.yaml")
        result = _reload(ui)

        assert result.exit_code == 0, result.output
        assert re.fullmatch(r"reports_pipeline\.definitions: reloaded, \d+ jobs\n", result.output)
        assert {"first_report", "second_report"} <= _jobs(ui)
    finally:
        webserver.stop()


def test_a_location_that_fails_to_load_is_told_with_its_error():
    failed = {
        "name": "reports_pipeline.definitions",
        "locationOrLoadError": {
            "__typename": "PythonError",
            "message": "ModuleNotFoundError: No module named 'reports_pipeline'\n",
        },
    }
    answer = {"data": {"reloadWorkspace": {"__typename": "Workspace", "locationEntries": [failed]}}}
    with RecordingHttpServer() as server:
        server.respond("/graphql", 200, answer)
        result = _reload(server.url)
        (request,) = server.requests_to("/graphql")

    assert "reloadWorkspace" in request.json()["query"]
    assert result.exit_code == 1
    assert result.output == (
        "reports_pipeline.definitions: failed to load: ModuleNotFoundError: No module named"
        " 'reports_pipeline'\n"
    )


def test_a_webserver_that_is_not_running_is_named_with_the_fix():
    with socket.socket() as refusing:  # bound, never listening: connections are refused
        refusing.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{refusing.getsockname()[1]}"
        result = _reload(url)

    assert result.exit_code == 1
    assert result.output.startswith(f"Error: cannot reach the Dagster webserver at {url}: ")
    assert "start it with `make dev`, or give its address with --url" in result.output
    assert "Traceback" not in result.output


def test_an_answer_that_is_not_dagster_s_is_named():
    with RecordingHttpServer() as server:
        result = _reload(server.url)  # nothing scripted: 404

    assert result.exit_code == 1
    assert "answered HTTP 404; is it a Dagster webserver?" in result.output
