"""Which finished runs leave the run history (``policy.run_retention_days``), deleted with
Dagster's own ``DagsterInstance.delete_run`` (the run, its tags and its event log).

Never a run still queued, starting, going or being canceled; never the latest run of a job nor
its latest successful one, so ``reports history`` and ``reports status`` keep each report's
last result and last success (a monthly report is not "late" because its run was cleaned).
The delivery ledger lives in the instance's key-value store, not in runs: deleting a run never
makes a delivery look unsent.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

FINISHED = (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)
MAX_RUNS_PER_PASS = 5000
"""A pass deletes at most this many runs, oldest first; the next day's pass goes on."""


@dataclass(frozen=True)
class OldRun:
    run_id: str
    job_name: str
    status: str
    finished_at: datetime


def plan_run_deletions(
    runs: Iterable[OldRun], protected: set[str], cutoff: datetime
) -> list[OldRun]:
    """The runs of ``runs`` to delete: finished before ``cutoff`` and not ``protected``."""
    finished = {status.value for status in FINISHED}
    return [
        run
        for run in runs
        if run.status in finished and run.finished_at < cutoff and run.run_id not in protected
    ]


def _when(timestamp: float | datetime | None) -> datetime | None:
    if timestamp is None:
        return None
    if isinstance(timestamp, datetime):
        return timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(timestamp, timezone.utc)


def _latest_ids(instance: DagsterInstance, job_name: str) -> set[str]:
    """The job's latest run and latest successful run."""
    kept = set()
    for statuses in (None, [DagsterRunStatus.SUCCESS]):
        records = instance.get_run_records(
            RunsFilter(job_name=job_name, statuses=statuses or []), limit=1
        )
        kept.update(record.dagster_run.run_id for record in records)
    return kept


def runs_to_delete(instance: DagsterInstance, days: int, now: datetime) -> list[OldRun]:
    """The runs a pass at ``now`` deletes (oldest first, at most ``MAX_RUNS_PER_PASS``)."""
    cutoff = now - timedelta(days=days)
    records = instance.get_run_records(
        RunsFilter(statuses=list(FINISHED), updated_before=cutoff),
        limit=MAX_RUNS_PER_PASS,
        ascending=True,
    )
    candidates = [
        OldRun(
            run_id=record.dagster_run.run_id,
            job_name=record.dagster_run.job_name,
            status=record.dagster_run.status.value,
            # When it ended; a run that never recorded an end, when it last changed.
            finished_at=_when(record.end_time) or _when(record.update_timestamp),
        )
        for record in records
    ]
    protected: set[str] = set()
    for job_name in sorted({run.job_name for run in candidates}):
        protected |= _latest_ids(instance, job_name)
    return plan_run_deletions(candidates, protected, cutoff)


def delete_runs(instance: DagsterInstance, runs: Iterable[OldRun]) -> None:
    for run in runs:
        instance.delete_run(run.run_id)
