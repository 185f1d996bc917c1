"""Tell a report's owner when its run fails (e-mail, and Slack where configured).

Runs that Dagster will retry (tag ``dagster/will_retry=true``) stay quiet: the owner hears about
the final failure only. A report's ``notify.on`` without ``failure`` turns the notice off, and
``notify.to`` names more people to tell. Dagster's run-failure sensor keeps a cursor, so each
failure is told once.

The sensor watches every run in the instance and picks the reports' runs by job name and report
tag. Watching only ``monitored_jobs`` would miss runs started with ``reports run``: those execute
in process, carry no code location, and Dagster matches monitored jobs by code location first.
"""

from collections.abc import Sequence

from dagster import (
    DefaultSensorStatus,
    JobDefinition,
    RunFailureSensorContext,
    SensorDefinition,
    run_failure_sensor,
)
from dagster._core.storage.tags import WILL_RETRY_TAG

from reports_pipeline.delivery.failure_notice import failure_notice
from reports_pipeline.jobs.run_limits import stopped_for_time
from reports_pipeline.run_history import failure_lines, period_of_tags
from reports_pipeline.sensors.owner_notice import OwnerNotices, report_of_run
from reports_pipeline.spec.connections import ConnectionsFile
from reports_pipeline.spec.report import ReportSpec

FAILURE_SENSOR_NAME = "report_failure_notice"


def _step_errors(context: RunFailureSensorContext) -> list[str]:
    """Each failed step's root cause and attempts, else why the run itself failed."""
    errors = failure_lines(context.instance, context.dagster_run.run_id)
    overran = stopped_for_time(context.instance, context.dagster_run)
    if overran:  # the interrupted step's own error would not say why it was interrupted
        return [overran, *errors]
    return errors or [context.failure_event.message or "the run failed"]


def build_failure_notice_sensor(
    reports: Sequence[tuple[ReportSpec, JobDefinition]], connections: ConnectionsFile
) -> SensorDefinition:
    specs = {spec.name: spec for spec, _ in reports}
    notices = OwnerNotices(connections)

    @run_failure_sensor(
        name=FAILURE_SENSOR_NAME,
        monitor_all_code_locations=True,
        default_status=DefaultSensorStatus.RUNNING,
        description="E-mails a report's owner (and posts to Slack if configured) when a run "
        "fails for good.",
    )
    def report_failure_notice(context: RunFailureSensorContext):
        run = context.dagster_run
        if run.tags.get(WILL_RETRY_TAG) == "true":
            context.log.info(f"run {run.run_id} will be retried: no notice yet")
            return
        spec = report_of_run(specs, run)
        if spec is None:
            return  # not a run of one of these reports (another code location's job)
        if "failure" not in spec.notify.on:
            context.log.info(f"{spec.name} asks for no failure notice (notify.on)")
            return
        # The errors were scrubbed when the run stored them; scrubbed again with the secrets
        # known here, for runs stored before that and for whatever a step failed to catch.
        redactor = notices.redactor()
        subject, text = failure_notice(
            report=spec.name,
            title=spec.display_title,
            period=period_of_tags(run.tags),
            run_id=run.run_id,
            errors=[redactor.text(error) for error in _step_errors(context)],
            run_url=f"{notices.ui_base_url}/runs/{run.run_id}",
        )
        notices.tell(spec, subject, text, "failure notice", context.log, f"run {run.run_id} failed")

    return report_failure_notice
