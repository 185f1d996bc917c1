"""Tell a report's owner (and its ``notify.to``) when a run of it succeeds, for reports whose
``notify.on`` lists ``success``.

Dagster's run-status sensor keeps a cursor over run events, so each successful run is told
once, on the daemon's next tick; a run that fails (a retry included) is the failure notice's
business. Like the failure notice it watches every run in the instance, however started.
"""

from collections.abc import Sequence

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    JobDefinition,
    RunStatusSensorContext,
    SensorDefinition,
    run_status_sensor,
)

from reports_pipeline.delivery.success_notice import success_notice
from reports_pipeline.run_history import period_of_tags, step_outcomes
from reports_pipeline.sensors.owner_notice import OwnerNotices, report_of_run
from reports_pipeline.spec.connections import ConnectionsFile
from reports_pipeline.spec.report import ReportSpec

SUCCESS_SENSOR_NAME = "report_success_notice"


def wants_success_notice(spec: ReportSpec) -> bool:
    return "success" in spec.notify.on


def build_success_notice_sensor(
    reports: Sequence[tuple[ReportSpec, JobDefinition]], connections: ConnectionsFile
) -> SensorDefinition:
    specs = {spec.name: spec for spec, _ in reports if wants_success_notice(spec)}
    notices = OwnerNotices(connections)

    @run_status_sensor(
        run_status=DagsterRunStatus.SUCCESS,
        name=SUCCESS_SENSOR_NAME,
        monitor_all_code_locations=True,
        default_status=DefaultSensorStatus.RUNNING,
        description="E-mails a report's owner when a run succeeds, for reports whose "
        "notify.on lists success.",
    )
    def report_success_notice(context: RunStatusSensorContext):
        run = context.dagster_run
        spec = report_of_run(specs, run)
        if spec is None:
            return  # another job, or a report that asks for no success notice
        outcomes = step_outcomes(context.instance, run.run_id)
        stored = next((o.metadata for o in outcomes if o.step == "persist"), {})
        redactor = notices.redactor()
        subject, text = success_notice(
            report=spec.name,
            title=spec.display_title,
            period=period_of_tags(run.tags),
            rows=stored.get("rows"),
            size_bytes=stored.get("bytes"),
            targets=[
                redactor.text(f"{o.step}: {o.summary()}")
                for o in outcomes
                if o.step.startswith("deliver_")
            ],
            run_url=f"{notices.ui_base_url}/runs/{run.run_id}",
        )
        # Good news goes by e-mail only: the Slack channel is for what needs someone.
        notices.tell(
            spec,
            subject,
            text,
            "success notice",
            context.log,
            f"run {run.run_id} succeeded",
            slack=False,
        )

    return report_success_notice
