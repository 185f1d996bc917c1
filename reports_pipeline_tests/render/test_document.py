import base64
import re
import subprocess
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pypdf
import pypdfium2 as pdfium
import pytest
from PIL import Image

from reports_pipeline.render import RenderResult, ReportDocument, render_file
from reports_pipeline.render.document import (
    CELL_MAX_CHARS,
    LISTING_ABOVE_CELLS,
    SHOWN_MAX_CHARS,
    render_html,
    render_pdf,
)
from reports_pipeline.spec.report import HtmlOptions, PdfOptions

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

DOCUMENT = ReportDocument(
    name="weekly_revenue",
    title="Weekly revenue by region",
    description="Paid invoices per region, previous week.",
    period_key="2026-10-26",
    period_start=datetime(2026, 10, 26, tzinfo=timezone.utc),
    period_end=datetime(2026, 11, 2, tzinfo=timezone.utc),
    generated_at=datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc),
)


def _revenue() -> pa.RecordBatch:
    return pa.record_batch(
        {
            "region": ["Müller GmbH", "Café Crème", "APAC"],
            "revenue": pa.array([Decimal("1234.50"), Decimal("20"), None], pa.decimal128(12, 2)),
            "orders": [1200, 3, 4],
        }
    )


def _numbered(rows: int, start: int = 0) -> pa.RecordBatch:
    return pa.record_batch(
        {
            "row": [f"row-{i:05d}" for i in range(start, start + rows)],
            "region": ["EMEA" if i % 2 else "APAC" for i in range(start, start + rows)],
            "amount": [1.5] * rows,
        }
    )


def _pdf_text(path: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(path).pages]


def _pdf(tmp_path: Path, batches, document=DOCUMENT, **options) -> Path:
    destination = tmp_path / "report.pdf"
    render_pdf(batches, destination, PdfOptions(**options), document)
    return destination


def _html(tmp_path: Path, batches, document=DOCUMENT, **options) -> str:
    destination = tmp_path / "report.html"
    render_html(batches, destination, HtmlOptions(**options), document)
    return destination.read_text(encoding="utf-8")


def _custom_template(folder: Path, name: str, text: str) -> ReportDocument:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return ReportDocument(**{**DOCUMENT.__dict__, "template_dir": folder})


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of every table cell."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.cells: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "td":
            self.cells.append("")
            self._in_cell = True

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.cells[-1] += data


def _parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


# PDF


def test_pdf_shows_title_period_generation_time_and_description(tmp_path):
    text = _pdf_text(_pdf(tmp_path, [_revenue()]))[0]

    assert "Weekly revenue by region" in text
    assert "2026-10-26 – 2026-11-02 (2026-10-26)" in text
    assert "Generated 2026-11-02 09:00 UTC" in text
    assert "Paid invoices per region, previous week." in text


def test_pdf_summary_counts_rows_and_totals_numeric_columns(tmp_path):
    text = _pdf_text(_pdf(tmp_path, [_revenue(), _revenue()]))[0]

    # revenue: 2 × (1,234.50 + 20), NULLs skipped; orders: 2 × (1,200 + 3 + 4)
    assert "ROWS\n6\nTOTAL REVENUE\n2,509.00\nTOTAL ORDERS\n2,414\n" in text


def test_pdf_renders_accented_text(tmp_path):
    text = _pdf_text(_pdf(tmp_path, [_revenue()]))[0]

    assert "Müller GmbH" in text
    assert "Café Crème" in text


def test_pdf_embeds_its_fonts(tmp_path):
    reader = pypdf.PdfReader(_pdf(tmp_path, [_revenue()]))

    fonts = reader.pages[0]["/Resources"]["/Font"]
    descriptors = [
        font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        if "/DescendantFonts" in font.get_object()
        else font.get_object()["/FontDescriptor"]
        for font in fonts.values()
    ]
    assert descriptors
    assert all("DejaVu" in str(descriptor["/FontName"]) for descriptor in descriptors)
    assert all(
        any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
        for descriptor in descriptors
    )


def test_pdf_above_the_limit_says_how_many_rows_were_left_out(tmp_path):
    path = tmp_path / "report.pdf"

    rows = render_pdf([_numbered(25)], path, PdfOptions(pdf_max_rows=10), DOCUMENT)

    text = "\n".join(_pdf_text(path))
    assert rows == 25
    assert "15 of 25 rows left out" in text
    assert "shows the first 10 rows" in text
    assert "row-00009" in text and "row-00010" not in text
    assert "37.50" in text  # the amount total covers all 25 rows, not the 10 shown


def test_pdf_repeats_the_header_row_on_every_page(tmp_path):
    pages = _pdf_text(_pdf(tmp_path, [_numbered(150)]))

    assert len(pages) >= 3
    assert "\nrow region amount\nrow-00000 APAC 1.50\n" in pages[0]
    for page in pages[1:]:
        assert page.startswith("row region amount\n")


def test_pdf_numbers_its_pages(tmp_path):
    pages = _pdf_text(_pdf(tmp_path, [_numbered(150)]))

    assert f"Page 1 of {len(pages)}" in pages[0]
    assert f"Page {len(pages)} of {len(pages)}" in pages[-1]


def test_pdf_is_a4_portrait_by_default_and_landscape_when_asked(tmp_path):
    portrait = pypdf.PdfReader(_pdf(tmp_path, [_revenue()])).pages[0].mediabox
    landscape_path = tmp_path / "landscape.pdf"
    render_pdf([_revenue()], landscape_path, PdfOptions(orientation="landscape"), DOCUMENT)
    landscape = pypdf.PdfReader(landscape_path).pages[0].mediabox

    assert portrait.height > portrait.width
    assert landscape.width > landscape.height
    assert round(float(landscape.width)) == 842  # A4: 297 mm


def test_pdf_with_a_chart_draws_it_above_the_table(tmp_path):
    plain = _pdf(tmp_path, [_revenue()])
    plain_size = plain.stat().st_size
    charted = _pdf(tmp_path, [_revenue()], chart={"type": "bar", "x": "region", "y": "revenue"})

    reader = pypdf.PdfReader(charted)
    assert len(reader.pages) == 1
    assert "revenue by region" in reader.pages[0].extract_text()
    assert charted.stat().st_size > plain_size + 2_000  # the bars, axes and labels as vectors


def test_pdf_of_many_rows_is_a_listing_with_its_header_on_every_page(tmp_path):
    rows = LISTING_ABOVE_CELLS // 3 + 100
    path = tmp_path / "report.pdf"

    result = render_pdf([_numbered(rows)], path, PdfOptions(), DOCUMENT)

    pages = _pdf_text(path)
    assert result == rows
    assert len(pages) > 2
    for page in pages[1:]:
        assert "row" in page.splitlines()[0] and "amount" in page.splitlines()[0]
    assert any("row-00000  APAC      1.50" in line for line in pages[0].splitlines())
    assert f"row-{rows - 1:05d}" in pages[-1]


def test_pdf_listing_cuts_values_too_long_for_the_page(tmp_path):
    rows = LISTING_ABOVE_CELLS + 1
    batch = pa.record_batch({"note": ["x" * 400] * rows, "n": list(range(rows))})

    text = "\n".join(_pdf_text(_pdf(tmp_path, [batch])))

    assert "cut short" in text
    assert "x" * 400 not in text
    assert "xxx…" in text


def test_pdf_first_page_as_png_for_a_person_to_look_at(tmp_path):
    path = _pdf(tmp_path, [_revenue()], chart={"type": "bar", "x": "region", "y": "revenue"})
    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / "report_pdf_first_page.png"

    document = pdfium.PdfDocument(path)
    document[0].render(scale=1.5).to_pil().save(png)
    document.close()

    with Image.open(png) as image:
        width, height = image.size
        colours = image.convert("L").getextrema()
    assert (width, height) == (893, 1263)  # A4 at 108 dpi
    assert colours[0] < 100 and colours[1] == 255  # dark text on a white page


def test_pdf_without_a_document_is_titled_report(tmp_path):
    text = _pdf_text(_pdf(tmp_path, [_revenue()], document=None))[0]

    assert text.startswith("Report")
    assert "Period" not in text


def test_pdf_of_zero_rows_says_so(tmp_path):
    path = tmp_path / "report.pdf"

    rows = render_pdf([_revenue().slice(0, 0)], path, PdfOptions(), DOCUMENT)

    assert rows == 0
    assert "No rows in this period." in _pdf_text(path)[0]


def test_pdf_needs_at_least_one_batch(tmp_path):
    with pytest.raises(ValueError, match="no record batches"):
        render_pdf([], tmp_path / "report.pdf", PdfOptions(), DOCUMENT)


def test_render_file_dispatches_pdf_and_html(tmp_path):
    pdf = render_file("pdf", [_revenue()], tmp_path / "r.pdf", PdfOptions(), DOCUMENT)
    html = render_file("html", [_revenue()], tmp_path / "r.html", HtmlOptions(), DOCUMENT)

    assert pdf == html == RenderResult(rows=3)
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF-")
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


# HTML


def test_html_is_self_contained(tmp_path):
    html = _html(tmp_path, [_revenue()], chart={"type": "bar", "x": "region", "y": "revenue"})

    tags = _parse(html).tags
    assert not [tag for tag, _ in tags if tag in ("link", "script", "img", "iframe")]
    assert not [attrs for _, attrs in tags if "src" in attrs]
    links = [value for _, attrs in tags for name, value in attrs.items() if name.endswith("href")]
    assert links and all(link.startswith("#") for link in links)  # the chart's own parts
    assert not re.search(r"url\((?!#)", html)
    assert "<style>" in html


def test_html_inlines_the_chart_as_svg(tmp_path):
    html = _html(tmp_path, [_revenue()], chart={"type": "bar", "x": "region", "y": "revenue"})

    assert html.count("<svg") == 1
    assert "<?xml" not in html


def test_html_escapes_data_values(tmp_path):
    batch = pa.record_batch({"name": ['<script>alert("x")</script>', "Tom & Jerry"]})

    html = _html(tmp_path, [batch], chart=None)

    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert _parse(html).cells == ['<script>alert("x")</script>', "Tom & Jerry"]


def test_html_escapes_data_values_in_the_chart(tmp_path):
    batch = pa.record_batch({"name": ["--><script>alert(1)</script>"], "n": [1]})

    html = _html(tmp_path, [batch], chart={"type": "bar", "x": "name", "y": "n"})

    assert "<script" not in html


def test_html_formats_numbers_dates_and_nulls_for_reading(tmp_path):
    batch = pa.record_batch(
        {
            "count": [1234567, None],
            "ratio": [0.5, 1234.567],
            "amount": pa.array([Decimal("1234.5"), None], pa.decimal128(10, 2)),
            "day": [date(2025, 1, 2), None],
            "at": [datetime(2025, 1, 2, 3, 4, 5), None],
            "paid": [True, None],
            "customer_id": [1234567, 1234568],
        }
    )

    cells = _parse(_html(tmp_path, [batch])).cells

    assert cells[:7] == [
        "1,234,567",
        "0.50",
        "1,234.50",
        "2025-01-02",
        "2025-01-02 03:04:05",
        "true",
        "1234567",
    ]
    assert cells[7:] == ["", "1,234.57", "", "", "", "", "1234568"]


def test_html_totals_cover_every_row_but_not_identifiers(tmp_path):
    batches = [_numbered(3), _numbered(2, start=3)]
    batches = [
        batch.append_column("region_id", pa.array([7] * batch.num_rows)) for batch in batches
    ]

    html = _html(tmp_path, batches)

    assert "<dt>Total amount</dt><dd>7.50</dd>" in html
    assert "Total region_id" not in html


def test_html_above_the_limit_shows_the_first_rows_and_says_how_many_were_left_out(tmp_path):
    path = tmp_path / "report.html"

    rows = render_html(
        (_numbered(10, start) for start in range(0, 30, 10)), path, HtmlOptions(max_rows=12)
    )

    html = path.read_text(encoding="utf-8")
    assert rows == 30
    assert html.count("<tr") == 13  # the header and 12 rows
    assert "18 of 30 rows left out" in html
    assert "<dt>Total amount</dt><dd>45.00</dd>" in html


# Long values


def test_html_shows_the_start_of_a_long_value_and_says_it_was_truncated(tmp_path):
    batch = pa.record_batch({"note": ["x" * 5_000, "short"], "bytes": [b"\x01" * 600, None]})

    cells = [cell for cell in _parse(_html(tmp_path, [batch])).cells if cell]

    assert cells[0] == "x" * CELL_MAX_CHARS + "… (truncated)"
    assert cells[1] == "01" * (CELL_MAX_CHARS // 2) + "… (truncated)"
    assert cells[2] == "short"


def test_pdf_wraps_a_long_value_in_its_column_and_keeps_every_column_on_the_page(tmp_path):
    # No spaces to break at: the automatic table layout gave such a value the whole line.
    batch = pa.record_batch(
        {"id": [1], "note": ["x" * 5_000], "city": ["Zaragoza"], "amount": [12.5]}
    )

    page = pdfium.PdfDocument(_pdf(tmp_path, [batch]))[0]
    text = page.get_textpage()
    content = text.get_text_range()

    assert "(truncated)" in content
    for value in ("Zaragoza", "12.50", "amount"):
        start = content.index(value)
        right = max(text.get_charbox(start + i)[2] for i in range(len(value)))
        assert right < page.get_width(), value


def test_html_sets_column_widths_so_a_long_value_wraps_in_its_column(tmp_path):
    batch = pa.record_batch({"id": [1], "note": ["x" * 5_000], "city": ["Zaragoza"]})

    html = _html(tmp_path, [batch])

    widths = [
        float(attrs["style"].removeprefix("width: ").removesuffix("%"))
        for tag, attrs in _parse(html).tags
        if tag == "col"
    ]
    assert "table.grid { table-layout: fixed; }" in html
    assert len(widths) == 3 and abs(sum(widths) - 100) < 0.1
    assert widths[1] < 80 and widths[2] > 15  # the long value does not take the line


def test_pdf_of_long_values_past_the_listing_threshold_is_a_listing(tmp_path):
    batch = pa.record_batch({"note": ["word " * 300] * 200, "n": list(range(200))})

    text = "\n".join(_pdf_text(_pdf(tmp_path, [batch])))

    assert "cut short" in text  # the listing's note: 200 rows of 1,500 characters
    assert "(truncated)" not in text


def test_pdf_listing_cuts_long_wide_characters_to_the_page_in_one_pass(tmp_path):
    rows = LISTING_ABOVE_CELLS // 2 + 1
    batch = pa.record_batch({"name": ["東京" * 100_000] * rows, "n": list(range(rows))})

    page = pdfium.PdfDocument(_pdf(tmp_path, [batch]))[0]  # pypdf misreads the CJK font
    lines = page.get_textpage().get_text_range().splitlines()

    first = next(line for line in lines if line.startswith("東京"))
    assert first.endswith("… 0")
    assert len(first) < 100  # cut to the page (each character two columns wide), not to 1,000


def test_a_page_keeps_at_most_so_many_characters_and_says_rows_were_left_out(tmp_path):
    rows = SHOWN_MAX_CHARS // CELL_MAX_CHARS + 50
    batch = pa.record_batch({"note": pa.array(["y" * 2_000] * rows, pa.large_string())})
    path = tmp_path / "report.html"

    render_html([batch], path, HtmlOptions(max_rows=100_000))

    html = path.read_text(encoding="utf-8")
    assert html.count("<tr") == 1 + SHOWN_MAX_CHARS // (CELL_MAX_CHARS + 1)
    assert f"{rows - SHOWN_MAX_CHARS // (CELL_MAX_CHARS + 1):,} of {rows:,} rows left out" in html
    assert "most 20,000,000 characters" in html


# Templates


def test_a_report_template_is_used_and_may_extend_the_default(tmp_path):
    document = _custom_template(
        tmp_path / "reports",
        "branded.html.j2",
        '{% extends "report.html.j2" %}{% block header %}<h1>ACME · {{ title }}</h1>{% endblock %}',
    )

    pdf = _pdf(tmp_path, [_revenue()], document=document, template="branded.html.j2")

    text = _pdf_text(pdf)[0]
    assert "ACME · Weekly revenue by region" in text
    assert "Müller GmbH" in text


def test_a_standalone_template_sees_the_documented_variables(tmp_path):
    document = _custom_template(
        tmp_path / "reports",
        "mini.html.j2",
        "{{ name }}|{{ period.key }}|{{ columns | join(',') }}|{{ total_rows }}|{{ shown_rows }}"
        "|{{ left_out }}|{{ totals.orders }}|{{ rows[0] | join(';') }}|{{ chart_svg is none }}"
        "|{{ generated_at | date('%d.%m.%Y') }}|{{ description }}",
    )

    html = _html(tmp_path, [_revenue()], document=document, template="mini.html.j2", max_rows=1)

    assert html == (
        "weekly_revenue|2026-10-26|region,revenue,orders|3|1|2|1,207|Müller GmbH;1,234.50;1,200"
        "|True|02.11.2026|Paid invoices per region, previous week."
    )


def test_a_template_outside_the_report_folder_is_refused(tmp_path):
    (tmp_path / "secret.html.j2").write_text("{{ title }}", encoding="utf-8")
    document = _custom_template(tmp_path / "reports", "ok.html.j2", "")

    with pytest.raises(ValueError, match=r"'\.\./secret\.html\.j2' is outside the report's folder"):
        _html(tmp_path, [_revenue()], document=document, template="../secret.html.j2")


def test_a_missing_template_is_named_in_the_error(tmp_path):
    document = _custom_template(tmp_path / "reports", "ok.html.j2", "")

    with pytest.raises(ValueError, match=r"format_options.template: no file 'nope.html.j2'"):
        _html(tmp_path, [_revenue()], document=document, template="nope.html.j2")


def test_templates_run_in_the_sandbox(tmp_path):
    document = _custom_template(
        tmp_path / "reports", "evil.html.j2", "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    )

    with pytest.raises(ValueError, match=r"format_options.template: 'evil.html.j2'"):
        _html(tmp_path, [_revenue()], document=document, template="evil.html.j2")


def test_a_template_syntax_error_names_file_and_line(tmp_path):
    document = _custom_template(tmp_path / "reports", "broken.html.j2", "<p>\n{% if %}\n")

    with pytest.raises(ValueError, match=r"'broken.html.j2', line 2"):
        _html(tmp_path, [_revenue()], document=document, template="broken.html.j2")


# Chart options


def test_a_chart_column_that_does_not_exist_is_named(tmp_path):
    with pytest.raises(ValueError) as error:
        _pdf(tmp_path, [_revenue()], chart={"type": "bar", "x": "foo", "y": "revenue"})

    assert str(error.value) == (
        "format_options.chart.x: no column 'foo' in the result; columns: region, revenue, orders"
    )


def test_a_wrong_chart_column_fails_before_the_result_is_read(tmp_path):
    def batches():
        yield _revenue()
        raise AssertionError("the second batch was read")

    with pytest.raises(ValueError, match="format_options.chart.y: no column 'profit'"):
        _html(tmp_path, batches(), chart={"type": "line", "x": "region", "y": "profit"})


def test_a_chart_needs_numbers_on_its_y_axis(tmp_path):
    with pytest.raises(ValueError, match="format_options.chart.y: column 'region' holds string"):
        _html(tmp_path, [_revenue()], chart={"type": "bar", "x": "orders", "y": "region"})


def test_importing_the_renderers_loads_neither_weasyprint_nor_matplotlib():
    code = (
        "import sys, reports_pipeline.render.document, reports_pipeline.render.chart;"
        "print(sorted(m for m in ('weasyprint', 'matplotlib') if m in sys.modules))"
    )

    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout

    assert output.strip() == "[]"


def _images(path: Path) -> int:
    return sum(len(page.images) for page in pypdf.PdfReader(path).pages)


def test_a_pdf_template_may_embed_data_images_but_loads_no_files(tmp_path):
    png = tmp_path / "logo.png"
    Image.new("RGB", (4, 4), "red").save(png)
    inline = "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode()
    document = _custom_template(
        tmp_path / "reports",
        "logo.html.j2",
        f'<img src="{inline}"><img src="{png.as_uri()}"><img src="http://127.0.0.1:9/x.png">',
    )

    path = _pdf(tmp_path, [_revenue()], document=document, template="logo.html.j2")

    assert _images(path) == 1
