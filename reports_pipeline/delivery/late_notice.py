"""The words of a late notice to a report's owner."""

from datetime import datetime, timedelta, timezone


def late_notice(
    *,
    report: str,
    title: str,
    period: str,
    due: datetime,
    grace: timedelta,
    last_result: str | None,
    last_result_at: datetime | None,
    runs_url: str,
) -> tuple[str, str]:
    """Subject and text: which period is late, since when, and what the last run did."""
    due_utc = f"{due.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"
    minutes = round(grace.total_seconds() / 60)
    last = (
        f"{last_result} at {last_result_at.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"
        if last_result and last_result_at
        else "none yet"
    )
    subject = f"Report late: {title} ({period})"
    lines = [
        f"The report {report} ({title}) has not delivered period {period}.",
        f"It was due at {due_utc} and is late after {minutes} minutes without a successful run.",
        "",
        f"Last finished run: {last}.",
        f"Runs: {runs_url}",
        "",
        "A run may be waiting in the queue, still running or stopped; `reports status` and",
        f"`reports history {report}` show which. You are told once per period.",
    ]
    return subject, "\n".join(lines) + "\n"
