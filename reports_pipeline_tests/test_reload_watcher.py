"""The `make dev` watcher: one saved report file is one reload of the webserver."""

import threading
from pathlib import Path

from watchfiles import Change

from reports_pipeline.dev_server import reload_after
from reports_pipeline.reload_watcher import relevant_change, watch_and_reload, watched_folders
from reports_pipeline_tests.http_server import RecordingHttpServer
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report

WORKSPACE = {
    "data": {
        "reloadWorkspace": {
            "__typename": "Workspace",
            "locationEntries": [
                {
                    "name": "reports_pipeline.definitions",
                    "locationOrLoadError": {
                        "__typename": "RepositoryLocation",
                        "repositories": [{"jobs": [{"name": "test_report"}]}],
                    },
                }
            ],
        }
    }
}
TIMEOUT = 120


def test_only_report_files_and_connections_yaml_count(tmp_path):
    reports, connections = tmp_path / "reports", tmp_path / "connections.yaml"
    wanted = relevant_change(reports, connections)
    assert wanted(Change.modified, str(reports / "team" / "daily.yaml"))
    assert wanted(Change.added, str(reports / "template.html.j2"))
    assert wanted(Change.modified, str(connections))
    assert not wanted(Change.modified, str(tmp_path / "notes.txt"))
    assert not wanted(Change.added, str(reports / ".daily.yaml.swp"))
    assert not wanted(Change.added, str(reports / "__pycache__" / "x.pyc"))


def test_a_folder_inside_another_watched_one_is_not_watched_twice(tmp_path):
    (tmp_path / "reports").mkdir()
    (tmp_path / "elsewhere").mkdir()
    assert watched_folders(tmp_path / "reports", tmp_path / "connections.yaml") == [tmp_path]
    assert watched_folders(tmp_path / "reports", tmp_path / "elsewhere" / "c.yaml") == [
        tmp_path / "elsewhere",
        tmp_path / "reports",
    ]


def test_a_saved_report_file_reloads_the_webserver_once(tmp_path, capsys):
    reports = tmp_path / "reports"
    write_report(reports, report_dict(), "first.yaml")
    connections = write_connections(tmp_path, {"connections": {}})
    calls: list[list[str]] = []
    stop, ready = threading.Event(), threading.Event()
    with RecordingHttpServer() as server:
        server.respond("/graphql", 200, WORKSPACE)
        reload = reload_after(server.url)

        def recorded_reload(changed: list[str]) -> None:
            calls.append(changed)
            reload(changed)

        watcher = threading.Thread(
            target=watch_and_reload, args=(reports, connections, recorded_reload, stop, ready)
        )
        watcher.start()
        try:
            assert ready.wait(TIMEOUT), "the watcher did not start"
            (tmp_path / "notes.txt").write_text("not a report")  # beside, ignored
            write_report(reports, report_dict(name="second"), "second.yaml")
            (request,) = server.wait_for_requests(1, timeout=TIMEOUT)
        finally:
            stop.set()
            watcher.join(TIMEOUT)

        assert not watcher.is_alive()
        assert "reloadWorkspace" in request.json()["query"]
        assert len(server.requests_to("/graphql")) == 1
    assert [[Path(path).name for path in changed] for changed in calls] == [["second.yaml"]]
    assert capsys.readouterr().err.endswith(
        "second.yaml changed: reports_pipeline.definitions: reloaded, 1 jobs\n"
    )
