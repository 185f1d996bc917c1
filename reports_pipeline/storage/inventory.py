"""What a storage holds, as retention sees it: each stored file with its report, period, age
and size, and each period's ``latest`` pointer. The same for a folder and a bucket.

A listing is built from the storage's raw objects (path inside the storage, size, when stored),
so local disk and S3 differ only in how they list, read a pointer and delete.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

from reports_pipeline.storage.layout import LATEST_POINTER, pointed_file


@dataclass(frozen=True)
class StoredEntry:
    """One stored report file."""

    report: str
    period: str  # the period's folder name
    relative: PurePosixPath  # its path inside the storage
    stored_at: datetime  # modification time on disk, LastModified in S3
    bytes: int
    latest: bool = False  # its period's ``latest`` pointer names it


@dataclass(frozen=True)
class StoredListing:
    files: list[StoredEntry] = field(default_factory=list)
    pointers: frozenset[PurePosixPath] = frozenset()  # every ``<name>/<period>/latest``


def _place(relative: PurePosixPath) -> tuple[str, str] | None:
    """``(report, period)`` of a path shaped like a stored file or pointer, else None.

    Stored files are ``<name>/<period>/<run>/<file>``, or ``<name>/<period>/<file>`` from before
    files were kept per run; hidden names (``.staging``, a pointer being written) are not ours.
    """
    if len(relative.parts) not in (3, 4) or any(p.startswith(".") for p in relative.parts):
        return None
    return relative.parts[0], relative.parts[1]


def build_listing(
    objects: Iterable[tuple[PurePosixPath, int, datetime]],
    read_pointer: Callable[[PurePosixPath], str | None],
) -> StoredListing:
    """The listing of a storage's ``objects``; ``read_pointer`` returns a pointer's text.

    A pointer is read only for periods holding several files: with one file, it is the latest
    whatever the pointer says, and a bucket of many periods needs no read per period.
    """
    files: list[StoredEntry] = []
    pointers: set[PurePosixPath] = set()
    for relative, size, stored_at in objects:
        place = _place(relative)
        if place is None:
            continue
        if relative.name == LATEST_POINTER and len(relative.parts) == 3:
            pointers.add(relative)
        else:
            files.append(StoredEntry(place[0], place[1], relative, stored_at, size))
    by_period: dict[tuple[str, str], list[StoredEntry]] = {}
    for entry in files:
        by_period.setdefault((entry.report, entry.period), []).append(entry)
    marked: list[StoredEntry] = []
    for (report, period), entries in sorted(by_period.items()):
        pointer = PurePosixPath(report, period, LATEST_POINTER)
        text = read_pointer(pointer) if len(entries) > 1 and pointer in pointers else None
        named = pointed_file(report, period, text) if text is not None else None
        marked += [
            StoredEntry(e.report, e.period, e.relative, e.stored_at, e.bytes, e.relative == named)
            for e in sorted(entries, key=lambda e: e.relative)
        ]
    return StoredListing(marked, frozenset(pointers))
