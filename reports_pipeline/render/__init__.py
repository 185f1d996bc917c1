"""Render record batches into report files. Plain Python: the Dagster ops are thin adapters."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class RenderResult:
    """What a renderer reports about the file it wrote."""

    rows: int


def render_file(
    format: str, batches: Iterable[pa.RecordBatch], destination: Path, options: BaseModel
) -> RenderResult:
    """Write ``batches`` to ``destination`` in ``format`` (``csv`` or ``xlsx``) with ``options``.

    Raises ``ValueError`` for any other format.
    """
    # Imported on use: openpyxl alone takes ~0.1 s to import, and every run re-imports the
    # code location (ARCHITECTURE.md, behaviour 8).
    if format == "csv":
        from reports_pipeline.render.csv_file import render_csv as render
    elif format == "xlsx":
        from reports_pipeline.render.xlsx_file import render_xlsx as render
    else:
        raise ValueError(f"unknown report format {format!r}; expected one of {', '.join(FORMATS)}")
    return RenderResult(rows=render(batches, Path(destination), options))
