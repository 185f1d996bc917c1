from datetime import datetime, timezone
from pathlib import Path

from reports_pipeline.delivery.email_compose import compose_email
from reports_pipeline.delivery.request import DeliveryRequest, Preview
from reports_pipeline.render.preview import PREVIEW_CELL_CHARS, PREVIEW_ROWS
from reports_pipeline.templating import PeriodContext

PERIOD = PeriodContext(
    start=datetime(2026, 10, 26, tzinfo=timezone.utc),
    end=datetime(2026, 11, 2, tzinfo=timezone.utc),
    key="2026-10-26",
)


def _request(preview: Preview, rows: int) -> DeliveryRequest:
    return DeliveryRequest(
        report="weekly_notes",
        title="Weekly notes",
        period=PERIOD,
        file=Path("weekly_notes_2026-10-26.csv"),
        file_name="weekly_notes_2026-10-26.csv",
        content_type="text/csv",
        sha256="0" * 64,
        bytes=100,
        rows=rows,
        variables={"title": "Weekly notes", "period": PERIOD, "rows": rows},
        preview=preview,
    )


def _compose(request: DeliveryRequest) -> str:
    return compose_email(request, subject="{{ title }}", body=None, attach="always").html


def test_the_preview_table_shows_the_rows_escaped_and_says_how_many_there_are():
    preview = Preview(columns=["name"], rows=[["<b>Tom & Jerry</b>"], ["Ann"]])

    html = _compose(_request(preview, rows=40))

    assert "<td>&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;</td>" in html
    assert "First 2 of 40 rows." in html


def test_the_preview_caps_every_cell_and_the_row_count_whatever_it_is_given():
    # A preview recorded without caps (by an older run) still makes a short message.
    preview = Preview(columns=["note"], rows=[["x" * 1_000_000]] * (PREVIEW_ROWS + 90))

    html = _compose(_request(preview, rows=PREVIEW_ROWS + 90))

    assert html.count("<td>") == PREVIEW_ROWS
    assert f"<td>{'x' * PREVIEW_CELL_CHARS}… (truncated)</td>" in html
    assert len(html) < 5_000 + PREVIEW_ROWS * (PREVIEW_CELL_CHARS + 40)
    assert f"First {PREVIEW_ROWS} of {PREVIEW_ROWS + 90} rows." in html


def test_a_line_break_brought_in_by_a_value_becomes_a_space_in_the_subject():
    # Validation refuses a break in the template; a parameter or title value can still bring
    # one, and a header cannot hold it (nor must it let a value add a Bcc: header).
    request = _request(Preview(columns=[], rows=[]), rows=0)
    for value in ["Weekly\nnotes", "Weekly\r\nBcc: x@evil.example", "Weekly\u2028notes\t "]:
        request.variables["title"] = value
        subject = compose_email(request, subject="{{ title }}", body=None, attach="always").subject
        assert "\n" not in subject and "\r" not in subject and "\u2028" not in subject
        assert subject.startswith("Weekly ")
