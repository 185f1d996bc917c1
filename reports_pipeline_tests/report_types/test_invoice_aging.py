"""``invoice_aging``: buckets, and a whole run over the demo warehouse delivered as CSV."""

import csv
import io
import sqlite3
from contextlib import closing
from datetime import datetime, timezone

import pytest

from reports_pipeline.report_types.invoice_aging import (
    InvoiceAgingParams,
    _column_index,
    _days_overdue,
    bucket_columns,
)
from reports_pipeline_tests.report_files import report_dict, write_report
from reports_pipeline_tests.report_types.delivered import outbox_attachment, run_report

OPEN_AT_NOVEMBER = (
    "from invoices where issued_at < '2026-11-01 00:00:00' and status <> 'void'"
    " and (paid_at is null or paid_at >= '2026-11-01 00:00:00')"
)


def test_bucket_columns_are_named_by_their_days():
    assert bucket_columns([30, 60, 90]) == [
        "current",
        "days_1_30",
        "days_31_60",
        "days_61_90",
        "over_90",
    ]


@pytest.mark.parametrize(
    "days, column", [(-3, 0), (0, 0), (1, 1), (30, 1), (31, 2), (90, 3), (91, 4), (900, 4)]
)
def test_days_overdue_fall_in_their_bucket(days, column):
    assert _column_index(days, [30, 60, 90]) == column


def test_default_buckets_are_30_60_90():
    assert InvoiceAgingParams().buckets == [30, 60, 90]


def test_a_run_delivers_the_aging_at_the_period_end(tmp_path, demo_deployment, demo_warehouse_file):
    report = report_dict(
        name="invoice_aging_monthly",
        source={"report_type": "invoice_aging"},
        schedule={
            "every": "month",
            "on": 1,
            "at": "06:00",
            "timezone": "UTC",
            "start": "2026-01-01",
        },
        deliver=[{"email": {"to": ["ar@example.com"]}}],
    )
    write_report(tmp_path / "reports", report)
    result = run_report(tmp_path, demo_deployment(), "invoice_aging_monthly", "2026-10-01")
    assert result.success

    name, content = outbox_attachment(tmp_path / "outbox")
    assert name == "invoice_aging_monthly_2026-10-01.csv"
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    with closing(sqlite3.connect(demo_warehouse_file)) as db:
        customers, invoices, total = db.execute(
            f"select count(distinct customer || currency), count(*), sum(amount) {OPEN_AT_NOVEMBER}"
        ).fetchone()
        (over_90,) = db.execute(
            f"select sum(amount) {OPEN_AT_NOVEMBER} and due_at < '2026-08-03 00:00:00'"
        ).fetchone()
        (current,) = db.execute(
            f"select sum(amount) {OPEN_AT_NOVEMBER} and due_at >= '2026-11-01 00:00:00'"
        ).fetchone()
    assert len(rows) == customers
    assert sum(int(row["invoices"]) for row in rows) == invoices
    assert sum(float(row["total"]) for row in rows) == pytest.approx(total, abs=0.01 * customers)
    assert sum(float(row["over_90"]) for row in rows) == pytest.approx(
        over_90, abs=0.01 * customers
    )
    assert sum(float(row["current"]) for row in rows) == pytest.approx(
        current, abs=0.01 * customers
    )
    overdue = [float(row["overdue"]) for row in rows]
    assert overdue == sorted(overdue, reverse=True)  # who owes most, first


def test_params_filter_and_reshape_the_columns(tmp_path, demo_deployment):
    report = report_dict(
        name="eur_aging",
        source={
            "report_type": "invoice_aging",
            "params": {"buckets": [45], "currency": "EUR", "min_overdue": 1000},
        },
        schedule={
            "every": "month",
            "on": 1,
            "at": "06:00",
            "timezone": "UTC",
            "start": "2026-01-01",
        },
        deliver=[{"email": {"to": ["ar@example.com"]}}],
    )
    write_report(tmp_path / "reports", report)
    assert run_report(tmp_path, demo_deployment(), "eur_aging", "2026-10-01").success

    _, content = outbox_attachment(tmp_path / "outbox")
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert list(rows[0]) == [
        "customer",
        "currency",
        "invoices",
        "current",
        "days_1_45",
        "over_45",
        "overdue",
        "total",
    ]
    assert {row["currency"] for row in rows} == {"EUR"}
    assert all(float(row["overdue"]) >= 1000 for row in rows)


@pytest.mark.parametrize(
    "due_at, days",
    [
        ("2026-10-31 13:00:00", 1),  # due before the period's end: overdue the next day
        ("2026-11-01 00:00:00", 0),
        ("2026-10-01 00:00:00", 31),
        (datetime(2026, 10, 31, 13), 1),  # a naive timestamp column is UTC
    ],
)
def test_days_overdue_count_started_days(due_at, days):
    assert _days_overdue(due_at, datetime(2026, 11, 1, tzinfo=timezone.utc)) == days
