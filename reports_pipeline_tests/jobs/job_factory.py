"""Report jobs rebuilt by name in any process: what Dagster needs to re-execute a run."""

from pathlib import Path

from dagster import build_reconstructable_job

from reports_pipeline.definitions import build_definitions


def report_job(reports_dir: str, connections_file: str, name: str):
    return build_definitions([Path(reports_dir)], Path(connections_file)).resolve_job_def(name)


def reconstructable_report_job(reports_dir: Path, connections_file: Path, name: str):
    return build_reconstructable_job(
        "reports_pipeline_tests.jobs.job_factory",
        "report_job",
        reconstructable_args=(str(reports_dir), str(connections_file), name),
    )
