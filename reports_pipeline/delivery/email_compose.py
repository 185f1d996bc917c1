"""The words of a report e-mail: subject, plain text, HTML with a preview, attach or link."""

from dataclasses import dataclass
from html import escape

from reports_pipeline.delivery.errors import PermanentDeliveryError
from reports_pipeline.delivery.request import DeliveryRequest
from reports_pipeline.render.cell_cap import cap_cell
from reports_pipeline.render.preview import PREVIEW_CELL_CHARS, PREVIEW_ROWS
from reports_pipeline.templating import render_template

DEFAULT_BODY = (
    "{{ title }}\n\nPeriod: {{ period.start | date('%Y-%m-%d %H:%M') }} to "
    "{{ period.end | date('%Y-%m-%d %H:%M') }} ({{ period.key }})\nRows: {{ rows }}\n"
)


@dataclass(frozen=True)
class ComposedEmail:
    subject: str
    text: str
    html: str
    attach: bool
    link: str | None


def _preview_table(request: DeliveryRequest) -> str:
    if request.preview is None or not request.preview.columns:
        return ""
    head = "".join(f"<th>{escape(c)}</th>" for c in request.preview.columns)
    # The preview is capped where it is taken; capped again here, so that whatever a run
    # recorded, the message stays a glance: PREVIEW_ROWS rows, PREVIEW_CELL_CHARS per cell.
    rows = request.preview.rows[:PREVIEW_ROWS]
    body = "".join(
        "<tr>"
        + "".join(f"<td>{escape(cap_cell(v, PREVIEW_CELL_CHARS))}</td>" for v in row)
        + "</tr>"
        for row in rows
    )
    shown = len(rows)
    more = f"<p>First {shown} of {request.rows} rows.</p>" if request.rows > shown else ""
    return (
        '<table style="border-collapse:collapse;font-size:13px" border="1" cellpadding="4">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"
    )


def one_line(text: str) -> str:
    """A subject on one line: a line break that a value brings in (a parameter, a title from
    the data) becomes a space. Validation refuses one written in the template itself; here it
    would otherwise fail the send on every attempt (headers cannot hold line breaks)."""
    return " ".join(text.split())


def compose_email(
    request: DeliveryRequest, *, subject: str, body: str | None, attach: str, inline: bool = False
) -> ComposedEmail:
    """Render the analyst's templates and decide between attaching the file and linking to it.

    ``attach``: ``always`` attaches whatever the size; ``link`` always links; ``auto`` attaches
    under the size limit and links above it. A link that is needed but not available is a
    permanent error: the message would be useless.
    """
    use_link = attach == "link" or (attach == "auto" and request.too_large_to_attach)
    if use_link and not request.download_url:
        raise PermanentDeliveryError(
            f"the file is {request.bytes / 1048576:.1f} MB, over policy.max_attachment_mb, and "
            "there is no download link: set storage.public_base_url or add an s3 target"
        )
    text = render_template(body if body is not None else DEFAULT_BODY, request.variables)
    link = request.download_url if use_link else None
    if link:
        text += f"\nDownload: {link}\n"
    elif not text.rstrip().endswith("attached."):
        text += f"\nThe report is attached ({request.file_name}).\n"
    period = request.period
    file_line = (
        f'<p><a href="{escape(link)}">Download {escape(request.file_name)}</a></p>'
        if link
        else f"<p>The report is attached ({escape(request.file_name)}).</p>"
    )
    html = (
        '<!doctype html><html><body style="font-family:Helvetica,Arial,sans-serif">'
        f"<h2>{escape(request.title)}</h2>"
        f"<p>Period {escape(period.key)}: {escape(period.start.strftime('%Y-%m-%d %H:%M'))} to "
        f"{escape(period.end.strftime('%Y-%m-%d %H:%M'))}<br>Rows: {request.rows}</p>"
        f'<pre style="font-family:inherit">{escape(text)}</pre>'
        f"{_preview_table(request)}{file_line}</body></html>"
    )
    if inline and request.content_type == "text/html":
        # The rendered HTML report is self-contained (inline CSS and SVG), so it can be the body.
        html = request.file.read_text(encoding="utf-8")
    return ComposedEmail(
        subject=one_line(render_template(subject, request.variables)),
        text=text,
        html=html,
        attach=not use_link,
        link=link,
    )
