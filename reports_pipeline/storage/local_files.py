"""Report files on local disk, at one deterministic path per report and period."""

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class StoredFile:
    """A persisted report file: where it is, its size and its content hash."""

    path: str
    bytes: int
    sha256: str
    rows: int


def period_slug(period_key: str) -> str:
    """A period key made safe for file names (``2026-11-02-09:00`` → ``2026-11-02-0900``)."""
    return _UNSAFE.sub("", period_key)


def report_file_path(root: Path, name: str, period_key: str, ext: str) -> Path:
    """``<root>/<name>/<period>/<name>_<period>.<ext>``: re-running a period replaces its file."""
    slug = period_slug(period_key)
    return root / name / slug / f"{name}_{slug}.{ext}"


def staging_file_path(root: Path, name: str, period_key: str, ext: str, run_id: str) -> Path:
    """Where a run renders before the file is stored; unique per run so runs never collide."""
    return root / ".staging" / f"{name}_{period_slug(period_key)}_{run_id}.{ext}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def store_file(staged: Path, destination: Path, rows: int) -> StoredFile:
    """Move a rendered file to its final place atomically and describe it.

    ``os.replace`` within one file system means a reader sees the old file or the new one,
    never half of either.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    digest = sha256_of(staged)
    size = staged.stat().st_size
    os.replace(staged, destination)
    return StoredFile(path=str(destination), bytes=size, sha256=digest, rows=rows)
