"""Where report files and ``connections.yaml`` are found (REPORT_SPEC.md, "Where specs live")."""

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def reports_dir() -> Path:
    """``REPORTS_DIR`` if set, else the reports shipped in the package."""
    return Path(os.environ.get("REPORTS_DIR") or PACKAGE_DIR / "reports")


def connections_path() -> Path:
    """``REPORTS_CONNECTIONS`` if set, else ``connections.yaml`` beside the reports folder."""
    configured = os.environ.get("REPORTS_CONNECTIONS")
    return Path(configured) if configured else reports_dir().parent / "connections.yaml"


def display_path(path: Path) -> str:
    """A path as people see it in messages: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
