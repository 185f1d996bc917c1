"""Find the file that declares a report, without parsing every report file.

A run worker needs one report's job. Parsing and validating every file to find it makes the
cost of one run grow with the number of reports, so this scan reads each file's bytes and looks
only for a top-level ``name:`` line. It is a hint, not a verdict: the caller still parses and
validates the file it finds, and falls back to loading everything when the hint is missing
(a name written in a form the scan does not recognise) or ambiguous (two files claim the name).
"""

import re
from pathlib import Path

from reports_pipeline.spec.loader import find_report_files
from reports_pipeline.spec.yaml_source import MAX_FILE_BYTES

# A top-level `name: value` line, the value optionally quoted, optionally followed by a comment.
_NAME_LINE = re.compile(rb"^name:[ \t]*(['\"]?)([A-Za-z0-9_.\-]+)\1[ \t]*(?:#.*)?$", re.MULTILINE)


def declared_name(text: bytes) -> str | None:
    """The report name a file's top-level ``name:`` line declares, if the scan can see one."""
    match = _NAME_LINE.search(text)
    return match.group(2).decode() if match else None


def _report_bytes(path: Path) -> bytes | None:
    """A report file's bytes, or None where the full load would refuse it unread."""
    try:
        with path.open("rb") as file:
            text = file.read(MAX_FILE_BYTES + 1)
    except OSError:
        return None  # the full load reports unreadable files
    return None if len(text) > MAX_FILE_BYTES else text  # never read a huge file whole


def declared_names(paths: list[Path]) -> dict[str, list[Path]]:
    """The report names that files under ``paths`` declare, each with its files."""
    names: dict[str, list[Path]] = {}
    for path in find_report_files(paths):
        text = _report_bytes(path)
        name = declared_name(text) if text is not None else None
        if name is not None:
            names.setdefault(name, []).append(path)
    return names


def files_declaring(name: str, paths: list[Path]) -> list[Path]:
    """Report files under ``paths`` whose ``name:`` line declares ``name``, in load order."""
    needle = name.encode()
    found = []
    for path in find_report_files(paths):
        text = _report_bytes(path)
        if text is not None and needle in text and declared_name(text) == name:
            found.append(path)
    return found
