"""The owners' digest, composed: what each owner's reports did over a window, as one e-mail
(text and HTML) per owner. Pure: facts in (``digest_facts.py`` reads them from the instance),
e-mails out; the ``reports_digest`` job sends them.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from reports_pipeline.delivery.success_notice import size_text
from reports_pipeline.health import NextRun

# A digest is read, not searched: past these, the e-mail says how many runs were left out, and
# that more runs follow (the health lists a bounded number of next runs, not all of a week's).
MAX_RUNS_SHOWN = 20
MAX_NEXT_RUNS_SHOWN = 10


@dataclass(frozen=True)
class DigestRun:
    """A finished run in the window: ``status`` is success, failure or canceled."""

    run_id: str
    period: str | None
    status: str
    finished_at: datetime
    causes: tuple[str, ...] = ()  # a failure's root cause per failed step


@dataclass(frozen=True)
class LateTick:
    """A due period that had no successful run within its grace: delivered late, or not yet."""

    period: str
    due: datetime
    delivered_at: datetime | None = None


@dataclass(frozen=True)
class StoredSize:
    """The last stored file: its period, rows and bytes (the ``persist`` step's metadata)."""

    period: str | None
    rows: int | None
    size_bytes: int | None


@dataclass(frozen=True)
class DigestReport:
    """One report as its owner's digest shows it."""

    name: str
    title: str
    owner: str
    cadence: str  # "every week on monday at 08:00 America/New_York"
    state: str  # running or stopped
    health: str  # ok, late or failing
    runs: tuple[DigestRun, ...] = ()  # finished in the window, any order
    late: tuple[LateTick, ...] = ()
    last_file: StoredSize | None = None
    next_runs: tuple[NextRun, ...] = ()  # the health's next runs


@dataclass(frozen=True)
class DigestEmail:
    owner: str
    subject: str
    text: str
    html: str
    reports: list[str] = field(default_factory=list)


def _when(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%a %Y-%m-%d %H:%M}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _short(run_id: str) -> str:
    return run_id[:8]


def _run_line(run: DigestRun, zone: ZoneInfo) -> str:
    finished = _when(run.finished_at, zone)
    line = f"{run.status} {run.period or '-'} at {finished} (run {_short(run.run_id)})"
    return line + "".join(f"\n      {cause}" for cause in run.causes)


def _late_line(late: LateTick, zone: ZoneInfo) -> str:
    outcome = (
        f"delivered {_when(late.delivered_at, zone)}" if late.delivered_at else "not delivered"
    )
    return f"{late.period}: due {_when(late.due, zone)}, {outcome}"


def _newest_first(report: DigestReport) -> list[DigestRun]:
    return sorted(report.runs, key=lambda r: (r.finished_at, r.run_id), reverse=True)


def _tally(report: DigestReport) -> str:
    by_status: dict[str, int] = {}
    for run in report.runs:
        by_status[run.status] = by_status.get(run.status, 0) + 1
    if not by_status:
        return "no runs"
    words = {"success": "succeeded", "failure": "failed", "canceled": "canceled"}
    return ", ".join(
        f"{by_status[status]} {words[status]}" for status in words if status in by_status
    )


def _report_text(report: DigestReport, zone: ZoneInfo) -> list[str]:
    lines = [
        f"{report.title} ({report.name}): {report.health}",
        f"  {report.cadence}; schedule {report.state}",
        f"  Runs: {_tally(report)}",
    ]
    runs = _newest_first(report)
    lines += [f"    - {_run_line(run, zone)}" for run in runs[:MAX_RUNS_SHOWN]]
    if len(runs) > MAX_RUNS_SHOWN:
        lines.append(f"    ... and {len(runs) - MAX_RUNS_SHOWN} earlier")
    if report.late:
        lines.append(f"  Late: {_count(len(report.late), 'period')}")
        lines += [f"    - {_late_line(late, zone)}" for late in report.late]
    if report.last_file:
        stored = report.last_file
        lines.append(
            f"  Last file: {stored.period or '-'}, {size_text(stored.rows, stored.size_bytes)}"
        )
    else:
        lines.append("  Last file: none stored yet")
    upcoming = report.next_runs
    if upcoming:
        shown = ", ".join(
            f"{_when(run.tick, zone)} ({run.period})" for run in upcoming[:MAX_NEXT_RUNS_SHOWN]
        )
        more = " and more" if len(upcoming) > MAX_NEXT_RUNS_SHOWN else ""
        lines.append(f"  Next runs: {shown}{more}")
    else:
        lines.append("  Next runs: none in the coming days")
    return lines


_STYLE = (
    "font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222",
    "border-collapse:collapse;margin:4px 0 16px 0",
    "border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top",
)
_HEALTH_COLOURS = {"ok": "#1a7f37", "late": "#9a6700", "failing": "#cf222e"}


def _cell(value: str, header: bool = False) -> str:
    tag = "th" if header else "td"
    return f'<{tag} style="{_STYLE[2]}">{value}</{tag}>'


def _report_html(report: DigestReport, zone: ZoneInfo, ui_base_url: str) -> str:
    colour = _HEALTH_COLOURS.get(report.health, "#222")
    parts = [
        f"<h3>{escape(report.title)} <small>({escape(report.name)})</small> "
        f'<span style="color:{colour}">{escape(report.health)}</span></h3>',
        f"<p>{escape(report.cadence)}; schedule {escape(report.state)}. "
        f"Runs: {escape(_tally(report))}.</p>",
    ]
    runs = _newest_first(report)[:MAX_RUNS_SHOWN]
    if runs:
        rows = [
            "<tr>" + "".join(_cell(h, True) for h in ("Run", "Period", "Result", "Finished")),
            *(
                "<tr>"
                + _cell(
                    f'<a href="{escape(ui_base_url)}/runs/{escape(run.run_id)}">'
                    f"{escape(_short(run.run_id))}</a>"
                )
                + _cell(escape(run.period or "-"))
                + _cell(
                    escape(run.status) + "".join(f"<br>{escape(cause)}" for cause in run.causes)
                )
                + _cell(escape(_when(run.finished_at, zone)))
                + "</tr>"
                for run in runs
            ),
        ]
        parts.append(f'<table style="{_STYLE[1]}">{"".join(rows)}</table>')
    if report.late:
        items = "".join(f"<li>{escape(_late_line(late, zone))}</li>" for late in report.late)
        parts.append(f"<p>Late periods:</p><ul>{items}</ul>")
    stored = report.last_file
    parts.append(
        f"<p>Last file: {escape(stored.period or '-')}, "
        f"{escape(size_text(stored.rows, stored.size_bytes))}</p>"
        if stored
        else "<p>Last file: none stored yet</p>"
    )
    upcoming = report.next_runs[:MAX_NEXT_RUNS_SHOWN]
    if upcoming:
        items = "".join(
            f"<li>{escape(_when(run.tick, zone))} ({escape(run.period)})</li>" for run in upcoming
        )
        tail = "<li>and more</li>" if len(report.next_runs) > len(upcoming) else ""
        parts.append(f"<p>Next runs:</p><ul>{items}{tail}</ul>")
    else:
        parts.append("<p>Next runs: none in the coming days</p>")
    return "".join(parts)


def compose_digest(
    owner: str,
    reports: Sequence[DigestReport],
    *,
    since: datetime,
    until: datetime,
    zone: str,
    ui_base_url: str,
    heading: str = "Weekly",
) -> DigestEmail:
    """The digest e-mail of ``owner``'s ``reports`` over ``since`` to ``until``, times in
    ``zone``: the reports by name, each with its runs, late periods, last file and next runs."""
    tz = ZoneInfo(zone)
    ordered = sorted(reports, key=lambda r: r.name)
    counts = ((sum(r.health == word for r in ordered), word) for word in ("failing", "late"))
    status = ", ".join(f"{number} {word}" for number, word in counts if number) or "all ok"
    window = f"{since.astimezone(tz):%Y-%m-%d %H:%M} to {until.astimezone(tz):%Y-%m-%d %H:%M}"
    subject = f"{heading} reports digest: {_count(len(ordered), 'report')}, {status}"
    intro = f"Your reports from {window} ({zone}), and their runs in the coming days."
    text_lines = [intro, ""]
    for report in ordered:
        text_lines += [*_report_text(report, tz), ""]
    text_lines.append(f"Runs and history: {ui_base_url}/runs")
    sections = "".join(_report_html(r, tz, ui_base_url) for r in ordered)
    html = (
        f'<html><body style="{_STYLE[0]}"><p>{escape(intro)}</p>{sections}'
        f'<p><a href="{escape(ui_base_url)}/runs">Runs and history</a></p></body></html>'
    )
    return DigestEmail(
        owner=owner,
        subject=subject,
        text="\n".join(text_lines) + "\n",
        html=html,
        reports=[r.name for r in ordered],
    )


def compose_digests(
    reports: Sequence[DigestReport],
    *,
    since: datetime,
    until: datetime,
    zone: str,
    ui_base_url: str,
    heading: str = "Weekly",
) -> list[DigestEmail]:
    """One digest per owner (owners compared case-insensitively), in the order of owners."""
    by_owner: dict[str, list[DigestReport]] = {}
    spelled: dict[str, str] = {}
    for report in reports:
        key = report.owner.lower()
        spelled.setdefault(key, report.owner)
        by_owner.setdefault(key, []).append(report)
    return [
        compose_digest(
            spelled[key],
            by_owner[key],
            since=since,
            until=until,
            zone=zone,
            ui_base_url=ui_base_url.rstrip("/"),
            heading=heading,
        )
        for key in sorted(by_owner)
    ]
