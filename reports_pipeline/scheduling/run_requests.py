"""Turn a due run into a Dagster ``RunRequest`` (one period, a range of periods, or a one-off)."""

from datetime import datetime, timezone

from dagster import RunRequest, ScheduleEvaluationContext
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PRIORITY_TAG,
)

from reports_pipeline.scheduling.due import DueRun

PERIOD_START_TAG = "reports/period_start"
PERIOD_END_TAG = "reports/period_end"
ONCE_RUN_KEY = "once"
# Runs started by hand (UI, CLI) have Dagster's default priority 0; the queue and the pools
# take higher priorities first, so a person waiting for a report goes ahead of the schedules.
SCHEDULED_PRIORITY = "-1"


def run_request(due: DueRun, partitioned: bool, tags: dict[str, str] | None = None) -> RunRequest:
    """The run of ``due``; its run key is the period, so the same period never runs twice.

    Requested by a schedule or the catch-up sensor, so it queues behind runs started by hand.
    """
    period = due.period
    all_tags = {
        PERIOD_START_TAG: period.start.isoformat(),
        PERIOD_END_TAG: period.end.isoformat(),
        PRIORITY_TAG: SCHEDULED_PRIORITY,
        **(tags or {}),
    }
    if not partitioned:
        return RunRequest(run_key=ONCE_RUN_KEY, tags=all_tags)
    if due.first.key == due.last.key:
        return RunRequest(run_key=period.key, partition_key=period.key, tags=all_tags)
    # Several periods in one run (after skipped days): Dagster's partition range tags make
    # context.partition_key_range and partition_time_window span them all.
    all_tags[ASSET_PARTITION_RANGE_START_TAG] = due.first.key
    all_tags[ASSET_PARTITION_RANGE_END_TAG] = due.last.key
    return RunRequest(run_key=period.key, tags=all_tags)


def tick_run_key(context: ScheduleEvaluationContext) -> str:
    """The schedule's tick (now, when evaluated outside a tick) as ISO 8601 UTC text: the run
    key of a deployment job's run (the digest, retention), so each tick runs once."""
    tick = context.scheduled_execution_time or datetime.now(timezone.utc)
    return tick.astimezone(timezone.utc).isoformat()
