"""Report files on local disk: one file per run, kept beside the period's earlier ones."""

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from reports_pipeline.storage.layout import (
    LATEST_POINTER,
    latest_pointer_path,
    period_folder,
    period_slug,
    pointed_file,
    pointer_text,
    run_folder,
)


@dataclass(frozen=True)
class StoredFile:
    """A persisted report file: a local copy deliveries read, where it is kept, its size and
    content hash, and a link to download it when the storage has one."""

    path: str
    bytes: int
    sha256: str
    rows: int
    location: str = ""  # the local path, or s3://bucket/key
    download_url: str | None = None


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
    return StoredFile(
        path=str(destination), bytes=size, sha256=digest, rows=rows, location=str(destination)
    )


def write_latest(root: Path, name: str, period_key: str, stored: Path) -> None:
    """Point the period's ``latest`` at ``stored`` (replaced atomically, last run wins)."""
    pointer = root / latest_pointer_path(name, period_key)
    relative = stored.relative_to(pointer.parent)
    partial = pointer.with_name(f".{LATEST_POINTER}.{os.getpid()}")
    partial.write_text(pointer_text(relative), encoding="utf-8")
    os.replace(partial, pointer)


def find_local_file(root: Path, name: str, period_key: str, run_id: str | None) -> Path | None:
    """The stored file of ``run_id`` for the period, else its latest; None when there is none.

    A period stored before files were kept per run has its one file directly in the period
    folder: it is the latest until a new run stores one.
    """
    folder = root / period_folder(name, period_key)
    if run_id is not None:
        found = sorted((folder / run_folder(run_id)).glob(f"{name}_*"))
        return found[0] if found else None
    pointer = folder / LATEST_POINTER
    if pointer.is_file():
        relative = pointed_file(name, period_key, pointer.read_text(encoding="utf-8"))
        if relative is not None and (root / relative).is_file():
            return root / relative
    legacy = sorted(folder.glob(f"{name}_*.*")) if folder.is_dir() else []
    return next((path for path in legacy if path.is_file()), None)


def local_periods(root: Path, name: str) -> list[str]:
    """The period folders stored for report ``name``, oldest first."""
    folder = root / name
    if not folder.is_dir():
        return []
    return sorted(path.name for path in folder.iterdir() if path.is_dir())


def list_local_objects(root: Path) -> Iterator[tuple[PurePosixPath, int, datetime]]:
    """Every file under the report folders: its path inside ``root``, size and modification
    time (``.staging`` and other hidden folders are not report folders)."""
    if not root.is_dir():
        return
    for report in sorted(root.iterdir()):
        if report.is_symlink() or not report.is_dir() or report.name.startswith("."):
            continue
        # Links are not followed: retention deletes only what the storage itself holds.
        for folder, _, names in os.walk(report, followlinks=False):
            for name in names:
                path = Path(folder, name)
                if path.is_symlink() or not path.is_file():
                    continue
                status = path.stat()
                modified = datetime.fromtimestamp(status.st_mtime, timezone.utc)
                yield PurePosixPath(path.relative_to(root).as_posix()), status.st_size, modified


def delete_local_paths(root: Path, relatives: Iterable[PurePosixPath]) -> None:
    """Delete files inside ``root`` (missing ones are already gone), then the folders that
    deleting them left empty, up to the report's folder."""
    folders: set[Path] = set()
    for relative in relatives:
        path = root / relative
        path.unlink(missing_ok=True)
        folders.update(p for p in path.parents if root in p.parents)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        try:
            folder.rmdir()
        except OSError:  # not empty (a kept file, a newer run) or already gone
            pass
