"""What happened in a report's recent runs, per delivery target, read from the Dagster instance."""

from dataclasses import dataclass, field
from datetime import datetime, timezone

from dagster import DagsterEventType, DagsterInstance, RunsFilter

from reports_pipeline.scheduling.run_requests import PERIOD_START_TAG


@dataclass
class TargetOutcome:
    step: str
    status: str = "not run"
    attempts: int = 0
    detail: str = ""


@dataclass
class RunOutcome:
    run_id: str
    status: str
    created: datetime
    period: str | None
    targets: list[TargetOutcome] = field(default_factory=list)


_STEP_EVENTS = {
    DagsterEventType.STEP_START,
    DagsterEventType.STEP_OUTPUT,
    DagsterEventType.STEP_FAILURE,
    DagsterEventType.STEP_UP_FOR_RETRY,
}


def period_of_tags(tags) -> str | None:
    """The period a run covers, from its partition or partition range tags."""
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start = tags.get("dagster/asset_partition_range_start")
    if start:
        return f"{start}..{tags.get('dagster/asset_partition_range_end', start)}"
    return tags.get(PERIOD_START_TAG)


def _targets(instance: DagsterInstance, run_id: str) -> list[TargetOutcome]:
    outcomes: dict[str, TargetOutcome] = {}
    for record in instance.all_logs(run_id, of_type=_STEP_EVENTS):
        event = record.dagster_event
        step = event.step_key or ""
        if not step.startswith("deliver_"):
            continue
        outcome = outcomes.setdefault(step, TargetOutcome(step=step))
        if event.event_type == DagsterEventType.STEP_START:
            outcome.attempts += 1
            outcome.status = "running"
        elif event.event_type == DagsterEventType.STEP_OUTPUT:
            metadata = event.step_output_data.metadata
            outcome.status = str(metadata.get("status").value) if "status" in metadata else "done"
            answer = metadata.get("answer")
            outcome.detail = str(answer.value)[:120] if answer else ""
        elif event.event_type == DagsterEventType.STEP_UP_FOR_RETRY:
            outcome.status = "retrying"
        else:
            outcome.status = "failed"
            error = event.step_failure_data.error
            outcome.detail = (error.message.strip().splitlines() or [""])[0][:160] if error else ""
    return sorted(outcomes.values(), key=lambda o: o.step)


def report_history(instance: DagsterInstance, report: str, count: int) -> list[RunOutcome]:
    """The last ``count`` runs of ``report``, newest first, each with its targets' outcomes."""
    return [
        RunOutcome(
            run_id=run.run_id,
            status=run.status.value,
            created=datetime.fromtimestamp(record.create_timestamp.timestamp(), timezone.utc),
            period=period_of_tags(run.tags),
            targets=_targets(instance, run.run_id),
        )
        for record in instance.get_run_records(RunsFilter(job_name=report), limit=count)
        for run in [record.dagster_run]
    ]
