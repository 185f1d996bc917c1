"""Reload the running UI when report files or ``connections.yaml`` change (``make dev``).

watchfiles batches the events of one save (an editor's write, rename and chmod) into one set
after a quiet moment (``debounce``), so one save is one reload.
"""

import threading
from collections.abc import Callable
from pathlib import Path

from watchfiles import DefaultFilter, watch


def watched_folders(reports_dir: Path, connections_file: Path) -> list[Path]:
    """The folders to watch: the reports folder, and the folder of ``connections.yaml`` (an
    editor may save a file by replacing it, which a watch on the file itself would miss).
    A folder inside another watched one is left out: watches are recursive."""
    folders = {reports_dir.resolve(), connections_file.resolve().parent}
    return sorted(
        folder
        for folder in folders
        if folder.is_dir() and not any(other in folder.parents for other in folders)
    )


def relevant_change(reports_dir: Path, connections_file: Path) -> Callable[..., bool]:
    """A watchfiles filter: files in the reports folder and ``connections.yaml`` itself, not
    editors' swap files nor caches."""
    reports_dir, connections_file = reports_dir.resolve(), connections_file.resolve()
    ignored = DefaultFilter()

    def wanted(change, path: str) -> bool:
        changed = Path(path)
        return ignored(change, path) and (
            changed == connections_file or reports_dir in changed.parents
        )

    return wanted


def watch_and_reload(
    reports_dir: Path,
    connections_file: Path,
    reload: Callable[[list[str]], None],
    stop: threading.Event,
    ready: threading.Event | None = None,
    debounce_ms: int = 1600,
) -> None:
    """Call ``reload(changed paths)`` once per batch of changes until ``stop`` is set.

    ``ready`` is set once the watch is in place (the first quiet interval has passed), so a
    caller can change files knowing the change will be seen.
    """
    for changes in watch(
        *watched_folders(reports_dir, connections_file),
        watch_filter=relevant_change(reports_dir, connections_file),
        debounce=debounce_ms,
        stop_event=stop,
        rust_timeout=500,
        yield_on_timeout=True,
        raise_interrupt=False,
    ):
        if ready is not None:
            ready.set()
        if changes:
            reload(sorted({path for _, path in changes}))
