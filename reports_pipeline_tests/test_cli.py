"""The `reports` command as an analyst uses it."""

import csv
import re
from datetime import datetime

from click.testing import CliRunner

from reports_pipeline.cli import cli
from reports_pipeline_tests.jobs.warehouses import create_sqlite_warehouse
from reports_pipeline_tests.report_files import (
    report_dict,
    s3_storage_section,
    smtp_connection,
    write_connections,
    write_report,
    write_test_connections,
)


def invoke(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_validate_shipped_reports_passes():
    result = invoke("validate")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: 5 reports valid")


def test_validate_prints_file_line_field_and_fails(tmp_path):
    write_report(
        tmp_path, report_dict(schedule={"every": "day", "timezone": "Mars/Base"}), "bad.yaml"
    )
    write_report(tmp_path, report_dict(name="fine"), "fine.yaml")
    result = invoke("validate", str(tmp_path), "--connections", str(tmp_path / "none.yaml"))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert re.match(
        r".*bad\.yaml:\d+: schedule\.timezone: unknown time zone 'Mars/Base'; use an IANA", lines[0]
    )
    assert "Traceback" not in result.output


def test_validate_yaml_syntax_error_is_one_line_not_a_traceback(tmp_path):
    (tmp_path / "broken.yaml").write_text("name: [\n")
    result = invoke("validate", str(tmp_path / "broken.yaml"))
    assert result.exit_code == 1
    assert "broken.yaml:2: (file): YAML syntax error" in result.output
    assert "Traceback" not in result.output


def test_validate_missing_path(tmp_path):
    result = invoke("validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code != 0
    assert "no such file or folder" in result.output


def test_list_shows_cadence_cron_and_zone():
    result = invoke("list")
    assert result.exit_code == 0
    assert re.search(
        r"weekly_revenue_by_region\s+week\s+0 8 \* \* 1\s+America/New_York\s+xlsx", result.output
    )


def test_preview_shows_local_and_utc_times_and_periods(tmp_path):
    write_report(
        tmp_path / "reports",
        report_dict(
            schedule={
                "every": "day",
                "at": "09:00",
                "timezone": "America/New_York",
                "start": "2026-01-01",
            }
        ),
    )
    env = {
        "REPORTS_DIR": str(tmp_path / "reports"),
        "REPORTS_CONNECTIONS": str(tmp_path / "none.yaml"),
    }
    result = invoke(
        "preview", "test_report", "--count", "2", "--after", "2026-11-02T12:00", env=env
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1] == (
        "run 2026-11-03 09:00 EST (2026-11-03 14:00 UTC)  covers 2026-11-02: 2026-11-02 00:00 – "
        "2026-11-03 00:00 America/New_York (2026-11-02 05:00 – 2026-11-03 05:00 UTC)"
    )
    assert len(lines) == 3


def test_preview_unknown_report(tmp_path):
    result = invoke("preview", "nope")
    assert result.exit_code != 0
    assert "no valid report named 'nope'" in result.output


def test_run_no_deliver_renders_the_period_and_prints_the_path(tmp_path):
    url = create_sqlite_warehouse(tmp_path / "wh.sqlite")
    write_connections(
        tmp_path,
        {
            "connections": {"warehouse": {"kind": "sql", "url": url}},
            "storage": {"path": str(tmp_path / "files")},
        },
    )
    write_report(
        tmp_path / "reports",
        report_dict(
            source={
                "connection": "warehouse",
                "sql": "select id from invoices where issued_at >= "
                ":period_start and issued_at < :period_end",
            },
            schedule={"every": "day", "timezone": "America/New_York", "start": "2026-01-01"},
        ),
    )
    env = {
        "REPORTS_DIR": str(tmp_path / "reports"),
        "REPORTS_CONNECTIONS": str(tmp_path / "connections.yaml"),
        "DAGSTER_HOME": "",
    }
    result = invoke("run", "test_report", "--period", "2026-11-02", "--no-deliver", env=env)
    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "files" / "test_report" / "2026-11-02").glob("*/test_report_*.csv")
    assert f"3 rows → {path}" in result.output
    assert list(csv.reader(path.open())) == [["id"], ["1"], ["2"], ["3"]]
    assert "not delivered" in result.output


def test_run_rejects_a_period_that_does_not_exist(tmp_path):
    write_report(
        tmp_path / "reports",
        report_dict(schedule={"every": "day", "timezone": "UTC", "start": "2026-01-01"}),
    )
    env = {
        "REPORTS_DIR": str(tmp_path / "reports"),
        "REPORTS_CONNECTIONS": str(tmp_path / "none.yaml"),
    }
    bad_shape = invoke("run", "test_report", "--period", "last tuesday", env=env)
    assert bad_shape.exit_code != 0 and "periods look like 'YYYY-MM-DD'" in bad_shape.output
    too_early = invoke("run", "test_report", "--period", "2025-06-01", env=env)
    assert too_early.exit_code != 0 and "is not available" in too_early.output


def write_copies(folder):
    """Two reports with the same query, schedule and recipients: valid, with one warning."""
    write_report(folder, report_dict(name="first"), "a.yaml")
    write_report(folder, report_dict(name="second"), "b.yaml")


def test_validate_prints_warnings_and_still_passes(tmp_path):
    write_copies(tmp_path)
    result = invoke("validate", str(tmp_path), "--connections", str(tmp_path / "none.yaml"))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert re.match(
        r".*b\.yaml:1: warning: name: same query, schedule and recipients as .*a\.yaml: one of "
        r"them is probably a copy$",
        lines[0],
    )
    assert lines[-1] == "ok: 2 reports valid, 1 warning"


def test_validate_strict_fails_on_warnings(tmp_path):
    write_copies(tmp_path)
    result = invoke(
        "validate", str(tmp_path), "--connections", str(tmp_path / "none.yaml"), "--strict"
    )
    assert result.exit_code == 1
    assert "b.yaml:1: warning: name: same query" in result.output
    assert "1 warning; --strict fails on warnings (2 reports valid)" in result.output


def test_validate_strict_passes_without_warnings():
    result = invoke("validate", "--strict")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: 5 reports valid")


def test_validate_crowded_slot_warning_names_file_and_schedule_line(tmp_path):
    for n in range(3):
        report = report_dict(name=f"r{n}", source={"sql": f"select {n}"})
        write_report(tmp_path / "reports", report, f"r{n}.yaml")
    connections = write_connections(tmp_path, {"policy": {"max_reports_per_slot": 2}})
    result = invoke("validate", str(tmp_path / "reports"), "--connections", str(connections))
    assert result.exit_code == 0, result.output
    assert re.search(
        r"r2\.yaml:5: warning: schedule: 3 reports on connection 'demo_warehouse' are due at "
        r"14:00 UTC every day \(r0, r1, r2\); policy\.max_reports_per_slot is 2",
        result.output,
    )


def test_validate_policy_error_fails_with_file_line_and_field(tmp_path):
    report = report_dict(schedule={"every": "cron", "cron": "*/5 * * * *", "timezone": "UTC"})
    write_report(tmp_path / "reports", report, "live.yaml")
    connections = write_connections(tmp_path, {"policy": {"min_interval": "15m"}})
    result = invoke("validate", str(tmp_path / "reports"), "--connections", str(connections))
    assert result.exit_code == 1
    assert re.search(
        r"live\.yaml:5: schedule: runs every 5 minutes; policy\.min_interval is 15m: use a cron "
        r"that runs at most once every 15 minutes, or ask for the policy to change",
        result.output,
    )


def test_validate_owner_over_the_limit_fails(tmp_path):
    for name in ("a", "b"):
        report = report_dict(name=f"report_{name}", source={"sql": f"select '{name}'"})
        write_report(tmp_path / "reports", report, f"{name}.yaml")
    connections = write_connections(tmp_path, {"policy": {"max_reports_per_owner": 1}})
    result = invoke("validate", str(tmp_path / "reports"), "--connections", str(connections))
    assert result.exit_code == 1
    assert re.search(
        r"b\.yaml:2: owner: owner@example\.com owns 2 reports; policy\.max_reports_per_owner is 1",
        result.output,
    )
    assert "1 errors in 1 files; 1 reports valid" in result.output


def test_test_connection_logs_in_without_sending(tmp_path, monkeypatch):
    from reports_pipeline_tests.smtp_server import SmtpTestServer

    with SmtpTestServer(starttls=True, auth=("reports", "right-password")) as server:
        connections = write_connections(
            tmp_path,
            {
                "connections": {
                    "mail": {
                        "kind": "smtp",
                        "host": server.host,
                        "port": server.port,
                        "starttls": True,
                        "username": "reports",
                        "password": {"env": "CLI_SMTP_PASSWORD"},
                        "from": "reports@example.com",
                        "ca_file": server.ca_file,
                    }
                }
            },
        )
        monkeypatch.setenv("CLI_SMTP_PASSWORD", "right-password")
        good = invoke("test-connection", "mail", "--connections", str(connections))
        monkeypatch.setenv("CLI_SMTP_PASSWORD", "wrong-password")
        bad = invoke("test-connection", "mail", "--connections", str(connections))
        assert server.messages == []
    assert good.exit_code == 0, good.output
    assert "mail: ok: smtp 127.0.0.1:" in good.output
    assert bad.exit_code == 1
    assert "SMTP login refused for user reports" in bad.output
    assert "wrong-password" not in bad.output


def test_history_lists_each_target_outcome(tmp_path, smtp_server):
    from dagster import DagsterInstance

    connections = write_test_connections(tmp_path, {"mail": smtp_connection(smtp_server)})
    write_report(
        tmp_path / "reports",
        report_dict(
            source={"connection": "warehouse", "sql": "select 1 as one"},
            schedule={"every": "day", "timezone": "UTC", "start": "2026-01-01"},
        ),
    )
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        "REPORTS_DIR": str(tmp_path / "reports"),
        "REPORTS_CONNECTIONS": str(connections),
        "DAGSTER_HOME": str(home),
    }
    assert invoke("run", "test_report", "--period", "2026-11-02", env=env).exit_code == 0
    result = invoke("history", "test_report", env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d SUCCESS\s+2026-11-02\s+\w{8}$", lines[0])
    assert re.match(r"\s+deliver_1_email\s+delivered\s+attempts 1", lines[1])
    with DagsterInstance.from_config(str(home)) as instance:
        assert len(instance.get_runs()) == 1


def mail_project(tmp_path, smtp_server, sql=None):
    """A daily report e-mailed through ``smtp_server``, only when its period has rows."""
    connections = write_test_connections(tmp_path, {"mail": smtp_connection(smtp_server)})
    write_report(
        tmp_path / "reports",
        report_dict(
            source={
                "connection": "warehouse",
                "sql": sql
                or "select id from invoices where issued_at >= :period_start and issued_at < "
                ":period_end",
            },
            schedule={"every": "day", "timezone": "America/New_York", "start": "2026-01-01"},
            send_if="rows",
        ),
    )
    return {"REPORTS_DIR": str(tmp_path / "reports"), "REPORTS_CONNECTIONS": str(connections)}


def test_run_prints_each_target_outcome_quietly_and_force_sends_again(
    tmp_path, smtp_server, sqlite_instance
):
    from reports_pipeline.jobs.ledger import FORCE_TAG

    env = {**mail_project(tmp_path, smtp_server), "DAGSTER_HOME": sqlite_instance.root_directory}
    first = invoke("run", "test_report", "--period", "2026-11-02", env=env)
    assert first.exit_code == 0, first.output
    assert first.output.splitlines()[-1] == "deliver_1_email: delivered"
    assert "DEBUG" not in first.output and "STEP_START" not in first.output
    (first_run,) = sqlite_instance.get_runs()

    again = invoke("run", "test_report", "--period", "2026-11-02", env=env)
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[-1] == (
        f"deliver_1_email: already delivered by run {first_run.run_id[:8]}, not sent again"
    )
    assert len(smtp_server.messages) == 1

    forced = invoke("run", "test_report", "--period", "2026-11-02", "--force", env=env)
    assert forced.exit_code == 0, forced.output
    assert "not sent again" not in forced.output
    assert len(smtp_server.wait_for_messages(2)) == 2
    assert sqlite_instance.get_runs(limit=1)[0].tags[FORCE_TAG] == "true"

    empty = invoke("run", "test_report", "--period", "2026-10-01", env=env)
    assert empty.exit_code == 0, empty.output
    assert empty.output.splitlines()[-1] == "deliver_1_email: skipped: no rows (send_if: rows)"


def test_run_verbose_shows_dagster_log_lines(tmp_path, smtp_server):
    env = {**mail_project(tmp_path, smtp_server), "DAGSTER_HOME": ""}
    result = invoke(
        "run", "test_report", "--period", "2026-11-02", "--no-deliver", "--verbose", env=env
    )
    assert result.exit_code == 0, result.output
    assert "STEP_START" in result.output


def test_run_failure_reads_as_sentences_naming_the_step(tmp_path, smtp_server):
    env = {
        **mail_project(tmp_path, smtp_server, sql="select * from no_such_table"),
        "DAGSTER_HOME": "",
    }
    result = invoke("run", "test_report", "--period", "2026-11-02", env=env)
    assert result.exit_code == 1
    assert re.search(
        r"^fetch_and_render: test_report\b.*no such table: no_such_table", result.output, re.M
    )
    assert re.search(r"^Error: run [\w-]+ failed$", result.output, re.M)
    assert "dagster._core" not in result.output and "Failure:" not in result.output
    assert "Traceback" not in result.output


def test_unexpected_errors_are_one_sentence_without_a_class_name(tmp_path, monkeypatch, capsys):
    import pytest

    from reports_pipeline.cli import main

    (tmp_path / "dagster.yaml").write_text("run_coordinator: [not, a, mapping]\n")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setattr("sys.argv", ["reports", "history", "test_report"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and len(error.splitlines()) == 1
    assert not re.match(r"error: (?:\w+\.)*\w+(Error|Exception):", error), error


def _schedule_origin(schedule: str):
    from dagster._core.remote_origin import (
        RegisteredCodeLocationOrigin,
        RemoteInstigatorOrigin,
        RemoteRepositoryOrigin,
    )

    repository = RemoteRepositoryOrigin(
        RegisteredCodeLocationOrigin("reports_pipeline.definitions"), "__repository__"
    )
    return RemoteInstigatorOrigin(repository, schedule)


def set_schedule_state(instance, schedule, running: bool, since: datetime | None = None):
    """Stop or start a schedule in the instance, as `dagster schedule stop/start` records it
    (started at ``since``, if given)."""
    from dagster._core.scheduler.instigation import (
        InstigatorState,
        InstigatorStatus,
        InstigatorType,
        ScheduleInstigatorData,
    )

    status = InstigatorStatus.RUNNING if running else InstigatorStatus.STOPPED
    origin = _schedule_origin(schedule)
    existing = instance.get_instigator_state(origin.get_id(), origin.get_selector().get_id())
    if existing:
        instance.update_instigator_state(existing.with_status(status))
    else:
        start = since.timestamp() if since else None
        instance.add_instigator_state(
            InstigatorState(
                origin, InstigatorType.SCHEDULE, status, ScheduleInstigatorData("0 14 * * *", start)
            )
        )


def schedules_running_since(instance, defs, since: datetime) -> None:
    """Every schedule of ``defs`` the instance has not seen yet, recorded as the daemon records
    a schedule running by default when it first sees it (at ``since``)."""
    for schedule in defs.get_repository_def().schedule_defs:
        origin = _schedule_origin(schedule.name)
        if not instance.get_instigator_state(origin.get_id(), origin.get_selector().get_id()):
            set_schedule_state(instance, schedule.name, running=True, since=since)


def test_list_shows_the_live_schedule_state_from_the_instance(tmp_path, sqlite_instance):
    write_report(tmp_path / "reports", report_dict(name="on_in_file"), "a.yaml")
    write_report(
        tmp_path / "reports",
        report_dict(name="off_in_file", enabled=False, source={"sql": "select 2"}),
        "b.yaml",
    )
    env = {
        "REPORTS_DIR": str(tmp_path / "reports"),
        "REPORTS_CONNECTIONS": str(tmp_path / "none.yaml"),
    }

    def statuses(result):
        assert result.exit_code == 0, result.output
        rows = [line.split() for line in result.output.splitlines()[1:] if line.strip()]
        return {row[0]: row[-1] for row in rows if row[0] in ("on_in_file", "off_in_file")}

    from_file = invoke("list", env={**env, "DAGSTER_HOME": ""})
    assert statuses(from_file) == {"on_in_file": "running", "off_in_file": "stopped"}
    assert "STATUS from the file; set DAGSTER_HOME for the live state" in from_file.output

    live_env = {**env, "DAGSTER_HOME": sqlite_instance.root_directory}
    assert statuses(invoke("list", env=live_env)) == {
        "on_in_file": "running",
        "off_in_file": "stopped",
    }
    set_schedule_state(sqlite_instance, "on_in_file_schedule", running=False)
    set_schedule_state(sqlite_instance, "off_in_file_schedule", running=True)
    live = invoke("list", env=live_env)
    assert statuses(live) == {"on_in_file": "stopped", "off_in_file": "running"}
    assert "from the file" not in live.output
    set_schedule_state(sqlite_instance, "on_in_file_schedule", running=True)
    assert statuses(invoke("list", env=live_env))["on_in_file"] == "running"


def ui_partition_statuses(instance, defs, job_name):
    """Each partition's last run status as the job's Partitions tab reads it: runs tagged with
    the job's partition set and the label of the code location workspace.yaml loads."""
    from dagster import DagsterRunStatus, RunsFilter
    from dagster._core.remote_origin import RemoteRepositoryOrigin
    from dagster._core.remote_representation.external_data import RepositorySnap
    from dagster._core.storage.tags import PARTITION_SET_TAG, REPOSITORY_LABEL_TAG
    from dagster._core.workspace.load import location_origins_from_yaml_paths

    from reports_pipeline.locations import PACKAGE_DIR

    repository = defs.get_repository_def()
    (location,) = location_origins_from_yaml_paths([str(PACKAGE_DIR.parent / "workspace.yaml")])
    label = RemoteRepositoryOrigin(location, repository.name).get_label()
    (partition_set,) = [
        snap.name
        for snap in RepositorySnap.from_def(repository).partition_sets
        if snap.job_name == job_name
    ]
    data = instance.run_storage.get_run_partition_data(
        RunsFilter(
            statuses=[s for s in DagsterRunStatus if s != DagsterRunStatus.CANCELED],
            tags={PARTITION_SET_TAG: partition_set, REPOSITORY_LABEL_TAG: label},
        )
    )
    return {d.partition: d.status.value for d in data}, location, repository


def test_runs_from_the_command_line_count_on_the_partitions_tab(
    tmp_path, smtp_server, sqlite_instance
):
    from dagster._core.remote_origin import RemoteJobOrigin, RemoteRepositoryOrigin

    from reports_pipeline.definitions import build_definitions

    env = {**mail_project(tmp_path, smtp_server), "DAGSTER_HOME": sqlite_instance.root_directory}
    result = invoke("run", "test_report", "--period", "2026-11-02", env=env)
    assert result.exit_code == 0, result.output

    # `dagster job launch --tags '{"dagster/partition": ...}'`: the job's tags, the given ones
    # and the origin of the code location it was loaded from.
    defs = build_definitions([tmp_path / "reports"], tmp_path / "connections.yaml")
    job = defs.resolve_job_def("test_report")
    _, location, repository = ui_partition_statuses(sqlite_instance, defs, "test_report")
    sqlite_instance.create_run_for_job(
        job,
        tags={**job.tags, "dagster/partition": "2026-11-03"},
        status="SUCCESS",
        remote_job_origin=RemoteJobOrigin(
            RemoteRepositoryOrigin(location, repository.name), "test_report"
        ),
    )
    statuses, _, _ = ui_partition_statuses(sqlite_instance, defs, "test_report")
    assert statuses == {"2026-11-02": "SUCCESS", "2026-11-03": "SUCCESS"}


HOSTILE_FILES = {
    "complex_key.yaml": "? [a, b]\n: 1\n",
    "merge_key.yaml": "base: &b {every: day}\nschedule:\n  <<: *b\n",
    "deep.yaml": "[" * 20_000 + "]" * 20_000,
    "laughs.yaml": "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"a{i}: &a{i} [{', '.join(['*a' + ('' if i == 1 else str(i - 1))] * 10)}]\n"
        for i in range(1, 9)
    ),
    "huge.yaml": "name: huge\n# " + "x" * 1_100_000 + "\n",
    "control.yaml": "name: a\x00b\n",
    "dup_a.yaml": None,  # valid reports that share one name
    "dup_b.yaml": None,
}


def test_validate_hostile_files_gives_file_line_messages_and_exit_1(tmp_path):
    """Through the installed entry point, as an analyst runs it: no traceback, no exit 2."""
    import subprocess
    import sys

    for file, text in HOSTILE_FILES.items():
        write_report(tmp_path, text or report_dict(name="shared"), file)
    write_report(tmp_path, report_dict(name="fine"), "fine.yaml")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from reports_pipeline.cli import main; main()",
            "validate",
            str(tmp_path),
            "--connections",
            str(tmp_path / "none.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "error:" not in result.stderr
    lines = result.stdout.splitlines()
    for file in HOSTILE_FILES:
        (line,) = [line for line in lines if f"{file}:" in line]
        assert re.search(rf"{file}:\d+: \S+: \S", line), line
    assert (
        f"{len(HOSTILE_FILES)} errors in {len(HOSTILE_FILES)} files; 1 reports valid"
        in result.stderr
    )


def stored_path(output: str):
    """The stored file a `reports run` printed (``N rows → PATH``)."""
    from pathlib import Path

    (line,) = [line for line in output.splitlines() if " rows → " in line]
    return Path(line.split(" rows → ", 1)[1])


def fetch_project(tmp_path, storage: dict | None = None) -> dict:
    """A daily report of invoice ids, stored in ``storage`` (default: ``tmp_path/files``)."""
    url = create_sqlite_warehouse(tmp_path / "wh.sqlite")
    write_connections(
        tmp_path,
        {
            "connections": {"warehouse": {"kind": "sql", "url": url}},
            "storage": storage or {"path": str(tmp_path / "files")},
        },
    )
    write_fetch_report(tmp_path, "id")
    return {
        "REPORTS_DIR": str(tmp_path / "reports"),
        "REPORTS_CONNECTIONS": str(tmp_path / "connections.yaml"),
        "DAGSTER_HOME": "",
    }


def write_fetch_report(tmp_path, columns: str) -> None:
    sql = (
        f"select {columns} from invoices"
        " where issued_at >= :period_start and issued_at < :period_end"
    )
    write_report(
        tmp_path / "reports",
        report_dict(
            source={"connection": "warehouse", "sql": sql},
            schedule={"every": "day", "timezone": "America/New_York", "start": "2026-01-01"},
        ),
    )


def run_twice(tmp_path, env):
    """Run 2026-11-02 twice, the second with another column: two different stored files."""
    first = invoke("run", "test_report", "--period", "2026-11-02", "--no-deliver", env=env)
    assert first.exit_code == 0, first.output
    write_fetch_report(tmp_path, "id, customer")
    second = invoke("run", "test_report", "--period", "2026-11-02", "--no-deliver", env=env)
    assert second.exit_code == 0, second.output
    return stored_path(first.output), stored_path(second.output)


def test_fetch_downloads_the_latest_file_of_a_period_to_its_own_name(tmp_path, monkeypatch):
    env = fetch_project(tmp_path)
    first, second = run_twice(tmp_path, env)
    assert first.read_bytes() != second.read_bytes()  # the earlier file is kept
    monkeypatch.chdir(tmp_path)
    result = invoke("fetch", "test_report", "--period", "2026-11-02", env=env)
    assert result.exit_code == 0, result.output
    fetched = tmp_path / "test_report_2026-11-02.csv"
    assert fetched.read_bytes() == second.read_bytes()
    assert result.output.strip() == f"{second} → test_report_2026-11-02.csv"


def test_fetch_run_downloads_that_run_s_file_to_the_output_path(tmp_path):
    env = fetch_project(tmp_path)
    first, _ = run_twice(tmp_path, env)
    run_id = first.parent.name
    out = tmp_path / "out" / "first.csv"
    result = invoke(
        "fetch", "test_report", "--period", "2026-11-02", "--run", run_id, "-o", str(out), env=env
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == first.read_bytes()
    (tmp_path / "folder").mkdir()
    into_folder = ("-o", str(tmp_path / "folder"))
    assert (
        invoke("fetch", "test_report", "--period", "2026-11-02", *into_folder, env=env).exit_code
        == 0
    )
    assert (tmp_path / "folder" / "test_report_2026-11-02.csv").is_file()


def test_fetch_names_the_stored_periods_when_the_period_has_no_file(tmp_path):
    env = fetch_project(tmp_path)
    nothing = invoke("fetch", "test_report", "--period", "2026-11-02", env=env)
    assert nothing.exit_code != 0
    assert "nothing of test_report is stored yet" in nothing.output
    run_twice(tmp_path, env)
    other = invoke("fetch", "test_report", "--period", "2026-11-05", env=env)
    assert other.exit_code != 0
    assert (
        "no stored file for test_report period 2026-11-05; stored periods: 2026-11-02"
        in other.output
    )
    unknown_run = invoke(
        "fetch", "test_report", "--period", "2026-11-02", "--run", "ffffffff", env=env
    )
    assert "no stored file of run ffffffff for test_report period 2026-11-02" in unknown_run.output


def test_fetch_unknown_report(tmp_path):
    env = fetch_project(tmp_path)
    result = invoke("fetch", "nope", "--period", "2026-11-02", env=env)
    assert result.exit_code != 0
    assert "no valid report named 'nope'" in result.output


def test_fetch_from_s3_storage(tmp_path, monkeypatch):
    from reports_pipeline_tests.s3_server import S3TestServer

    with S3TestServer() as s3:
        bucket = s3.create_bucket()
        storage = s3_storage_section(s3, bucket, tmp_path / "staging")
        env = {**fetch_project(tmp_path, storage), "REPORTS_S3_SECRET": s3.secret_access_key}
        first, second = run_twice(tmp_path, env)
        monkeypatch.chdir(tmp_path)
        latest = invoke("fetch", "test_report", "--period", "2026-11-02", "-o", "l.csv", env=env)
        assert latest.exit_code == 0, latest.output
        key = f"reports/test_report/2026-11-02/{second.parent.name}/test_report_2026-11-02.csv"
        assert latest.output.strip() == f"s3://{bucket}/{key} → l.csv"
        uploaded = s3.client().get_object(Bucket=bucket, Key=key)["Body"].read()
        assert (tmp_path / "l.csv").read_bytes() == uploaded == second.read_bytes()
        run = ("--run", first.parent.name, "-o", "f.csv")
        assert (
            invoke("fetch", "test_report", "--period", "2026-11-02", *run, env=env).exit_code == 0
        )
        assert (tmp_path / "f.csv").read_bytes() == first.read_bytes()
        missing = invoke("fetch", "test_report", "--period", "2026-11-09", env=env)
        assert "stored periods: 2026-11-02" in missing.output
        assert s3.secret_access_key not in missing.output
