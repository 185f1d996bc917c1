"""The schedule of a report: each tick runs the period that has just closed (or says why not)."""

from dagster import (
    DefaultScheduleStatus,
    JobDefinition,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from reports_pipeline.scheduling.cadence import schedule_cron
from reports_pipeline.scheduling.cadence_words import cadence_words
from reports_pipeline.scheduling.due import NotDue, due_at
from reports_pipeline.scheduling.run_requests import run_request
from reports_pipeline.spec.report import ReportSpec


def schedule_name(report_name: str) -> str:
    return f"{report_name}_schedule"


def build_report_schedule(spec: ReportSpec, report_job: JobDefinition) -> ScheduleDefinition:
    """``<name>_schedule``: running unless ``enabled: false`` (Dagster's default is stopped)."""
    partitions_def = report_job.partitions_def

    @schedule(
        name=schedule_name(spec.name),
        job=report_job,
        cron_schedule=schedule_cron(spec.schedule),
        execution_timezone=spec.timezone,
        default_status=(
            DefaultScheduleStatus.RUNNING if spec.enabled else DefaultScheduleStatus.STOPPED
        ),
        description=f"{spec.display_title}: {cadence_words(spec.schedule, spec.timezone)}",
    )
    def report_schedule(context: ScheduleEvaluationContext):
        outcome = due_at(spec.schedule, partitions_def, context.scheduled_execution_time)
        if isinstance(outcome, NotDue):
            return SkipReason(outcome.reason)
        return run_request(outcome, partitioned=partitions_def is not None)

    return report_schedule
