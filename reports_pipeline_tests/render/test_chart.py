import xml.etree.ElementTree as ElementTree
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pyarrow as pa
import pytest

from reports_pipeline.render.chart import (
    COLOR,
    MAX_BARS,
    _installed,
    check_chart_columns,
    render_chart_svg,
)
from reports_pipeline.spec.report import ChartOptions

SVG = "{http://www.w3.org/2000/svg}"
SCHEMA = pa.schema([("region", pa.string()), ("revenue", pa.decimal128(12, 2))])


def _bars(svg: str) -> int:
    paths = ElementTree.fromstring(svg).iter(f"{SVG}path")
    return sum(1 for path in paths if f"fill: {COLOR}" in path.get("style", ""))


def _texts(svg: str) -> list[str]:
    return [text.text for text in ElementTree.fromstring(svg).iter(f"{SVG}text")]


def test_the_svg_is_one_inline_element_without_declaration_or_metadata():
    svg = render_chart_svg(ChartOptions(type="bar", x="region", y="revenue"), ["a"], [1])

    assert svg.startswith("<svg")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg and "<metadata>" not in svg
    ElementTree.fromstring(svg)  # well-formed


def test_the_same_data_gives_the_same_svg():
    chart = ChartOptions(type="line", x="day", y="n")
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(30)]

    assert render_chart_svg(chart, days, range(30)) == render_chart_svg(chart, days, range(30))


def test_bars_sum_rows_of_the_same_category():
    chart = ChartOptions(type="bar", x="region", y="revenue")

    svg = render_chart_svg(chart, ["EMEA", "APAC", "EMEA"], [Decimal("1.5"), 2, 3])

    assert _bars(svg) == 2
    assert "EMEA" in _texts(svg) and "APAC" in _texts(svg)


def test_bars_stop_at_the_limit_and_say_so():
    chart = ChartOptions(type="bar", x="customer", y="revenue")
    customers = [f"customer {i}" for i in range(MAX_BARS + 50)]

    svg = render_chart_svg(chart, customers, [1] * len(customers))

    assert _bars(svg) == MAX_BARS
    assert f"The first {MAX_BARS} of {MAX_BARS + 50} values of customer" in svg


def test_rows_with_null_x_or_y_are_skipped():
    chart = ChartOptions(type="bar", x="region", y="revenue")

    svg = render_chart_svg(chart, ["EMEA", None, "APAC"], [1, 2, None])

    assert _bars(svg) == 1


def test_labels_are_escaped():
    chart = ChartOptions(type="bar", x="name", y="n")

    svg = render_chart_svg(chart, ["--><script>alert(1)</script>"], [1])

    assert "<script" not in svg
    assert "--><script>alert(…" in _texts(svg)  # as text, shortened to 18 characters


def test_a_line_over_text_categories_is_drawn():
    chart = ChartOptions(type="line", x="region", y="revenue")

    svg = render_chart_svg(chart, ["EMEA", "APAC"], [1.0, 2.0])

    assert "EMEA" in _texts(svg)


def test_no_values_draws_an_empty_chart_that_says_so():
    chart = ChartOptions(type="line", x="day", y="n")

    svg = render_chart_svg(chart, [None], [None])

    assert "No values to chart" in _texts(svg)


def test_chart_columns_must_exist():
    chart = ChartOptions(type="bar", x="country", y="revenue")

    with pytest.raises(ValueError) as error:
        check_chart_columns(chart, SCHEMA)

    assert str(error.value) == (
        "format_options.chart.x: no column 'country' in the result; columns: region, revenue"
    )


def test_the_y_column_must_hold_numbers():
    chart = ChartOptions(type="bar", x="revenue", y="region")

    with pytest.raises(ValueError, match="holds string, not numbers; numeric columns: revenue"):
        check_chart_columns(chart, SCHEMA)


def test_an_all_null_y_column_is_accepted():
    chart = ChartOptions(type="bar", x="region", y="later")

    check_chart_columns(chart, SCHEMA.append(pa.field("later", pa.null())))


def test_the_chart_lays_text_out_with_the_installed_fonts_of_the_stack_only():
    # matplotlib warns on every label about a family it cannot find.
    fonts = SimpleNamespace(
        ttflist=[SimpleNamespace(name=name) for name in ("Noto Sans CJK SC", "DejaVu Sans", "X")]
    )

    assert _installed(fonts) == ["DejaVu Sans", "Noto Sans CJK SC"]
