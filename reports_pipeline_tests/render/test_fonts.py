"""PDF and HTML reports show text in any script: Latin, CJK and emoji as glyphs, never boxes."""

import io
import os
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pypdf
import pypdfium2 as pdfium
import pytest
from fontTools.ttLib import TTFont
from PIL import Image
from pypdf.generic import ByteStringObject, ContentStream, TextStringObject

from reports_pipeline.render import ReportDocument
from reports_pipeline.render.document import render_html, render_pdf
from reports_pipeline.render.fonts import MONO, SANS
from reports_pipeline.spec.report import HtmlOptions, PdfOptions

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FONT_PACKAGES = {"Noto Sans CJK": "fonts-noto-cjk", "Noto Color Emoji": "fonts-noto-color-emoji"}
LABELS = ["日本語 テスト", "中文 报告", "한국어 보고서", "😀 🚀 emoji", "Müller Ελλάδα Москва"]
DOCUMENT = ReportDocument(
    name="world_sales",
    title="売上 · 销售 · 매출 📈",
    description="",
    period_key="2026-10-26",
    period_start=datetime(2026, 10, 26, tzinfo=timezone.utc),
    period_end=datetime(2026, 11, 2, tzinfo=timezone.utc),
    generated_at=datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc),
)


@pytest.fixture(scope="module", autouse=True)
def _fonts_installed():
    """Skip without the Debian font packages, except in CI (``CI=true``): there, fail."""
    families = subprocess.run(
        ["fc-list", ":", "family"], capture_output=True, text=True, check=True
    ).stdout
    missing = [package for font, package in FONT_PACKAGES.items() if font not in families]
    if missing:
        message = f"fonts missing: `apt-get install {' '.join(missing)}` (make install does it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def _batch(labels=LABELS) -> pa.RecordBatch:
    return pa.record_batch({"label": labels, "amount": list(range(1, len(labels) + 1))})


def _pdf(tmp_path: Path, batch: pa.RecordBatch, **options) -> Path:
    path = tmp_path / "report.pdf"
    render_pdf([batch], path, PdfOptions(**options), DOCUMENT)
    return path


def _font_glyphs(path: Path) -> dict[str, tuple[int, dict[int, str]]]:
    """For every font the pages draw with: its glyph count and the glyphs drawn, with their text.

    The glyphs are read from the text operators of the pages and of the forms they draw (the
    chart); their text from each font's ToUnicode map; the glyph count from the embedded font
    file (every real glyph id is below it).
    """
    reader = pypdf.PdfReader(path)
    fonts: dict[str, tuple[int, dict[int, str]]] = {}

    def walk(contents, resources) -> None:
        font = None
        for operands, operator in ContentStream(contents, reader).operations:
            if operator == b"Tf":
                font = _font(resources["/Font"][operands[0]].get_object(), fonts)
            elif operator in (b"Tj", b"'", b'"', b"TJ"):
                strings = operands[-1] if operator == b"TJ" else operands[-1:]
                for string in strings:  # TJ's numbers are spacing
                    if isinstance(string, (ByteStringObject, TextStringObject)):
                        data = string.original_bytes
                        for index in range(0, len(data), 2):  # Identity-H: 2-byte glyph ids
                            glyph = int.from_bytes(data[index : index + 2], "big")
                            font[1].setdefault(glyph, font[2].get(glyph, "?"))
            elif operator == b"Do":
                xobject = resources["/XObject"][operands[0]].get_object()
                if xobject["/Subtype"] == "/Form":
                    walk(xobject, xobject.get("/Resources", resources))

    for page in reader.pages:
        walk(page.get_contents(), page["/Resources"])
    return fonts


def _font(font, fonts: dict) -> tuple[int, dict[int, str], dict[int, str]]:
    """(glyph count, glyphs drawn so far, ToUnicode map) of a Type0 font, kept in ``fonts``."""
    name = str(font["/BaseFont"]).split("+", 1)[-1]  # without the subset's tag
    if name not in fonts:
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        embedded = next(  # StopIteration: a font not embedded
            descriptor[key]
            for key in ("/FontFile2", "/FontFile3", "/FontFile")
            if key in descriptor
        )
        count = TTFont(io.BytesIO(embedded.get_object().get_data()))["maxp"].numGlyphs
        fonts[name] = (count, {})
    cmap = font["/ToUnicode"].get_object().get_data().decode("ascii")
    unicode = {
        int(glyph, 16): bytes.fromhex(text).decode("utf-16-be")
        for glyph, text in re.findall(r"<([0-9a-f]{4})> <([0-9a-f]+)>", cmap)
    }
    return fonts[name][0], fonts[name][1], unicode


def _missing_glyphs(path: Path) -> list[str]:
    """The characters drawn with no glyph: glyph 0 (.notdef) or an id past the font's glyphs.

    Pango gives a character that no installed font has an "unknown glyph" id; WeasyPrint
    writes it as a glyph past the end of the font, which viewers draw as a box or nothing.
    """
    return [
        f"{text!r} in {name}"
        for name, (count, used) in _font_glyphs(path).items()
        for glyph, text in used.items()
        if glyph == 0 or glyph >= count
    ]


def test_the_font_stack_names_latin_then_cjk_faces():
    assert SANS[0] == "DejaVu Sans" and MONO[0] == "DejaVu Sans Mono"
    assert {"Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK KR"} <= set(SANS)


def test_pdf_draws_cjk_and_emoji_with_embedded_noto_fonts(tmp_path):
    path = _pdf(tmp_path, _batch())

    fonts = _font_glyphs(path)
    assert any(name.startswith("DejaVu-Sans") for name in fonts)
    assert any(name.startswith("Noto-Sans-CJK") for name in fonts), fonts.keys()
    assert any(name.startswith("Noto-Color-Emoji") for name in fonts), fonts.keys()
    drawn = {char for _, used in fonts.values() for text in used.values() for char in text}
    for char in "日本語テスト中文报告한국어보고서😀🚀📈":
        assert char in drawn, char
    assert _missing_glyphs(path) == []


def test_emoji_font_draws_only_emoji(tmp_path):
    # Digits and spaces come from DejaVu Sans, not from the emoji font (which has them too).
    fonts = _font_glyphs(_pdf(tmp_path, _batch()))

    emoji = {text for name, (_, used) in fonts.items() if "Emoji" in name for text in used.values()}
    assert emoji and emoji <= {"😀", "🚀", "📈"}


def test_pdf_text_in_every_script_extracts_back(tmp_path):
    text = pypdf.PdfReader(_pdf(tmp_path, _batch())).pages[0].extract_text()

    for label in LABELS:
        assert label in text
    assert "売上 · 销售 · 매출 📈" in text


def test_a_chart_draws_its_cjk_and_emoji_labels_as_text_in_the_report_fonts(tmp_path):
    path = _pdf(tmp_path, _batch(), chart={"type": "bar", "x": "label", "y": "amount"})

    text = pypdf.PdfReader(path).pages[0].extract_text()
    assert text.count("中文 报告") == 2  # the chart's label and the table's cell
    assert text.count("😀 🚀 emoji") == 2
    assert _missing_glyphs(path) == []


def test_a_listing_draws_cjk_and_emoji(tmp_path):
    labels = LABELS * 700  # past the 3,000 cells a table holds

    path = _pdf(tmp_path, _batch(labels))

    fonts = _font_glyphs(path)
    assert any(name.startswith("DejaVu-Sans-Mono") for name in fonts)
    assert any(name.startswith("Noto-Sans-Mono-CJK") for name in fonts), fonts.keys()
    assert any(name.startswith("Noto-Color-Emoji") for name in fonts), fonts.keys()
    assert _missing_glyphs(path) == []


def test_a_character_no_font_has_is_found(tmp_path):
    # U+10FFFD: a private use character no font draws; the check above must not miss it.
    path = _pdf(tmp_path, _batch(["日本語", "plain \U0010fffd"]))

    assert _missing_glyphs(path) == ["'\\U0010fffd' in DejaVu-Sans"]


def test_pdf_page_as_png_for_a_person_to_look_at(tmp_path):
    path = _pdf(tmp_path, _batch(), chart={"type": "bar", "x": "label", "y": "amount"})
    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / "report_pdf_any_script.png"

    document = pdfium.PdfDocument(path)
    document[0].render(scale=1.5).to_pil().save(png)
    document.close()

    with Image.open(png) as image:
        colours = {colour for _, colour in image.convert("RGB").getcolors(1 << 20)}
    # The emoji are drawn in colour: the yellow of 😀's face is on the page.
    assert any(red > 200 and green > 150 and blue < 80 for red, green, blue in colours)


def test_html_names_the_font_stack_for_text_and_chart(tmp_path):
    destination = tmp_path / "report.html"
    render_html(
        [_batch()],
        destination,
        HtmlOptions(chart={"type": "bar", "x": "label", "y": "amount"}),
        DOCUMENT,
    )

    html = destination.read_text(encoding="utf-8")
    stack = '"DejaVu Sans", "Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK KR", sans-serif'
    assert f"font-family: {stack};" in html
    assert f"font-family: {stack.replace(chr(34), chr(39))};" in html  # the chart's <text>
    assert "<td>😀 🚀 emoji</td>" in html
    assert ">😀 🚀 emoji</text>" in html
