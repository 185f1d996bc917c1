"""Tell a report's owner when its latest due period is late, once per period.

Late means: the latest tick that runs something has passed by more than the grace (twice the
typical run time, at least 15 minutes) without a successful run of its period (``health.py``).
Each evaluation's skip message lists the reports that are late, so the sensor's tick history
under **Automation → Sensors** shows them in the UI. The instance's key-value store keeps the
last period told per report, written as soon as the notice went out: a period is told once
however many evaluations see it late (even when another owner's notice fails the tick, or the
sensor is reset), and a new late period is told again. A report's ``notify.on`` without
``late`` is still listed on the tick but tells nobody; ``notify.to`` names more people to tell.
"""

from collections.abc import Sequence
from datetime import datetime, timezone

from dagster import (
    DefaultSensorStatus,
    JobDefinition,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from reports_pipeline.delivery.late_notice import late_notice
from reports_pipeline.deployment_health import reports_lateness
from reports_pipeline.health import ReportHealth
from reports_pipeline.lateness_check import changed_lateness
from reports_pipeline.sensors.owner_notice import OwnerNotices
from reports_pipeline.spec.connections import ConnectionsFile
from reports_pipeline.spec.report import ReportSpec

LATE_SENSOR_NAME = "report_late_notice"
_INTERVAL_SECONDS = 300


def told_key(report: str) -> str:
    """The key-value store's key of the last late period told for ``report``."""
    return f"reports/late_notice/{report}"


def late_summary(late: list[ReportHealth]) -> str:
    """``late: daily_invoices 2026-11-02 (due 2026-11-03 12:00 UTC)``, or that none is."""
    if not late:
        return "no late reports"
    return "late: " + "; ".join(
        f"{r.name} {r.late.period} (due {r.late.due.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC)"
        for r in late
    )


def build_late_notice_sensor(
    reports: Sequence[tuple[ReportSpec, JobDefinition]], connections: ConnectionsFile
) -> SensorDefinition:
    specs = {spec.name: spec for spec, _ in reports}
    notices = OwnerNotices(connections)

    @sensor(
        name=LATE_SENSOR_NAME,
        minimum_interval_seconds=_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description="E-mails a report's owner once when its latest due period has no "
        "successful run within the grace; each tick lists the late reports.",
    )
    def report_late_notice(context: SensorEvaluationContext):
        now = datetime.now(timezone.utc)
        healths = reports_lateness(context.instance, list(specs.values()), now)
        late = [r for r in healths if r.late]
        told = context.instance.run_storage.get_cursor_values({told_key(r.name) for r in late})
        for report in late:
            spec = specs[report.name]
            if "late" not in spec.notify.on:
                continue  # shown on the tick, told to nobody
            if told.get(told_key(report.name)) == report.late.period:
                continue
            subject, text = late_notice(
                report=spec.name,
                title=spec.display_title,
                period=report.late.period,
                due=report.late.due,
                grace=report.late.grace,
                last_result=report.last_result,
                last_result_at=report.last_result_at,
                runs_url=f"{notices.ui_base_url}/runs?q%5B%5D=job%3A{spec.name}",
            )
            notices.tell(
                spec,
                subject,
                text,
                "late notice",
                context.log,
                f"{spec.name} {report.late.period} is late",
            )
            context.instance.run_storage.set_cursor_values(
                {told_key(report.name): report.late.period}
            )
        # Lateness also shows on each report's asset page (reports_pipeline.lateness_check).
        return SensorResult(
            skip_reason=late_summary(late), asset_events=changed_lateness(context.instance, healths)
        )

    return report_late_notice
