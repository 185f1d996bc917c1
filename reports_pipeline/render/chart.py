"""The optional chart of a PDF or HTML report (``format_options.chart``), drawn as inline SVG."""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from reports_pipeline.render.fonts import SANS, SANS_CSS
from reports_pipeline.spec.report import ChartOptions

FIGURE_SIZE = (9.0, 3.4)  # inches; the page scales it to its width
MAX_CATEGORY_LABELS = 30  # more categories than this: every n-th label, so labels stay readable
MAX_LABEL_CHARS = 18
MAX_BARS = 100  # more bars are unreadable, and thousands of them slow a PDF down by seconds
COLOR = "#2f6fb3"


def check_chart_columns(chart: ChartOptions, schema: pa.Schema) -> None:
    """Raise ``ValueError`` unless ``chart.x`` and ``chart.y`` are columns and ``y`` is numeric.

    Called on the first batch, so a wrong column name fails before the result is read.
    """
    names = schema.names
    for field in ("x", "y"):
        column = getattr(chart, field)
        if column not in names:
            raise ValueError(
                f"format_options.chart.{field}: no column {column!r} in the result;"
                f" columns: {', '.join(names)}"
            )
    y_type = schema.field(chart.y).type
    if not (is_numeric(y_type) or pa.types.is_null(y_type)):  # null: an all-NULL first batch
        numeric = [field.name for field in schema if is_numeric(field.type)]
        raise ValueError(
            f"format_options.chart.y: column {chart.y!r} holds {y_type}, not numbers;"
            f" numeric columns: {', '.join(numeric) or 'none'}"
        )


def is_numeric(data_type: pa.DataType) -> bool:
    """Integers, floats and decimals (booleans are not numbers here)."""
    return (
        pa.types.is_integer(data_type)
        or pa.types.is_floating(data_type)
        or pa.types.is_decimal(data_type)
    )


def render_chart_svg(chart: ChartOptions, x_values: Sequence, y_values: Sequence) -> str:
    """Draw ``y_values`` against ``x_values`` as a bar or line chart; return an ``<svg>`` element.

    Rows with the same x are summed, and rows with a NULL x or y skipped. Bars: one per x
    value in order of appearance, at most ``MAX_BARS`` (the chart says how many were left
    out). Lines over numbers, dates or timestamps are time series: sorted by x, on a date
    axis; over text they follow the row order. The SVG loads no external resource, and the
    same input gives the same SVG.

    Text stays text (``<text>`` in the report's font stack): WeasyPrint or the browser draws
    it with the fonts that draw the table, color emoji included, which matplotlib cannot draw
    (it has no color bitmap fonts). matplotlib lays the text out with DejaVu Sans and Noto
    Sans CJK, the fonts that draw it, so labels are placed for their real width.
    """
    # matplotlib takes about a second to import; only reports with a chart pay for it.
    import matplotlib
    from matplotlib import font_manager
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend
    from matplotlib.ticker import FuncFormatter

    sums: dict[Any, float] = {}
    for x, y in zip(x_values, y_values, strict=True):
        if x is not None and y is not None:
            sums[x] = sums.get(x, 0.0) + float(y)
    points = list(sums.items())
    left_out = 0
    if chart.type == "bar" and len(points) > MAX_BARS:
        left_out = len(points) - MAX_BARS
        points = points[:MAX_BARS]
    style = {
        "svg.fonttype": "none",
        "svg.hashsalt": "reports_pipeline",  # stable element ids
        # Only installed ones: matplotlib logs a warning for each family it cannot find, on
        # every text it lays out (without the Noto fonts CJK labels are laid out too narrow).
        "font.family": _installed(font_manager.fontManager) or ["DejaVu Sans"],
        "font.size": 8,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
    with matplotlib.rc_context(style):
        figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
        axes = figure.add_subplot()
        if not points:
            axes.text(0.5, 0.5, "No values to chart", ha="center", transform=axes.transAxes)
        elif chart.type == "line" and all(_continuous(x) for x, _ in points):
            points.sort(key=lambda point: point[0])
            xs = [float(x) if isinstance(x, Decimal) else x for x, _ in points]
            axes.plot(xs, [y for _, y in points], color=COLOR, linewidth=1.4, **_markers(points))
            if isinstance(xs[0], date):
                locator = AutoDateLocator()
                axes.xaxis.set_major_locator(locator)
                axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        else:
            positions = range(len(points))
            ys = [y for _, y in points]
            if chart.type == "bar":
                axes.bar(positions, ys, width=0.8, color=COLOR, linewidth=0)
            else:
                axes.plot(positions, ys, color=COLOR, linewidth=1.4, **_markers(points))
            _category_ticks(axes, [_label(x) for x, _ in points])
        if left_out:
            axes.set_title(
                f"The first {MAX_BARS} of {MAX_BARS + left_out:,} values of {chart.x}",
                loc="right",
                fontsize=7,
                color="#57606a",
            )
        axes.yaxis.set_major_formatter(FuncFormatter(_tick))
        axes.grid(axis="y", color="#d8dee4", linewidth=0.6)
        axes.set_axisbelow(True)
        axes.set_xlabel(chart.x)
        axes.set_ylabel(chart.y)
        buffer = io.StringIO()
        with warnings.catch_warnings():
            # "Glyph ... missing from font(s)": an emoji, which the PDF or the browser draws.
            warnings.filterwarnings("ignore", "Glyph .* missing from font", UserWarning)
            figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # no XML declaration or doctype: it goes inline
    svg = _METADATA.sub("", svg, count=1)  # RDF naming matplotlib and its URL
    # The stack with its generic family, for whoever draws the text (and picks an emoji font).
    return _TEXT_FONT.sub(lambda match: match[1] + _SVG_FONT_FAMILY, svg)


def _installed(fonts) -> list[str]:
    """The families of the report's font stack that matplotlib's font list holds, in order."""
    names = {font.name for font in fonts.ttflist}
    return [family for family in SANS if family in names]


_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)
# The font-family in a <text> element's style attribute (a label's own text is escaped, so it
# can never look like the start of an element).
_TEXT_FONT = re.compile(r'(<text style="[^"]*?font-family: )[^;"]*')
_SVG_FONT_FAMILY = SANS_CSS.replace('"', "'")  # inside a double-quoted attribute


def _continuous(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal, date)) and not isinstance(value, bool)


def _markers(points: list) -> dict:
    return {"marker": "o", "markersize": 3} if len(points) <= 60 else {}


def _category_ticks(axes, labels: list[str]) -> None:
    step = math.ceil(len(labels) / MAX_CATEGORY_LABELS)
    positions = list(range(0, len(labels), step))
    shown = [_shorten(labels[position]) for position in positions]
    tilted = sum(len(label) + 4 for label in shown) > 110  # about what fits side by side
    axes.set_xticks(
        positions,
        shown,
        rotation=40 if tilted else 0,
        ha="right" if tilted else "center",
        rotation_mode="anchor",
    )
    axes.set_xlim(-0.6, len(labels) - 0.4)


def _label(value: Any) -> str:
    if isinstance(value, datetime):
        if value.time() == datetime.min.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _shorten(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def _tick(value: float, _position) -> str:
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")
