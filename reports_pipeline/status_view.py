"""What ``reports status`` prints: the deployment's health as lines for a person or as JSON
for a monitoring system. Both come from one :class:`DeploymentStatus`, so they say the same."""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from reports_pipeline.health import ReportHealth

# Exit status of `reports status`: a cron job or probe alerts on anything but 0.
HEALTHY, UNHEALTHY = 0, 1


@dataclass(frozen=True)
class InvalidFile:
    file: str
    first_error: str
    errors: int


@dataclass(frozen=True)
class DeploymentStatus:
    now: datetime
    ahead: timedelta
    reports: list[ReportHealth]
    invalid: list[InvalidFile]
    queued_runs: int

    @property
    def late(self) -> list[ReportHealth]:
        return [report for report in self.reports if report.late]

    @property
    def failing(self) -> list[ReportHealth]:
        return [report for report in self.reports if report.failing]

    @property
    def exit_code(self) -> int:
        """Unhealthy when a report fails or is late. An invalid file is `reports validate`'s
        alarm: it never deployed, so it has nothing to be late for."""
        return UNHEALTHY if self.late or self.failing else HEALTHY


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds") if moment else None


def _utc(moment: datetime | None) -> str:
    return f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M}" if moment else "-"


def _minutes(span: timedelta) -> str:
    return f"{round(span.total_seconds() / 60)} min"


def status_document(status: DeploymentStatus) -> dict:
    """The JSON document: times in UTC ISO 8601, ``healthy`` as the exit code says."""
    return {
        "generated_at": _iso(status.now),
        "healthy": status.exit_code == HEALTHY,
        "queued_runs": status.queued_runs,
        "counts": {
            "running": sum(r.schedule_running for r in status.reports),
            "stopped": sum(not r.schedule_running for r in status.reports),
            "invalid": len(status.invalid),
            "late": len(status.late),
            "failing": len(status.failing),
        },
        "reports": [
            {
                "name": r.name,
                "state": r.state,
                "last_result": r.last_result,
                "last_result_at": _iso(r.last_result_at),
                "in_progress": r.in_progress,
                "late": r.late
                and {
                    "period": r.late.period,
                    "due_at": _iso(r.late.due),
                    "grace_minutes": round(r.late.grace.total_seconds() / 60),
                    "late_since": _iso(r.late.since),
                },
                "failing": r.failing and {"period": r.failing.period, "run_id": r.failing.run_id},
                "next_runs": [{"at": _iso(run.tick), "period": run.period} for run in r.next_runs],
            }
            for r in status.reports
        ],
        "invalid": [
            {"file": f.file, "errors": f.errors, "first_error": f.first_error}
            for f in status.invalid
        ],
    }


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _note(report: ReportHealth) -> str:
    return ", ".join(
        word for word, on in (("late", report.late), ("failing", report.failing)) if on
    )


def _section(title: str, entries: list[str]) -> list[str]:
    """A blank line, ``title (count):`` and the entries; nothing when there are none."""
    return ["", f"{title} ({len(entries)}):", *entries] if entries else []


def status_lines(status: DeploymentStatus) -> list[str]:
    """Reports by state (running first), then the late, failing and invalid ones, the queue
    and the runs to come."""
    by_state = sorted(status.reports, key=lambda r: (not r.schedule_running, r.name))
    rows = [("REPORT", "STATE", "LAST RESULT", "AT (UTC)", "IN PROGRESS", "HEALTH")]
    rows += [
        (
            r.name,
            r.state,
            r.last_result or "never ran",
            _utc(r.last_result_at),
            str(r.in_progress),
            _note(r) or "ok",
        )
        for r in by_state
    ]
    rows += [(f.file, "invalid", "-", "-", "-", "`reports validate`") for f in status.invalid]
    lines = _table(rows) if len(rows) > 1 else ["no reports"]
    lines += _section(
        "late",
        [
            f"  {r.name}: period {r.late.period} due {_utc(r.late.due)} UTC, not delivered "
            f"within {_minutes(r.late.grace)}"
            for r in status.late
        ],
    )
    lines += _section(
        "failing",
        [
            f"  {r.name}: period {r.failing.period or '-'}, run {r.failing.run_id[:8]} failed; "
            f"`reports history {r.name}` says why"
            for r in status.failing
        ],
    )
    lines += _section("invalid files", [f"  {f.first_error}" for f in status.invalid])
    lines += ["", f"queue: {status.queued_runs} queued runs"]
    upcoming = sorted((run.tick, r.name, run.period) for r in status.reports for run in r.next_runs)
    hours = status.ahead.total_seconds() / 3600
    lines += ["", f"next runs in the coming {hours:g} h: {len(upcoming) or 'none'}"]
    lines += [f"  {_utc(tick)} UTC  {name}  {period}" for tick, name, period in upcoming]
    return lines
