"""The shipped types give the same rows on Postgres (typed timestamps, numeric amounts) as on
the demo warehouse's SQLite text, and a type's query keeps the source's timeout."""

import sqlite3
from contextlib import closing
from datetime import datetime, timedelta, timezone

import psycopg2
import psycopg2.extras
import pyarrow as pa
import pytest

from reports_pipeline.report_types.batches import report_type_batches
from reports_pipeline.resources.warehouse import SqlWarehouse
from reports_pipeline.scheduling.cadence import Period
from reports_pipeline.warehouse.demo import demo_warehouse_url
from reports_pipeline_tests.postgres_databases import connect_admin, fresh_database

OCTOBER = Period(
    key="2026-10-01",
    start=datetime(2026, 10, 1, tzinfo=timezone.utc),
    end=datetime(2026, 11, 1, tzinfo=timezone.utc),
)


@pytest.fixture(scope="module")
def postgres_demo(postgres_url, demo_warehouse_file):
    """The demo warehouse's invoices in a Postgres database of their own, with real types."""
    admin = connect_admin()
    try:
        with fresh_database(admin, "report_types") as url:
            with closing(sqlite3.connect(demo_warehouse_file)) as source:
                rows = source.execute("select * from invoices").fetchall()
            with psycopg2.connect(url) as db, db.cursor() as cursor:
                cursor.execute(
                    "create table invoices (id int primary key, customer text, region text,"
                    " amount numeric(12, 2), currency text, status text, issued_at timestamptz,"
                    " due_at timestamptz, paid_at timestamptz)"
                )
                psycopg2.extras.execute_values(
                    cursor,
                    "insert into invoices values %s",
                    [(*row[:6], *(_utc(value) for value in row[6:])) for row in rows],
                )
            yield url
    finally:
        admin.close()


def _utc(text: str | None):
    return text and datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def rows_of(name: str, params: dict, url: str) -> list[dict]:
    batches = report_type_batches(
        name, params, warehouse=SqlWarehouse(url=url), period=OCTOBER, timezone="UTC"
    )
    return pa.Table.from_batches(list(batches)).to_pylist()


@pytest.mark.parametrize(
    "name, params",
    [
        ("invoice_aging", {}),
        ("invoice_aging", {"buckets": [10, 20], "currency": "JPY", "min_overdue": 100}),
        ("top_customers", {"limit": 7}),
        ("top_customers", {"limit": 3, "region": "LATAM"}),
    ],
)
def test_postgres_and_sqlite_agree(postgres_demo, demo_warehouse_file, name, params):
    on_postgres = rows_of(name, params, postgres_demo)
    on_sqlite = rows_of(name, params, demo_warehouse_url(demo_warehouse_file))
    assert on_postgres  # the period has data: the comparison compares something
    assert on_postgres == on_sqlite


def test_a_query_over_the_source_timeout_is_a_timeout(monkeypatch, tmp_path):
    from reports_pipeline.report_types import batches as batches_module
    from reports_pipeline.report_types import report_type
    from reports_pipeline.warehouse.errors import QueryTimeout

    endless = (
        "with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c"
    )
    kind = report_type()(lambda run: run.query(endless))
    monkeypatch.setattr(batches_module, "load_report_type", lambda name: kind)
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    with pytest.raises(QueryTimeout, match="query ran longer than 0:00:00.200000"):
        list(
            report_type_batches(
                "endless",
                {},
                warehouse=SqlWarehouse(url=url),
                period=OCTOBER,
                timezone="UTC",
                timeout=timedelta(seconds=0.2),
            )
        )
