"""One retention pass: plan what goes (files, then runs), delete it unless it is a dry run.

The ``reports_retention`` job and ``reports retention`` both call :func:`retention_pass`, so
the dry run shows exactly what the job would delete.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from reports_pipeline.retention import FilePlan, plan_file_deletions, retention_days_of
from reports_pipeline.run_retention import OldRun, delete_runs, runs_to_delete


@dataclass(frozen=True)
class RetentionPass:
    files: FilePlan
    runs: list[OldRun]
    dry_run: bool
    notes: list[str] = field(default_factory=list)  # what was not looked at, and why

    @property
    def nothing(self) -> bool:
        return not self.files.files and not self.files.pointers and not self.runs


def file_retention_configured(specs: Sequence, storage_days: int | None) -> bool:
    return storage_days is not None or any(spec.retention_days for spec in specs)


def retention_pass(
    storage,
    instance,
    specs: Sequence,
    connections,
    now: datetime,
    *,
    dry_run: bool,
) -> RetentionPass:
    """Apply (or, ``dry_run``, only plan) file and run retention at ``now``.

    ``storage`` is the report storage resource; ``instance`` the Dagster instance, or None when
    there is none (then run history is left alone, and said so).
    """
    notes = []
    storage_days = connections.storage.retention_days
    if file_retention_configured(specs, storage_days):
        listing = storage.inventory()
        plan = plan_file_deletions(listing, retention_days_of(specs, storage_days), now)
        if not dry_run and (plan.files or plan.pointers):
            storage.delete(plan.paths)
        unknown = sorted({e.report for e in listing.files} - {spec.name for spec in specs})
        if unknown:
            notes.append(
                "folders without a valid report file are kept (remove them by hand if the"
                f" report is gone): {', '.join(unknown[:20])}"
                + (f" and {len(unknown) - 20} more" if len(unknown) > 20 else "")
            )
    else:
        plan = FilePlan([], [])
        notes.append("files are kept forever: no storage.retention_days or report retention_days")
    run_days = connections.policy.run_retention_days
    runs: list[OldRun] = []
    if run_days is None:
        notes.append("runs are kept forever: no policy.run_retention_days")
    elif instance is None:
        notes.append("runs not looked at: no Dagster instance (set DAGSTER_HOME)")
    else:
        runs = runs_to_delete(instance, run_days, now)
        if not dry_run:
            delete_runs(instance, runs)
    return RetentionPass(plan, runs, dry_run, notes)


def _size(count: float) -> str:
    if count < 1024:
        return f"{int(count)} bytes"
    for unit in ("KB", "MB", "GB"):
        count /= 1024
        if count < 1024 or unit == "GB":
            break
    return f"{count:.1f} {unit}"


def retention_lines(result: RetentionPass) -> list[str]:
    """What a pass deleted, or would delete in a dry run, as ``reports retention`` prints it."""
    verb = "would delete" if result.dry_run else "deleted"
    lines = [f"{verb} {entry.relative}  {_size(entry.bytes)}" for entry in result.files.files]
    lines += [
        f"{verb} run {run.run_id}  {run.job_name}  {run.status}  ended"
        f" {run.finished_at:%Y-%m-%d %H:%M} UTC"
        for run in result.runs
    ]
    files, runs = len(result.files.files), len(result.runs)
    lines.append(
        f"{verb} {files} file{'' if files == 1 else 's'} ({_size(result.files.bytes)})"
        f" and {runs} run{'' if runs == 1 else 's'}"
    )
    lines += [f"note: {note}" for note in result.notes]
    return lines
