"""Render record batches into report files. Plain Python: the Dagster ops are thin adapters."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:
    import pyarrow as pa

# format → (module, function). Imported on use: openpyxl, weasyprint and friends take time to
# import, and every run re-imports the code location (ARCHITECTURE.md, behaviour 8).
_RENDERERS = {
    "csv": ("reports_pipeline.render.csv_file", "render_csv"),
    "xlsx": ("reports_pipeline.render.xlsx_file", "render_xlsx"),
    "pdf": ("reports_pipeline.render.document", "render_pdf"),
    "html": ("reports_pipeline.render.document", "render_html"),
    "json": ("reports_pipeline.render.json_file", "render_json"),
    "parquet": ("reports_pipeline.render.parquet_file", "render_parquet"),
}
FORMATS = tuple(_RENDERERS)


@dataclass(frozen=True)
class ReportDocument:
    """What a rendered file says about itself: which report, which period, when it was made."""

    name: str
    title: str
    description: str
    period_key: str
    period_start: datetime
    period_end: datetime
    generated_at: datetime
    template_dir: Path | None = None  # where format_options.template is looked up


@dataclass(frozen=True)
class RenderResult:
    """What a renderer reports about the file it wrote."""

    rows: int


def _inner_name(format: str, destination: Path, document: ReportDocument | None) -> str:
    """report_2026-11-02.csv.zip holds report_2026-11-02.csv (the staging name has a run id)."""
    if document is None:
        return destination.name.rsplit(".", 1)[0]
    from reports_pipeline.storage.local_files import period_slug

    return f"{document.name}_{period_slug(document.period_key)}.{format}"


def render_file(
    format: str,
    batches: Iterable[pa.RecordBatch],
    destination: Path,
    options: BaseModel,
    document: ReportDocument | None = None,
) -> RenderResult:
    """Write ``batches`` to ``destination`` in ``format`` with ``options``, compressed if asked.

    Raises ``ValueError`` for an unknown format.
    """
    if format not in _RENDERERS:
        raise ValueError(f"unknown report format {format!r}; expected one of {', '.join(FORMATS)}")
    module, function = _RENDERERS[format]
    render = getattr(importlib.import_module(module), function)
    destination = Path(destination)
    compress = getattr(options, "compress", None)
    if compress is None:
        return RenderResult(rows=render(batches, destination, options, document))
    from reports_pipeline.render.compression import compress_file

    raw = destination.with_name(f"{destination.name}.uncompressed")
    try:
        rows = render(batches, raw, options, document)
        compress_file(
            raw,
            destination,
            method=compress,
            inner_name=_inner_name(format, destination, document),
        )
    finally:
        raw.unlink(missing_ok=True)
    return RenderResult(rows=rows)
