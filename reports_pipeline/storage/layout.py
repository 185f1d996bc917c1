"""Where a stored report file lives inside the storage, the same for a folder and a bucket.

``<name>/<period>/<run>/<name>_<period>.<ext>``, ``<run>`` being the first 8 characters of
the run id (as ``reports history`` shows them): re-running a period adds a file beside the
earlier one instead of replacing it, and the file keeps the name recipients know. A small
``<name>/<period>/latest`` pointer names the newest run's file, so finding it needs no listing.
"""

import re
from pathlib import PurePosixPath

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_NOT_RUN_ID = re.compile(r"[^A-Za-z0-9-]+")  # Dagster run ids are UUIDs
RUN_FOLDER_LENGTH = 8
LATEST_POINTER = "latest"


def period_slug(period_key: str) -> str:
    """A period key made safe for file names (``2026-11-02-09:00`` → ``2026-11-02-0900``)."""
    return _UNSAFE.sub("", period_key)


def run_folder(run_id: str) -> str:
    """The folder of one run's file: a full run id or its 8-character prefix give the same."""
    folder = _NOT_RUN_ID.sub("", run_id)[:RUN_FOLDER_LENGTH]
    if not folder:
        raise ValueError(f"'{run_id}' is not a run id")
    return folder


def period_folder(name: str, period_key: str) -> PurePosixPath:
    slug = period_slug(period_key)
    if slug.strip(".") == "":
        raise ValueError(f"'{period_key}' is not a period key")
    return PurePosixPath(name) / slug


def file_name(name: str, period_key: str, ext: str) -> str:
    """``<name>_<period>.<ext>``: the name attachments and downloads carry."""
    return f"{name}_{period_slug(period_key)}.{ext}"


def stored_file_path(name: str, period_key: str, ext: str, run_id: str) -> PurePosixPath:
    """``<name>/<period>/<run>/<name>_<period>.<ext>``, relative to the storage root."""
    return period_folder(name, period_key) / run_folder(run_id) / file_name(name, period_key, ext)


def latest_pointer_path(name: str, period_key: str) -> PurePosixPath:
    return period_folder(name, period_key) / LATEST_POINTER


def pointer_text(stored: PurePosixPath) -> str:
    """What the ``latest`` pointer holds: the file's path inside its period folder."""
    return f"{stored.parent.name}/{stored.name}\n"


def pointed_file(name: str, period_key: str, text: str) -> PurePosixPath | None:
    """The file a ``latest`` pointer names, or None when the pointer is not one of ours."""
    relative = PurePosixPath(text.strip())
    if len(relative.parts) != 2 or ".." in relative.parts:
        return None
    return period_folder(name, period_key) / relative
