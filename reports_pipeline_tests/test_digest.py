"""The digest composed from facts: one e-mail per owner with their reports' runs, failures,
late periods, file sizes and next runs."""

from datetime import datetime, timedelta, timezone

from reports_pipeline.digest import (
    MAX_NEXT_RUNS_SHOWN,
    DigestReport,
    DigestRun,
    LateTick,
    StoredSize,
    compose_digest,
    compose_digests,
)
from reports_pipeline.health import NextRun

UNTIL = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
SINCE = UNTIL - timedelta(days=7)
WINDOW = {"since": SINCE, "until": UNTIL, "zone": "UTC", "ui_base_url": "http://ui.example"}


def report(name: str, owner: str, **facts) -> DigestReport:
    return DigestReport(
        name=name,
        title=name.replace("_", " ").capitalize(),
        owner=owner,
        cadence="every day at 07:00 (UTC)",
        state="running",
        health=facts.pop("health", "ok"),
        **facts,
    )


def at(day: int, hour: int = 7) -> datetime:
    return datetime(2026, 11, day, hour, 5, tzinfo=timezone.utc)


INVOICES = report(
    "daily_invoices",
    "finance@example.com",
    health="failing",
    runs=(
        DigestRun("aaaaaaaa-1", "2026-11-27", "success", at(28)),
        DigestRun(
            "bbbbbbbb-2",
            "2026-11-28",
            "failure",
            at(29),
            ("fetch_and_render: no such table: invoices",),
        ),
    ),
    last_file=StoredSize("2026-11-27", 1204, 57_651),
    next_runs=(NextRun(datetime(2026, 12, 1, 7, tzinfo=timezone.utc), "2026-11-30"),),
)
REVENUE = report(
    "weekly_revenue",
    "FINANCE@example.com",  # the same owner, spelled otherwise
    health="late",
    late=(LateTick("2026-11-16..2026-11-23", datetime(2026, 11, 23, 8, tzinfo=timezone.utc)),),
)
USAGE = report(
    "product_usage",
    "product@example.com",
    runs=(DigestRun("cccccccc-3", "2026-11", "success", at(24)),),
    last_file=StoredSize("2026-11", 12, 2_500_000),
)


def test_each_owner_gets_one_digest_of_their_reports_only():
    digests = compose_digests([USAGE, INVOICES, REVENUE], **WINDOW)
    assert [(d.owner, d.reports) for d in digests] == [
        ("finance@example.com", ["daily_invoices", "weekly_revenue"]),
        ("product@example.com", ["product_usage"]),
    ]
    finance, product = digests
    assert "product_usage" not in finance.text and "product_usage" not in finance.html
    assert "daily_invoices" not in product.text


def test_the_subject_counts_reports_and_what_needs_attention():
    finance, product = compose_digests([USAGE, INVOICES, REVENUE], **WINDOW)
    assert finance.subject == "Weekly reports digest: 2 reports, 1 failing, 1 late"
    assert product.subject == "Weekly reports digest: 1 report, all ok"


def test_runs_failures_with_their_cause_sizes_and_next_runs_are_listed():
    text = compose_digest("finance@example.com", [INVOICES, REVENUE], **WINDOW).text
    assert "Your reports from 2026-11-23 08:00 to 2026-11-30 08:00 (UTC)" in text
    assert "Daily invoices (daily_invoices): failing" in text
    assert "every day at 07:00 (UTC); schedule running" in text
    assert "Runs: 1 succeeded, 1 failed" in text
    assert "failure 2026-11-28 at Sun 2026-11-29 07:05 (run bbbbbbbb)" in text
    assert "fetch_and_render: no such table: invoices" in text
    assert "Last file: 2026-11-27, 1,204 rows, 56.3 KB" in text
    assert "Next runs: Tue 2026-12-01 07:00 (2026-11-30)" in text
    # The late weekly report: its late period, never delivered, no file, no runs.
    assert "Weekly revenue (weekly_revenue): late" in text
    assert "2026-11-16..2026-11-23: due Mon 2026-11-23 08:00, not delivered" in text
    assert "Runs: no runs" in text and "Last file: none stored yet" in text


def test_the_newest_run_comes_first():
    text = compose_digest("finance@example.com", [INVOICES], **WINDOW).text
    assert text.index("run bbbbbbbb") < text.index("run aaaaaaaa")


def test_the_html_part_says_the_same_with_links_to_the_runs():
    html = compose_digest("finance@example.com", [INVOICES, REVENUE], **WINDOW).html
    assert '<a href="http://ui.example/runs/bbbbbbbb-2">bbbbbbbb</a>' in html
    assert "no such table: invoices" in html and "1,204 rows, 56.3 KB" in html
    assert "not delivered" in html and "Tue 2026-12-01 07:00 (2026-11-30)" in html


def test_text_from_runs_is_escaped_in_html():
    hostile = report(
        "odd",
        "o@example.com",
        runs=(DigestRun("dddddddd", "p", "failure", at(25), ("<script>alert(1)</script>",)),),
    )
    html = compose_digest("o@example.com", [hostile], **WINDOW).html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_times_are_shown_in_the_policy_time_zone():
    text = compose_digest(
        "finance@example.com", [INVOICES], **{**WINDOW, "zone": "America/New_York"}
    ).text
    assert "from 2026-11-23 03:00 to 2026-11-30 03:00 (America/New_York)" in text
    assert "at Sun 2026-11-29 02:05" in text


def test_a_late_period_delivered_after_its_grace_says_when():
    late = LateTick("2026-11-25", at(26), delivered_at=at(26, 11))
    text = compose_digest("o@example.com", [report("r", "o@example.com", late=(late,))], **WINDOW)
    assert "2026-11-25: due Thu 2026-11-26 07:05, delivered Thu 2026-11-26 11:05" in text.text


def test_many_next_runs_are_cut_and_say_more_follow():
    ticks = tuple(NextRun(UNTIL + timedelta(hours=hour), f"h{hour}") for hour in range(1, 31))
    text = compose_digest(
        "o@example.com", [report("hourly", "o@example.com", next_runs=ticks)], **WINDOW
    ).text
    assert f"(h{MAX_NEXT_RUNS_SHOWN}) and more" in text
    assert f"(h{MAX_NEXT_RUNS_SHOWN + 1})" not in text


def test_a_daily_digest_says_so():
    (digest,) = compose_digests([USAGE], **WINDOW, heading="Daily")
    assert digest.subject.startswith("Daily reports digest:")
