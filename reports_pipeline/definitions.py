"""The wiring: report files and connections.yaml in, Dagster definitions out."""

from pathlib import Path

from dagster import Definitions

from reports_pipeline import locations
from reports_pipeline.jobs.report_job import build_report_job
from reports_pipeline.resources.connections import build_resources
from reports_pipeline.scheduling.cadence import partitions_definition
from reports_pipeline.scheduling.report_schedule import build_report_schedule
from reports_pipeline.sensors.catch_up import build_catch_up_sensor
from reports_pipeline.sensors.failure_notice import build_failure_notice_sensor
from reports_pipeline.sensors.invalid_report_file import build_invalid_report_file_sensor
from reports_pipeline.spec.loader import load_project
from reports_pipeline.spec.yaml_source import SpecError


def build_definitions(
    reports: list[Path] | None = None, connections_file: Path | None = None
) -> Definitions:
    """Definitions for every valid report; each invalid file becomes a sensor showing its errors."""
    project = load_project(
        reports or [locations.reports_dir()], connections_file or locations.connections_path()
    )
    jobs, schedules, reports = [], [], []
    broken = project.errors_by_file()
    for report in project.reports:
        try:
            partitions_def = partitions_definition(report.spec.schedule)
            report_job = build_report_job(report, project.connections, partitions_def)
            schedules.append(build_report_schedule(report.spec, report_job))
        except Exception as exc:  # one unexpected failure must not hide every other report
            broken.setdefault(report.shown_as, []).append(
                SpecError(report.shown_as, 1, "", f"cannot build the Dagster job: {exc}")
            )
            continue
        jobs.append(report_job)
        reports.append((report.spec, report_job))
    sensors = [build_invalid_report_file_sensor(f, errors) for f, errors in broken.items()]
    if any(job.partitions_def is not None for job in jobs):
        policy = project.connections.policy
        sensors.append(build_catch_up_sensor(reports, policy.max_catchup_periods))
    if jobs:
        sensors.append(build_failure_notice_sensor(reports, project.connections))
    return Definitions(
        jobs=jobs,
        schedules=schedules,
        sensors=sensors,
        resources=build_resources(project.connections),
    )


defs = build_definitions()
