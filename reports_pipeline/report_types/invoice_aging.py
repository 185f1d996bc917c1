"""``invoice_aging``: what each customer owes at the period's end, by days overdue.

Reads the ``invoices`` table of the demo warehouse (or any connection with its columns:
customer, currency, amount, status, issued_at, due_at, paid_at). An invoice is open at the
period's end when it was issued before it, is not void, and was not paid before it; so a past
period (a backfill) shows the aging as it was then.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from reports_pipeline.report_types.definition import ReportTypeParams, ReportTypeRun, report_type

if TYPE_CHECKING:  # pyarrow is imported by runs only: validating a report does not need it
    import pyarrow as pa

OPEN_AT_PERIOD_END = """
select customer, currency, amount, due_at from invoices
where issued_at < :period_end and status <> 'void'
  and (paid_at is null or paid_at >= :period_end)
"""


class InvoiceAgingParams(ReportTypeParams):
    buckets: list[int] = Field(
        default=[30, 60, 90],
        min_length=1,
        max_length=10,
        description="Upper bounds in days overdue of the aging columns, ascending: [30, 60, 90]"
        " gives days_1_30, days_31_60, days_61_90 and over_90.",
    )
    currency: str | None = Field(
        default=None, description="Only invoices in this currency (e.g. EUR); default all."
    )
    min_overdue: float = Field(
        default=0,
        ge=0,
        description="Leave out customers who owe less than this overdue (current excluded).",
    )

    @field_validator("buckets")
    @classmethod
    def _ascending(cls, value: list[int]) -> list[int]:
        if any(days < 1 for days in value):
            raise ValueError("each bucket is a number of days overdue, 1 or more")
        if any(later <= earlier for earlier, later in zip(value, value[1:], strict=False)):
            raise ValueError(
                f"buckets must be ascending without repeats, e.g. [30, 60, 90]; got {value}"
            )
        return value


def bucket_columns(buckets: list[int]) -> list[str]:
    """``[30, 60]`` → ``["current", "days_1_30", "days_31_60", "over_60"]``."""
    lows = [1] + [bound + 1 for bound in buckets[:-1]]
    return (
        ["current"]
        + [f"days_{low}_{high}" for low, high in zip(lows, buckets, strict=True)]
        + [f"over_{buckets[-1]}"]
    )


def _days_overdue(due_at, as_of: datetime) -> int:
    if isinstance(due_at, str):
        due_at = datetime.fromisoformat(due_at)
    if due_at.tzinfo is None:  # warehouse timestamps are UTC (the demo's text, a naive column)
        due_at = due_at.replace(tzinfo=timezone.utc)
    # An invoice due at 13:00 the day before is one day overdue, not zero: round up.
    return math.ceil((as_of - due_at).total_seconds() / 86_400)


def _money(value: Decimal) -> float:
    return float(round(value, 2))


def _column_index(days: int, buckets: list[int]) -> int:
    if days <= 0:
        return 0
    for index, bound in enumerate(buckets, start=1):
        if days <= bound:
            return index
    return len(buckets) + 1


@report_type(params=InvoiceAgingParams)
def invoice_aging(run: ReportTypeRun[InvoiceAgingParams]) -> Iterator[pa.RecordBatch]:
    """Open invoices at the period's end per customer and currency, summed by days overdue
    (``current`` is not yet due), with the number of invoices and the total; the largest
    overdue totals first."""
    import pyarrow as pa

    params = run.params
    columns = bucket_columns(params.buckets)
    sql = OPEN_AT_PERIOD_END + (" and currency = :currency" if params.currency else "")
    filters = {"currency": params.currency} if params.currency else {}
    # Decimal: sums of money are exact and the same in any row order, on any warehouse.
    totals: dict[tuple[str, str], list[Decimal]] = {}
    counts: dict[tuple[str, str], int] = {}
    for batch in run.query(sql, **filters):
        for row in batch.to_pylist():
            key = (row["customer"], row["currency"])
            sums = totals.setdefault(key, [Decimal(0)] * len(columns))
            index = _column_index(_days_overdue(row["due_at"], run.period_end), params.buckets)
            sums[index] += Decimal(str(row["amount"]))
            counts[key] = counts.get(key, 0) + 1
    rows = []
    for (customer, currency), sums in totals.items():
        overdue = sum(sums[1:])
        if overdue < params.min_overdue:
            continue
        rows.append(
            {
                "customer": customer,
                "currency": currency,
                "invoices": counts[(customer, currency)],
                **{name: _money(value) for name, value in zip(columns, sums, strict=True)},
                "overdue": _money(overdue),
                "total": _money(sum(sums)),
            }
        )
    rows.sort(key=lambda row: (-row["overdue"], row["customer"], row["currency"]))
    schema = pa.schema(
        [("customer", pa.string()), ("currency", pa.string()), ("invoices", pa.int64())]
        + [(name, pa.float64()) for name in columns]
        + [("overdue", pa.float64()), ("total", pa.float64())]
    )
    yield pa.RecordBatch.from_pylist(rows, schema=schema)
