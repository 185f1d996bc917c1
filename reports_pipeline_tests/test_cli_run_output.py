"""`reports run` as a user types it, in a real process started in another folder: the whole
output is what ran, the period, the stored file and each target's result, nothing of Dagster's;
and the files land where connections.yaml says, not in the working directory."""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from reports_pipeline_tests.jobs.warehouses import create_sqlite_warehouse
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report

REPORTS = Path(sys.executable).parent / "reports"


def _project(folder: Path, refused_port: int) -> None:
    """A daily report mailed to an outbox and through an SMTP server that refuses connections;
    every path in connections.yaml relative, the outbox's from an environment variable."""
    folder.mkdir()
    create_sqlite_warehouse(folder / "wh.sqlite")
    write_connections(
        folder,
        {
            "connections": {
                "warehouse": {"kind": "sql", "url": "sqlite:///wh.sqlite"},
                "outbox": {"kind": "outbox", "path": {"env": "TEST_OUTBOX", "default": "./out"}},
                "down": {
                    "kind": "smtp",
                    "host": "127.0.0.1",
                    "port": refused_port,
                    "from": "r@x.io",
                },
            },
            "storage": {"kind": "local", "path": {"env": "TEST_UNSET_STORAGE", "default": "files"}},
            "policy": {"retry": {"attempts": 1}},
        },
    )
    write_report(
        folder / "reports",
        report_dict(
            source={
                "connection": "warehouse",
                "sql": "select id from invoices"
                " where issued_at >= :period_start and issued_at < :period_end",
            },
            schedule={"every": "day", "timezone": "America/New_York", "start": "2026-01-01"},
            deliver=[
                {"email": {"to": ["a@example.com"], "connection": "outbox"}},
                {"email": {"to": ["b@example.com"], "connection": "down"}},
            ],
        ),
    )


def _run(cwd: Path, project: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DAGSTER_HOME", "TEST_UNSET_STORAGE", "TEST_OUTBOX")
    }
    environment.update(
        REPORTS_DIR=str(project / "reports"),
        REPORTS_CONNECTIONS=str(project / "connections.yaml"),
        **env,
    )
    return subprocess.run(
        [str(REPORTS), "run", "test_report", "--period", "2026-11-02", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_run_from_another_folder_prints_only_its_outcome(tmp_path):
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    elsewhere.mkdir()
    with socket.socket() as refusing:  # bound, never listening: connections are refused
        refusing.bind(("127.0.0.1", 0))
        _project(project, refusing.getsockname()[1])
        result = _run(elsewhere, project, TEST_OUTBOX="sent")

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "test_report: period 2026-11-02, 2026-11-02 00:00 to 2026-11-03 00:00 (America/New_York)"
    )
    rows, stored = lines[1].split(" rows → ")
    assert rows == "3"
    assert Path(stored).parent.parent.parent == project / "files" / "test_report"
    assert lines[2:] == ["deliver_1_email: delivered"]
    errors = result.stderr.splitlines()
    assert re.fullmatch(
        r"deliver_2_email: cannot reach smtp 127\.0\.0\.1:\d+: .*refused", errors[0]
    )
    assert re.fullmatch(r"Error: run [\w-]+ failed", errors[1])
    assert errors[2:] == []
    # A relative path from the environment is the shell's: in the working directory.
    assert [path.suffix for path in (elsewhere / "sent").glob("*.eml")] == [".eml"]
    assert sorted(path.name for path in elsewhere.iterdir()) == ["sent"]


def test_a_run_without_delivery_says_so_and_nothing_else(tmp_path):
    project = tmp_path / "project"
    _project(project, 1)
    result = _run(project / "reports", project, "--no-deliver")

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("test_report: period 2026-11-02, ")
    assert Path(lines[1].split(" rows → ")[1]).is_file()
    assert lines[2:] == ["not delivered (--no-deliver)"]
    assert result.stderr == ""
    assert not (project / "out").exists()  # nothing sent, not even to the outbox


def test_a_one_off_report_names_its_only_period(tmp_path):
    from click.testing import CliRunner

    from reports_pipeline.cli import cli

    project = tmp_path / "project"
    _project(project, 1)
    once = {"every": "once", "run_at": "2026-11-03T08:00", "timezone": "Europe/Paris"}
    source = {"connection": "warehouse", "sql": "select 1 as one"}
    write_report(project / "reports", report_dict(schedule=once, source=source))  # replaces it
    env = {
        "REPORTS_DIR": str(project / "reports"),
        "REPORTS_CONNECTIONS": str(project / "connections.yaml"),
        "DAGSTER_HOME": "",
    }
    result = CliRunner().invoke(cli, ["run", "test_report", "--no-deliver"], env=env)

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "test_report: period 2026-11-03-08:00 (its only one), 2026-11-02 08:00 to 2026-11-03 08:00"
        " (Europe/Paris)"
    )
