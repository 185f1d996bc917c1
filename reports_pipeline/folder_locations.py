"""Several code locations, one per folder of the reports folder, for large deployments.

One location serving every report makes the webserver and the daemon wait for all of them at
each (re)load, in one process. Split by team folder, each location is a process of its own that
loads only its folder: they load side by side, a broken or slow folder delays only itself, and
a team's change reloads only its location (README, "Scale").

``reports workspace --per-folder`` writes the workspace.yaml: every location names this module,
with an attribute that says what it holds:

- ``folder__<folder>``: the reports under ``<folder>`` (a direct subfolder of the reports
  folder) with their schedules, assets and sensors;
- ``top_level_files``: the report files directly in the reports folder;
- ``deployment_operations``: pool limits, the owners' digest and retention, which need every
  report and must run once.
"""

import threading
from pathlib import Path

from dagster import RepositoryDefinition

from reports_pipeline import locations
from reports_pipeline.definitions import lazy_repository
from reports_pipeline.location_scope import LocationScope
from reports_pipeline.spec.loader import REPORT_SUFFIXES, find_report_files

FOLDER_PREFIX = "folder__"
TOP_LEVEL = "top_level_files"
OPERATIONS = "deployment_operations"

_built: dict[str, RepositoryDefinition] = {}
_lock = threading.Lock()


def files_at_top(reports_dir: Path) -> list[Path]:
    return sorted(p for p in reports_dir.iterdir() if p.suffix in REPORT_SUFFIXES and p.is_file())


def report_folders(reports_dir: Path) -> list[str]:
    """The direct subfolders holding report files (hidden ones are not report folders)."""
    return sorted(
        p.name
        for p in reports_dir.iterdir()
        if p.is_dir() and not p.name.startswith(".") and find_report_files([p])
    )


def location_attributes(reports_dir: Path) -> list[str]:
    """Every location's attribute, in the order the workspace lists them."""
    attributes = [FOLDER_PREFIX + folder for folder in report_folders(reports_dir)]
    if files_at_top(reports_dir):
        attributes.append(TOP_LEVEL)
    return [*attributes, OPERATIONS]


def location_repository(attribute: str, reports_dir: Path | None = None) -> RepositoryDefinition:
    """The lazy repository of the location ``attribute`` names."""
    reports_dir = reports_dir or locations.reports_dir()
    folders = [reports_dir / name for name in report_folders(reports_dir)]
    top = files_at_top(reports_dir)
    if attribute == OPERATIONS:
        return lazy_repository([reports_dir], scope=LocationScope(report_jobs=False))
    if attribute == TOP_LEVEL:
        own = top
    elif attribute.startswith(FOLDER_PREFIX):
        own = [reports_dir / attribute[len(FOLDER_PREFIX) :]]
        if not own[0].is_dir() or own[0].parent != reports_dir:
            raise AttributeError(
                f"{attribute}: there is no folder {own[0].name!r} in {reports_dir}; regenerate"
                " workspace.yaml with `reports workspace --per-folder`"
            )
    else:
        raise AttributeError(attribute)
    elsewhere = tuple(p for p in [*folders, *top] if p not in own)
    scope = LocationScope(operations=False, elsewhere=elsewhere)
    return lazy_repository(own, scope=scope)


def __getattr__(attribute: str) -> RepositoryDefinition:
    # Dagster loads a location as `getattr(module, attribute)`; dunder lookups are Python's own.
    if attribute.startswith("__"):
        raise AttributeError(attribute)
    with _lock:  # a code server answers on several threads; build each repository once
        if attribute not in _built:
            _built[attribute] = location_repository(attribute)
        return _built[attribute]
