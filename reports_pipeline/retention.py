"""Which stored report files retention deletes: one pure decision for the job and the CLI.

A report keeps its files for ``retention_days`` (its own, else ``storage.retention_days``;
neither: forever). Periods are the unit recipients and ``reports fetch`` know, so:

- a period whose newest file is older than the limit goes whole, files and ``latest`` pointer,
  unless it holds the report's newest file: a report always keeps its last result;
- in a period that stays, older re-runs past the limit go, never the file its ``latest``
  pointer names, so the pointer never names a deleted file;
- a folder no valid report file names is left alone (see :func:`retention_days_of`).
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from reports_pipeline.storage.inventory import StoredEntry, StoredListing
from reports_pipeline.storage.layout import LATEST_POINTER


@dataclass(frozen=True)
class FilePlan:
    """What goes: files (with their sizes, to report) and the pointers of emptied periods."""

    files: list[StoredEntry]
    pointers: list[PurePosixPath]

    @property
    def bytes(self) -> int:
        return sum(entry.bytes for entry in self.files)

    @property
    def paths(self) -> list[PurePosixPath]:
        """Pointers first: a reader then finds no file rather than a pointer to a gone one."""
        return self.pointers + [entry.relative for entry in self.files]


def retention_days_of(specs: Iterable, storage_days: int | None) -> Callable[[str], int | None]:
    """Days a report's files are kept: its spec's ``retention_days``, else the storage's.

    None (kept) for a folder no valid report file names: the report was removed, or its file
    is broken right now and its own ``retention_days`` unknown; deleting by the storage's
    shorter default would lose files the owner meant to keep. Such folders are cleaned by hand.
    """
    own = {spec.name: spec.retention_days or storage_days for spec in specs}
    return lambda report: own.get(report)


def _kept_file(entries: Sequence[StoredEntry]) -> StoredEntry:
    """The file the period's ``latest`` pointer names, else (no pointer, one file, a period
    from before pointers) its newest."""
    named = [entry for entry in entries if entry.latest]
    return named[0] if named else max(entries, key=lambda e: (e.stored_at, e.relative))


def plan_file_deletions(
    listing: StoredListing, days_of: Callable[[str], int | None], now: datetime
) -> FilePlan:
    """The files (and pointers) retention deletes at ``now``; "older" is strictly older."""
    periods: dict[str, dict[str, list[StoredEntry]]] = {}
    for entry in listing.files:
        periods.setdefault(entry.report, {}).setdefault(entry.period, []).append(entry)
    files: list[StoredEntry] = []
    pointers: list[PurePosixPath] = []
    for report, by_period in sorted(periods.items()):
        days = days_of(report)
        if days is None:
            continue
        cutoff = now - timedelta(days=days)
        newest = {
            period: max(e.stored_at for e in entries) for period, entries in by_period.items()
        }
        last_period = max(newest, key=lambda period: (newest[period], period))
        for period, entries in sorted(by_period.items()):
            if period != last_period and newest[period] < cutoff:
                files += entries
                pointer = PurePosixPath(report, period, LATEST_POINTER)
                if pointer in listing.pointers:
                    pointers.append(pointer)
                continue
            kept = _kept_file(entries)
            files += [e for e in entries if e is not kept and e.stored_at < cutoff]
    return FilePlan(sorted(files, key=lambda e: e.relative), sorted(pointers))
