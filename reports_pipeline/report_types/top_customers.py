"""``top_customers``: the customers who paid the most in the period.

Reads the ``invoices`` table of the demo warehouse (or any connection with its columns:
customer, region, currency, amount, status, paid_at). Revenue is what was paid in the period;
amounts in different currencies are never added up: a customer paying in two is two rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pydantic import Field

from reports_pipeline.report_types.definition import ReportTypeParams, ReportTypeRun, report_type

if TYPE_CHECKING:  # pyarrow is imported by runs only: validating a report does not need it
    import pyarrow as pa

PAID_IN_PERIOD = """
select customer, currency, count(*) as invoices, sum(amount) as revenue from invoices
where status = 'paid' and paid_at >= :period_start and paid_at < :period_end{filters}
group by customer, currency
order by revenue desc, customer, currency
limit :limit
"""


class TopCustomersParams(ReportTypeParams):
    limit: int = Field(default=10, ge=1, le=10_000, description="How many customers to list.")
    region: str | None = Field(
        default=None, description="Only invoices of this region (e.g. EMEA); default all."
    )
    currency: str | None = Field(
        default=None, description="Only invoices in this currency (e.g. USD); default all."
    )


@report_type(params=TopCustomersParams)
def top_customers(run: ReportTypeRun[TopCustomersParams]) -> Iterator[pa.RecordBatch]:
    """The ``limit`` customers with the most revenue paid in the period, per currency, ranked
    from 1, with their number of paid invoices."""
    import pyarrow as pa

    params = run.params
    filters = {key: getattr(params, key) for key in ("region", "currency") if getattr(params, key)}
    sql = PAID_IN_PERIOD.format(filters="".join(f" and {key} = :{key}" for key in filters))
    rows = []
    for batch in run.query(sql, limit=params.limit, **filters):
        for row in batch.to_pylist():
            rows.append(
                {
                    "rank": len(rows) + 1,
                    "customer": row["customer"],
                    "currency": row["currency"],
                    "invoices": int(row["invoices"]),
                    "revenue": round(float(row["revenue"]), 2),
                }
            )
    schema = pa.schema(
        [
            ("rank", pa.int64()),
            ("customer", pa.string()),
            ("currency", pa.string()),
            ("invoices", pa.int64()),
            ("revenue", pa.float64()),
        ]
    )
    yield pa.RecordBatch.from_pylist(rows, schema=schema)
