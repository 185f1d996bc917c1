"""PDF and HTML reports: a Jinja2 HTML template with title, period, summary, table and chart.

Both formats render the same template (the shipped ``templates/report.html.j2`` or the report's
own ``format_options.template``); PDF then goes through WeasyPrint. Rows stream: only the rows
shown (up to ``pdf_max_rows`` / ``max_rows``) and running totals are kept, never the result.
What is kept is bounded whatever the data: each value is cut to ``CELL_MAX_CHARS`` before it
becomes a Python string, and the rows shown hold at most ``SHOWN_MAX_CHARS`` characters.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from reports_pipeline.render import ReportDocument
from reports_pipeline.render.cell_cap import cap_cell, cut_column
from reports_pipeline.render.chart import check_chart_columns, is_numeric, render_chart_svg
from reports_pipeline.render.fonts import MONO_CSS, SANS_CSS
from reports_pipeline.spec.report import DocumentOptions, HtmlOptions, PdfOptions
from reports_pipeline.templating import ConfinedFileSystemLoader, PeriodContext

TEMPLATES_DIR = Path(__file__).parent / "templates"
DEFAULT_TEMPLATE = "report.html.j2"

# A cell of a PDF or HTML report shows at most this many characters, then "… (truncated)":
# a page is read, and WeasyPrint needs about 100 bytes of memory per character it lays out
# (one 100 MB value took 10.9 GB). The CSV, JSON and Parquet formats keep every value whole.
CELL_MAX_CHARS = 1_000
# And a page keeps at most this many characters of text values: past them, rows are left out
# as past max_rows (100,000 rows of 1,000 characters would make a page of gigabytes).
SHOWN_MAX_CHARS = 20_000_000
# A PDF table of more text than this is laid out as a listing (below): WeasyPrint takes about
# 10 s to wrap 200,000 characters into table cells.
LISTING_ABOVE_CHARS = 200_000

# WeasyPrint lays out a table at about 1 ms a cell on a 2-core machine: 5,000 rows of 9 columns
# would take most of a minute. Above this many cells a PDF shows its rows as a listing instead:
# one preformatted line per row in a fixed-width font: about 7 s for those rows and a chart.
LISTING_ABOVE_CELLS = 3_000
LISTING_BAND_ROWS = 5  # rows per shaded band, and per table row (fewer boxes to lay out)
LISTING_FONT_PT = (7.5, 5.5)  # the largest size, and the smallest before values are cut short
MONO_ADVANCE_EM = 0.602  # width of every DejaVu Sans Mono glyph
LISTING_WIDTH_PT = {"portrait": 520.0, "landscape": 766.0}  # A4 inside the template's margins
LISTING_GAP = "  "
LISTING_MIN_CHARS = 6  # a column cut short keeps at least this many characters
# The table's column widths are set from the values shown (table-layout: fixed), so that a long
# value wraps inside its column: WeasyPrint's automatic layout gives a value without spaces
# the whole line, pushing every later column off the page.
GRID_FONT_PT = 8.5
GRID_PADDING_PT = 11.3  # 2 mm either side of a cell
SANS_ADVANCE_EM = 0.6  # about the mean width of DejaVu Sans letters and digits
GRID_MAX_CHARS = 40  # no column asks for more width than this many characters; longer wraps
GRID_MIN_CHARS = 8  # a column narrowed to fit the page keeps at least this many
# Numbers that name rather than count: shown as 100234 and 2026, not 100,234; never totalled.
IDENTIFIER = re.compile(r"(^|_)(id|year)$", re.IGNORECASE)


def render_pdf(
    batches: Iterable[pa.RecordBatch],
    destination: Path,
    options: PdfOptions,
    document: ReportDocument | None = None,
) -> int:
    """Write ``batches`` as a PDF report to ``destination``; return the number of data rows.

    A4 in ``options.orientation``, the header row repeated on every page, "Page N of M" in
    the footer, fonts embedded. Above ``options.pdf_max_rows`` rows the PDF shows the first
    ones and says how many were left out; the row count and totals always cover every row.
    The PDF loads nothing from outside: a template's images must be ``data:`` URLs.
    """
    html, rows = _render_html(batches, options, document, options.pdf_max_rows, "pdf")
    # WeasyPrint takes a second to import; the code location is re-imported on every run.
    from weasyprint import HTML, URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",))
    HTML(string=html, url_fetcher=fetcher).write_pdf(destination)
    return rows


def render_html(
    batches: Iterable[pa.RecordBatch],
    destination: Path,
    options: HtmlOptions,
    document: ReportDocument | None = None,
) -> int:
    """Write ``batches`` as one self-contained HTML page; return the number of data rows.

    CSS and the chart are inline, every data value is escaped. Above ``options.max_rows``
    rows the page shows the first ones and says how many were left out.
    """
    html, rows = _render_html(batches, options, document, options.max_rows, "html")
    destination.write_text(html, encoding="utf-8")
    return rows


def display_value(value: Any) -> str:
    """A value as a reader sees it: ``12,345``, ``1,234.50``, ISO dates, NULL as ``""``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return f"{value:,.2f}" if value.is_finite() else str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


@dataclass
class _Result:
    """What is kept of the streamed result: the first rows, the row count, running totals."""

    limit: int
    columns: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    total_rows: int = 0
    numeric: set[str] = field(default_factory=set)
    totals: dict[str, int | float | Decimal] = field(default_factory=dict)
    chars: int = 0  # in the text of the rows kept
    size_limited: bool = False  # rows were left out for SHOWN_MAX_CHARS, not for the limit

    def add(self, batch: pa.RecordBatch) -> None:
        wanted = self.limit - len(self.rows)
        if wanted > 0 and batch.num_rows and not self.size_limited:
            self._keep(batch.slice(0, wanted))
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            if is_numeric(column.type):
                self.numeric.add(name)
                if IDENTIFIER.search(name):
                    continue
                total = pc.sum(column).as_py()  # None when every value is NULL
                previous = self.totals.get(name, 0)
                self.totals[name] = previous if total is None else _add(previous, total)
        self.total_rows += batch.num_rows

    def _keep(self, head: pa.RecordBatch) -> None:
        # Cut in Arrow: a huge value never becomes a Python string.
        columns = [cut_column(column, CELL_MAX_CHARS) for column in head.columns]
        lengths = _text_lengths(columns)
        if lengths is not None:
            running = pc.cumulative_sum(lengths)
            fitting = pc.sum(pc.less_equal(running, SHOWN_MAX_CHARS - self.chars)).as_py()
            if fitting < len(head):
                self.size_limited = True
                columns = [column.slice(0, fitting) for column in columns]
            if fitting:
                self.chars += running[fitting - 1].as_py()
        self.rows.extend(zip(*(column.to_pylist() for column in columns), strict=True))


def _text_lengths(columns: list[pa.Array]) -> pa.Array | None:
    """Characters of text (and hex digits of binary) in each row, or None without such columns."""
    total = None
    for column in columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            lengths = pc.utf8_length(column)
        elif pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            lengths = pc.multiply(pc.binary_length(column), 2)
        else:
            continue
        lengths = pc.fill_null(lengths.cast(pa.int64()), 0)
        total = lengths if total is None else pc.add(total, lengths)
    return total


def _add(left: int | float | Decimal, right: int | float | Decimal) -> int | float | Decimal:
    if isinstance(left, Decimal) != isinstance(right, Decimal) and (
        isinstance(left, float) or isinstance(right, float)
    ):
        return float(left) + float(right)  # one batch typed a column decimal, another float
    return left + right


def _render_html(
    batches: Iterable[pa.RecordBatch],
    options: DocumentOptions,
    document: ReportDocument | None,
    limit: int,
    format: str,
) -> tuple[str, int]:
    template_dir = document.template_dir if document else None
    template = _load_template(options.template, template_dir)  # a bad template fails first
    result = _Result(limit=limit)
    for batch in batches:
        if not result.columns:
            result.columns = batch.schema.names
            if options.chart is not None:
                check_chart_columns(options.chart, batch.schema)
        result.add(batch)
    if not result.columns:
        raise ValueError("no record batches to write: even zero rows come as one empty batch")
    context = _context(result, options, document, format)
    try:
        return template.render(context), result.total_rows
    except TemplateError as exc:
        raise ValueError(f"format_options.template: {template.name!r}: {exc}") from None


def _context(
    result: _Result, options: DocumentOptions, document: ReportDocument | None, format: str
) -> dict[str, Any]:
    if document is None:
        document = ReportDocument(
            name="report",
            title="Report",
            description="",
            period_key="",
            period_start=datetime.min,
            period_end=datetime.min,
            generated_at=datetime.now(timezone.utc),
        )
        period = None
    else:
        period = PeriodContext(
            start=document.period_start, end=document.period_end, key=document.period_key
        )
    chart_svg = None
    if options.chart is not None and result.rows:
        x = result.columns.index(options.chart.x)
        y = result.columns.index(options.chart.y)
        svg = render_chart_svg(
            options.chart, [r[x] for r in result.rows], [r[y] for r in result.rows]
        )
        chart_svg = Markup(svg)  # made by matplotlib, which escapes the labels it writes
    numeric_columns = [name for name in result.columns if name in result.numeric]
    plain = [name in result.numeric and name not in result.totals for name in result.columns]
    rows = [
        [
            cap_cell(
                str(value) if as_is and value is not None else display_value(value),
                CELL_MAX_CHARS,
            )
            for value, as_is in zip(row, plain, strict=True)
        ]
        for row in result.rows
    ]
    width_pt = LISTING_WIDTH_PT[options.orientation]
    listing = None
    if format == "pdf" and (
        len(rows) * len(result.columns) > LISTING_ABOVE_CELLS or result.chars > LISTING_ABOVE_CHARS
    ):
        right = [name in result.numeric for name in result.columns]
        listing = _listing(result.columns, rows, right, width_pt)
    return {
        "title": document.title,
        "name": document.name,
        "description": document.description,
        "period": period,
        "generated_at": document.generated_at,
        "format": format,
        "orientation": options.orientation,
        "columns": result.columns,
        "column_widths": _grid_widths(result.columns, rows, width_pt),
        "numeric_columns": numeric_columns,
        "rows": rows,
        "total_rows": result.total_rows,
        "shown_rows": len(result.rows),
        "left_out": result.total_rows - len(result.rows),
        "size_limited": result.size_limited,
        "totals": {
            name: display_value(result.totals[name])
            for name in result.columns
            if name in result.totals
        },
        "chart": options.chart.model_dump() if options.chart else None,
        "chart_svg": chart_svg,
        "listing": listing,
        # Markup: CSS in <style>, where an escaped quote would break the declaration.
        "font_family": Markup(SANS_CSS),
        "mono_font_family": Markup(MONO_CSS),
    }


@dataclass(frozen=True)
class Listing:
    """Rows as fixed-width text lines: what a long PDF shows instead of a table."""

    header: str
    bands: list[str]  # LISTING_BAND_ROWS lines each, joined by newlines
    font_size: float  # points
    shortened: bool  # some values were cut short (ending in …) to fit the page


def _listing(
    columns: list[str], rows: list[list[str]], right: list[bool], width_pt: float
) -> Listing:
    """Pad every value to its column's width; numbers right-aligned, text left-aligned."""
    largest, smallest = LISTING_FONT_PT
    fits = int(width_pt / (MONO_ADVANCE_EM * smallest))  # characters in a line at the smallest
    # No column is wider than a line: one character more than that says a value was cut.
    rows = [[_one_line(value)[: fits + 1] for value in row] for row in rows]
    full = [
        max([_cells(name)] + [_cells(row[index]) for row in rows])
        for index, name in enumerate(columns)
    ]
    gap = len(LISTING_GAP) * (len(columns) - 1)
    widths = _narrowed(full, fits - gap, LISTING_MIN_CHARS)
    shortened = widths != full
    font_size = min(largest, width_pt / (MONO_ADVANCE_EM * (sum(widths) + gap)))
    font_size = max(smallest, math.floor(font_size * 10) / 10)

    def line(values: list[str]) -> str:
        return LISTING_GAP.join(
            _pad(value, width, align_right)
            for value, width, align_right in zip(values, widths, right, strict=True)
        )

    lines = [line(row) for row in rows]
    bands = [
        "\n".join(lines[start : start + LISTING_BAND_ROWS])
        for start in range(0, len(lines), LISTING_BAND_ROWS)
    ]
    return Listing(line(columns), bands, font_size, shortened)


def _narrowed(widths: list[int], total: int, minimum: int) -> list[int]:
    """``widths`` with the widest narrowed, one character at a time, until they sum to ``total``.

    No width goes below ``minimum`` (nor is raised to it): past that they may sum to more.
    """
    widths = list(widths)
    while sum(widths) > total and max(widths) > minimum:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    return widths


def _grid_widths(columns: list[str], rows: list[list[str]], width_pt: float) -> list[float]:
    """Each column's share of the table's width, in percent, from its header and values.

    A column asks for its widest value (up to ``GRID_MAX_CHARS`` characters); when they do not
    all fit, the widest are narrowed first, so short values (numbers, dates) keep one line.
    """
    wanted = [
        min(
            max(
                [_cells(name[: GRID_MAX_CHARS + 1])]
                + [_cells(row[index][: GRID_MAX_CHARS + 1]) for row in rows]
            ),
            GRID_MAX_CHARS,
        )
        for index, name in enumerate(columns)
    ]
    char_pt = SANS_ADVANCE_EM * GRID_FONT_PT
    # One character to spare in every column: capitals and bold headers are wider than most.
    extra_pt = GRID_PADDING_PT + char_pt
    fits = int((width_pt - extra_pt * len(columns)) / char_pt)
    widths_pt = [chars * char_pt + extra_pt for chars in _narrowed(wanted, fits, GRID_MIN_CHARS)]
    return [round(100 * width / sum(widths_pt), 2) for width in widths_pt]


def _one_line(value: str) -> str:
    return " ".join(value.split()) if any(char in value for char in "\n\r\t\f\v") else value


def _cells(text: str) -> int:
    """Columns the text takes in a fixed-width font: wide East Asian characters take two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(value: str, width: int, align_right: bool) -> str:
    cells = _cells(value)
    if cells > width:
        value = _first_cells(value, width - 1) + "…"
        cells = _cells(value)
    padding = " " * (width - cells)
    return padding + value if align_right else value + padding


def _first_cells(text: str, cells: int) -> str:
    """The longest start of ``text`` taking at most ``cells`` columns, found in one pass."""
    if text.isascii():
        return text[:cells]
    taken = 0
    for index, char in enumerate(text):
        taken += 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if taken > cells:
            return text[:index]
    return text


def _load_template(name: str | None, template_dir: Path | None) -> Template:
    """The shipped template, or ``name`` from the report's folder (never from outside it)."""
    if name is None:
        return _environment(None).get_template(DEFAULT_TEMPLATE)
    if template_dir is None:
        raise ValueError(
            f"format_options.template: {name!r} is looked up in the report's folder,"
            " but this report has none"
        )
    folder = Path(template_dir).resolve()
    path = (folder / name).resolve()
    if not path.is_relative_to(folder):
        raise ValueError(
            f"format_options.template: {name!r} is outside the report's folder {folder};"
            " a template must be a file in that folder or below it"
        )
    if not path.is_file():
        raise ValueError(f"format_options.template: no file {name!r} in {folder}")
    try:
        return _environment(folder).get_template(path.relative_to(folder).as_posix())
    except TemplateSyntaxError as exc:
        raise ValueError(
            f"format_options.template: {name!r}, line {exc.lineno}: {exc.message}"
        ) from None


def _environment(folder: Path | None) -> SandboxedEnvironment:
    # The report's folder first, then the shipped templates: `{% extends "report.html.j2" %}`.
    search_path = [folder, TEMPLATES_DIR] if folder else [TEMPLATES_DIR]
    env = SandboxedEnvironment(
        # include/extends/import reach only files really inside these folders (symlinks resolved)
        loader=ConfinedFileSystemLoader(search_path),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["date"] = _format_date
    env.filters["iso"] = _format_iso
    env.filters["number"] = display_value
    return env


def _format_date(value: datetime, fmt: str = "%Y-%m-%d") -> str:
    return value.strftime(fmt)


def _format_iso(value: datetime) -> str:
    if value.time() == time(0):
        return value.date().isoformat()
    text = value.strftime("%Y-%m-%d %H:%M")
    zone = value.tzname()
    return f"{text} {zone}" if zone else text
