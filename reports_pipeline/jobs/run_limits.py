"""A report's time limit as the run tag Dagster's run monitoring enforces, and how to tell that
a run was stopped by it."""

from datetime import timedelta

from dagster import DagsterEventType, DagsterInstance, DagsterRun
from dagster._core.storage.tags import MAX_RUNTIME_SECONDS_TAG

# Dagster's run monitoring cancels an overrunning run with this in its message (1.13).
_MONITORING_MESSAGE = "exceeding maximum runtime"


def max_runtime_tags(max_runtime: timedelta) -> dict[str, str]:
    """``dagster/max_runtime`` in whole seconds: the daemon stops a run still going after it.

    The run is then marked failed, so the failure-notice sensor tells the report's owner.
    """
    return {MAX_RUNTIME_SECONDS_TAG: str(int(max_runtime.total_seconds()))}


def _shown(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def stopped_for_time(instance: DagsterInstance, run: DagsterRun) -> str | None:
    """A sentence for the owner if run monitoring stopped ``run`` for overrunning, else None."""
    limit = run.tags.get(MAX_RUNTIME_SECONDS_TAG)
    if not limit or not limit.isdigit():
        return None
    canceling = instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_CANCELING)
    if not any(_MONITORING_MESSAGE in (r.dagster_event.message or "") for r in canceling):
        return None
    return (
        f"the run took longer than its max_runtime of {_shown(int(limit))} and was stopped;"
        " if the report needs longer, raise max_runtime in its file"
    )
