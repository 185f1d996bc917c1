"""What happened in a report's runs, per step, read from the Dagster instance's event log.

A step that failed after its retries is recorded by Dagster as "Exceeded max_retries of N" with
the real error as its cause; the outcomes here name that root cause and count every attempt
(Dagster marks each retry with STEP_RESTARTED, not with another STEP_START).
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from dagster import DagsterEventType, DagsterInstance, RunsFilter
from dagster._utils.error import SerializableErrorInfo

from reports_pipeline.redaction import redact
from reports_pipeline.scheduling.run_requests import PERIOD_START_TAG

# Dagster's own wrappers around the error a step raised: the cause inside says what went wrong.
_WRAPPERS = {
    "RetryRequested",
    "RetryRequestedFromPolicy",
    "DagsterExecutionStepExecutionError",
    "DagsterUserCodeExecutionError",
    "DagsterMaxRetriesExceededError",
}


@dataclass
class StepOutcome:
    step: str
    status: str = "not run"
    attempts: int = 0
    detail: str = ""
    metadata: dict = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def failure_line(self) -> str:
        """``deliver_2_sftp: connection refused by 10.0.0.5:22 after 2 attempts``."""
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        return f"{self.step}: {self.detail or 'failed'}{tries}"

    def summary(self) -> str:
        """What happened, as a phrase: the step's ``status`` and the details it recorded."""
        if self.failed:
            return self.failure_line().split(": ", 1)[1]
        text = self.status
        earlier = self.metadata.get("delivered_by_run")
        if earlier and earlier[:8] not in text:
            text += f" by run {earlier[:8]}"
        if earlier and "answer" not in self.metadata:
            text += ", not sent again"  # no answer from a server: nothing went out
        reason = self.metadata.get("reason")
        if reason:
            text += f": {reason}"
        return text


@dataclass
class RunOutcome:
    run_id: str
    status: str
    created: datetime
    period: str | None
    targets: list[StepOutcome] = field(default_factory=list)


_STEP_EVENTS = {
    DagsterEventType.STEP_START,
    DagsterEventType.STEP_RESTARTED,
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


def error_text(error: SerializableErrorInfo | None) -> str:
    """The first line of the error a step raised, without Dagster's wrappers or a class path."""
    while error is not None and error.cls_name in _WRAPPERS and error.cause is not None:
        error = error.cause
    if error is None:
        return ""
    message = error.message.strip()
    prefix = rf"^(?:[A-Za-z_]\w*\.)*{re.escape(error.cls_name or '')}: " if error.cls_name else ""
    if prefix and re.match(prefix, message):
        message = re.sub(prefix, "", message, count=1)
    else:
        message = re.sub(r"^(?:[A-Za-z_]\w*\.)+[A-Za-z_]\w*: ", "", message, count=1)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    # Deliver steps store scrubbed errors; this catches what reads as a credential in any
    # other step's error, and in runs stored before steps scrubbed theirs.
    return redact(lines[0], limit=None)[:300] if lines else (error.cls_name or "failed")


def _metadata_value(entry) -> object:
    return getattr(entry, "value", entry)


def step_outcomes(instance: DagsterInstance, run_id: str) -> list[StepOutcome]:
    """Every step that started in the run, in the order it first started."""
    outcomes: dict[str, StepOutcome] = {}
    for record in instance.all_logs(run_id, of_type=_STEP_EVENTS):
        event = record.dagster_event
        step = event.step_key or ""
        outcome = outcomes.setdefault(step, StepOutcome(step=step))
        if event.event_type in (DagsterEventType.STEP_START, DagsterEventType.STEP_RESTARTED):
            outcome.attempts += 1
            outcome.status = "running"
        elif event.event_type == DagsterEventType.STEP_OUTPUT:
            metadata = {k: _metadata_value(v) for k, v in event.step_output_data.metadata.items()}
            outcome.metadata = metadata
            outcome.status = str(metadata.get("status", "done"))
            answer = metadata.get("answer")
            outcome.detail = redact(str(answer), limit=None)[:120] if answer else ""
        elif event.event_type == DagsterEventType.STEP_UP_FOR_RETRY:
            outcome.status = "retrying"
            outcome.detail = error_text(event.event_specific_data.error)
        else:
            outcome.status = "failed"
            outcome.detail = error_text(event.step_failure_data.error) or outcome.detail
    return list(outcomes.values())


def failure_lines(instance: DagsterInstance, run_id: str) -> list[str]:
    """One line per failed step naming its root cause and attempts."""
    return [o.failure_line() for o in step_outcomes(instance, run_id) if o.failed]


def _targets(instance: DagsterInstance, run_id: str) -> list[StepOutcome]:
    """The deliver steps, and any other step that failed (a failed fetch explains the rest)."""
    return sorted(
        (o for o in step_outcomes(instance, run_id) if o.step.startswith("deliver_") or o.failed),
        key=lambda o: (o.step.startswith("deliver_"), o.step),
    )


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
