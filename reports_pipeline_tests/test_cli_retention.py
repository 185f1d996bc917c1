"""`reports retention`: what would go with --dry-run (nothing deleted), and what went."""

from datetime import timedelta

from click.testing import CliRunner

from reports_pipeline.cli import cli
from reports_pipeline_tests.jobs.test_retention_job import NOW, RUNS, project, stored
from reports_pipeline_tests.test_run_retention import aged_run

OLD_FILE = "sales/2026-09-01/aaaaaaaa/sales_2026-09-01.csv"


def retention(env, *args):
    return CliRunner().invoke(cli, ["retention", *args], env=env, catch_exceptions=False)


def deployment(tmp_path, sqlite_instance, **settings):
    reports, connections = project(tmp_path, **settings)
    env = {
        "REPORTS_DIR": str(reports),
        "REPORTS_CONNECTIONS": str(connections),
        "DAGSTER_HOME": sqlite_instance.root_directory,
    }
    return env


def test_a_dry_run_lists_files_and_runs_and_deletes_nothing(tmp_path, sqlite_instance):
    env = deployment(tmp_path, sqlite_instance)
    old = stored(tmp_path, RUNS[0], "2026-09-01", 90)
    stored(tmp_path, RUNS[1], "2026-11-30", 1)
    old_run = aged_run(sqlite_instance, "sales", NOW - timedelta(days=60))
    aged_run(sqlite_instance, "sales", NOW - timedelta(days=40))
    result = retention(env, "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"would delete {OLD_FILE}  8 bytes" in result.output
    assert f"would delete run {old_run}  sales  SUCCESS" in result.output
    assert "would delete 1 file (8 bytes) and 1 run" in result.output
    assert old.exists() and sqlite_instance.get_run_by_id(old_run) is not None


def test_a_real_run_deletes_and_says_what_went(tmp_path, sqlite_instance):
    env = deployment(tmp_path, sqlite_instance)
    old = stored(tmp_path, RUNS[0], "2026-09-01", 90)
    new = stored(tmp_path, RUNS[1], "2026-11-30", 1)
    old_run = aged_run(sqlite_instance, "sales", NOW - timedelta(days=60))
    aged_run(sqlite_instance, "sales", NOW - timedelta(days=40))
    result = retention(env)
    assert result.exit_code == 0, result.output
    assert f"deleted {OLD_FILE}  8 bytes" in result.output
    assert "deleted 1 file (8 bytes) and 1 run" in result.output
    assert not old.exists() and new.exists()
    assert sqlite_instance.get_run_by_id(old_run) is None
    again = retention(env)
    assert "deleted 0 files (0 bytes) and 0 runs" in again.output


def test_without_an_instance_only_files_are_looked_at(tmp_path, sqlite_instance):
    env = {**deployment(tmp_path, sqlite_instance), "DAGSTER_HOME": ""}
    stored(tmp_path, RUNS[0], "2026-09-01", 90)
    stored(tmp_path, RUNS[1], "2026-11-30", 1)
    result = retention(env, "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"would delete {OLD_FILE}" in result.output
    assert "runs not looked at: no Dagster instance (set DAGSTER_HOME)" in result.output


def test_without_retention_nothing_goes_and_it_says_so(tmp_path, sqlite_instance):
    env = deployment(tmp_path, sqlite_instance, storage_days=None, run_days=None)
    old = stored(tmp_path, RUNS[0], "2026-09-01", 900)
    stored(tmp_path, RUNS[1], "2026-11-30", 1)
    result = retention(env)
    assert result.exit_code == 0, result.output
    assert "deleted 0 files (0 bytes) and 0 runs" in result.output
    assert "files are kept forever" in result.output
    assert "runs are kept forever" in result.output
    assert old.exists()
