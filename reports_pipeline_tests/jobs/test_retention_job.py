"""The reports_retention job, executed in-process against real files and a real SQLite
instance; its daily schedule; and that it exists only when retention is configured."""

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

from dagster import build_schedule_context

from reports_pipeline.definitions import build_definitions, lazy_repository
from reports_pipeline.jobs.retention_job import RETENTION_JOB_NAME, RETENTION_SCHEDULE_NAME
from reports_pipeline.resources.storage import LocalReportStorage
from reports_pipeline_tests.report_files import report_dict, write_report, write_test_connections
from reports_pipeline_tests.test_run_retention import aged_run

NOW = datetime.now(timezone.utc)
RUNS = [f"{letter * 8}-0000-4000-8000-00000000000{i}" for i, letter in enumerate("abc")]


def project(tmp_path, storage_days=30, run_days=30, **report):
    storage = {"path": str(tmp_path / "files")}
    if storage_days:
        storage["retention_days"] = storage_days
    policy = {"run_retention_days": run_days} if run_days else {}
    connections = write_test_connections(tmp_path, storage=storage, policy=policy)
    reports = tmp_path / "reports"
    write_report(reports, report_dict(name="sales", **report))
    return reports, connections


def stored(tmp_path, run_id: str, period: str, age_days: int) -> Path:
    storage = LocalReportStorage(path=str(tmp_path / "files"))
    staged = storage.staging_path("sales", period, "csv", run_id)
    staged.write_bytes(b"a,b\n1,2\n")
    path = Path(storage.store(staged, "sales", period, "csv", rows=1, run_id=run_id).path)
    stamp = (NOW - timedelta(days=age_days)).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def metadata_of(result) -> dict:
    (output,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    return {key: value.value for key, value in output.event_specific_data.metadata.items()}


def test_the_job_deletes_old_files_and_runs_and_records_them(tmp_path, sqlite_instance):
    reports, connections = project(tmp_path)
    old = stored(tmp_path, RUNS[0], "2026-09-01", 90)
    new = stored(tmp_path, RUNS[1], "2026-11-30", 1)
    gone_run = aged_run(sqlite_instance, "sales", NOW - timedelta(days=60))
    kept_run = aged_run(sqlite_instance, "sales", NOW - timedelta(days=40))  # its latest
    job = build_definitions([reports], connections).resolve_job_def(RETENTION_JOB_NAME)

    dry = job.execute_in_process(
        instance=sqlite_instance,
        run_config={"ops": {"apply_retention": {"config": {"dry_run": True}}}},
    )
    assert old.exists() and sqlite_instance.get_run_by_id(gone_run) is not None
    assert metadata_of(dry)["dry_run"] is True
    assert metadata_of(dry)["files_deleted"] == 1

    result = job.execute_in_process(instance=sqlite_instance)
    assert result.success
    assert not old.exists() and new.exists()
    assert sqlite_instance.get_run_by_id(gone_run) is None
    assert sqlite_instance.get_run_by_id(kept_run) is not None
    metadata = metadata_of(result)
    assert (metadata["files_deleted"], metadata["bytes_deleted"]) == (1, 8)
    assert metadata["runs_deleted"] == 1
    assert "sales/2026-09-01/aaaaaaaa/sales_2026-09-01.csv" in metadata["files"]
    assert gone_run in metadata["runs"]
    # The dry run is itself a run of the job now; the latest one is kept by the next pass.
    assert sqlite_instance.get_run_by_id(dry.run_id) is not None


def test_a_reports_own_retention_days_is_used(tmp_path, sqlite_instance):
    reports, connections = project(tmp_path, storage_days=None, run_days=None, retention_days=7)
    old = stored(tmp_path, RUNS[0], "2026-11-01", 10)
    stored(tmp_path, RUNS[1], "2026-11-30", 1)
    job = build_definitions([reports], connections).resolve_job_def(RETENTION_JOB_NAME)
    metadata = metadata_of(job.execute_in_process(instance=sqlite_instance))
    assert not old.exists()
    assert metadata["runs_deleted"] == 0
    assert "policy.run_retention_days" in metadata["notes"]


def test_without_retention_there_is_no_job_and_no_schedule(tmp_path):
    reports, connections = project(tmp_path, storage_days=None, run_days=None)
    repository = build_definitions([reports], connections).get_repository_def()
    assert RETENTION_JOB_NAME not in repository.job_names
    assert not repository.has_schedule_def(RETENTION_SCHEDULE_NAME)


def test_the_schedule_ticks_daily_at_half_past_three_in_the_policy_zone(tmp_path, sqlite_instance):
    reports, connections = project(tmp_path)
    defs = build_definitions([reports], connections)
    schedule = defs.resolve_schedule_def(RETENTION_SCHEDULE_NAME)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 3 * * *", "UTC")
    assert schedule.job_name == RETENTION_JOB_NAME
    tick = datetime(2026, 12, 1, 3, 30, tzinfo=timezone.utc)
    context = build_schedule_context(instance=sqlite_instance, scheduled_execution_time=tick)
    (request,) = schedule.evaluate_tick(context).run_requests
    assert request.run_key == "2026-12-01T03:30:00+00:00"


def test_a_run_of_the_retention_job_finds_it_in_the_full_load(tmp_path):
    reports, connections = project(tmp_path)
    repository = lazy_repository([reports], connections)
    assert repository.get_job(RETENTION_JOB_NAME).name == RETENTION_JOB_NAME
    assert repository._repository_data.full_load_done  # no report file declares it


def test_a_folder_without_a_valid_report_file_is_kept_and_named(tmp_path, sqlite_instance):
    reports, connections = project(tmp_path)
    storage = LocalReportStorage(path=str(tmp_path / "files"))
    for period in ("2025-01-01", "2025-02-01"):
        staged = storage.staging_path("retired", period, "csv", RUNS[0])
        staged.write_bytes(b"x\n")
        path = Path(storage.store(staged, "retired", period, "csv", rows=1, run_id=RUNS[0]).path)
        stamp = (NOW - timedelta(days=400)).timestamp()
        os.utime(path, (stamp, stamp))
    job = build_definitions([reports], connections).resolve_job_def(RETENTION_JOB_NAME)
    metadata = metadata_of(job.execute_in_process(instance=sqlite_instance))
    assert metadata["files_deleted"] == 0
    assert "folders without a valid report file are kept" in metadata["notes"]
    assert "retired" in metadata["notes"]
    assert storage.periods("retired") == ["2025-01-01", "2025-02-01"]
