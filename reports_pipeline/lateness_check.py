"""Lateness on each report's asset page: the asset check ``report_delivered_on_time``.

Late is decided in one place (``health.py``). The ``report_late_notice`` sensor, which already
computes every report's health each tick, records the check's result when it changes (late for
a new period, or on time again), so a report's **Checks** tab shows it failing while it is late
without an event per report per tick. Executing the check from the UI evaluates it at once.
"""

from collections.abc import Sequence
from datetime import datetime, timezone

from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    DagsterInstance,
    multi_asset_check,
)

from reports_pipeline.assets import report_asset_key
from reports_pipeline.health import ReportHealth
from reports_pipeline.spec.report import ReportSpec

LATE_CHECK_NAME = "report_delivered_on_time"


def late_check_key(report: str) -> AssetCheckKey:
    return AssetCheckKey(report_asset_key(report), LATE_CHECK_NAME)


def _outcome(health: ReportHealth) -> dict:
    """What the check says about a report: passed, and when late, which period and since when."""
    late = health.late
    if late is None:
        return {"passed": True, "metadata": {"late period": "none"}}
    return {
        "passed": False,
        "severity": AssetCheckSeverity.WARN,
        "description": f"{late.period} has no successful run {late.grace} after it was due",
        "metadata": {
            "late period": late.period,
            "due": f"{late.due.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC",
            "grace": str(late.grace),
        },
    }


def _late_period(evaluation: AssetCheckEvaluation) -> str | None:
    entry = evaluation.metadata.get("late period")
    value = getattr(entry, "value", entry)
    return None if value in (None, "none") else value


def _evaluation(record) -> AssetCheckEvaluation | None:
    """The evaluation of a check's latest execution (None if none, or one still under way)."""
    event = record.event if record else None
    data = event.dagster_event.event_specific_data if event and event.dagster_event else None
    return data if isinstance(data, AssetCheckEvaluation) else None


def changed_lateness(
    instance: DagsterInstance, healths: Sequence[ReportHealth]
) -> list[AssetCheckEvaluation]:
    """The check results that differ from each report's last recorded one (one query for all).

    A report never checked is recorded only when it is late: on time is what the UI assumes.
    """
    keys = [late_check_key(health.name) for health in healths]
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    changed = []
    for health, key in zip(healths, keys, strict=True):
        previous = _evaluation(latest.get(key))
        now_late = health.late.period if health.late else None
        if previous is None and now_late is None:
            continue
        if previous is not None and _late_period(previous) == now_late:
            continue
        changed.append(
            AssetCheckEvaluation(
                asset_key=key.asset_key, check_name=LATE_CHECK_NAME, **_outcome(health)
            )
        )
    return changed


def build_lateness_checks(specs: Sequence[ReportSpec]) -> AssetChecksDefinition:
    """One definition declaring the check on every report's asset (one op, not one per report)."""
    by_name = {spec.name: spec for spec in specs}

    @multi_asset_check(
        name="report_lateness",
        specs=[
            AssetCheckSpec(
                LATE_CHECK_NAME,
                asset=report_asset_key(spec.name),
            )
            for spec in specs
        ],
        can_subset=True,
    )
    def report_lateness(context: AssetCheckExecutionContext):
        from reports_pipeline.deployment_health import reports_health

        selected = [by_name[key.asset_key.path[-1]] for key in context.selected_asset_check_keys]
        now = datetime.now(timezone.utc)
        for health in reports_health(context.instance, selected, now):
            yield AssetCheckResult(
                asset_key=report_asset_key(health.name),
                check_name=LATE_CHECK_NAME,
                **_outcome(health),
            )

    return report_lateness
