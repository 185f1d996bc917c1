"""The schedule of a report: each tick runs the period that has just closed."""

from dagster import (
    DefaultScheduleStatus,
    JobDefinition,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from reports_pipeline.scheduling.cadence import period_closed_at, schedule_cron, tick_runs
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
        description=f"{spec.display_title}: every {spec.schedule.every}, {spec.timezone}",
    )
    def report_schedule(context: ScheduleEvaluationContext):
        tick = context.scheduled_execution_time
        if not tick_runs(spec.schedule, tick):
            return SkipReason(
                f"{tick:%Y-%m-%d} is not day {spec.schedule.on} of its month;"
                " the run is on that day"
            )
        period = period_closed_at(partitions_def, tick)
        if period is None:
            return SkipReason(
                f"no period has closed yet at {tick.isoformat()} (the first period starts "
                f"{partitions_def.start.date().isoformat()})"
            )
        # The period key as run key: a tick evaluated twice never runs a period twice.
        return RunRequest(
            run_key=period.key,
            partition_key=period.key,
            tags={
                "reports/period_start": period.start.isoformat(),
                "reports/period_end": period.end.isoformat(),
            },
        )

    return report_schedule
