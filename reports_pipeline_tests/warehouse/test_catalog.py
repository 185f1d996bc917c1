"""Tables and columns from each database's own catalog."""

import sqlite3
from contextlib import closing

import duckdb
import psycopg2
import pytest

from reports_pipeline.warehouse.catalog import Table, list_tables
from reports_pipeline.warehouse.demo import demo_warehouse_url, ensure_demo_warehouse
from reports_pipeline.warehouse.fetch import create_warehouse_engine
from reports_pipeline_tests.postgres_databases import connect_admin


def tables_of(url: str) -> list[Table]:
    engine = create_warehouse_engine(url)
    try:
        return list_tables(engine)
    finally:
        engine.dispose()


def test_sqlite_tables_and_views(tmp_path):
    path = tmp_path / "wh.sqlite"
    with closing(sqlite3.connect(path)) as db:
        db.execute("create table invoices (id integer primary key, region text, amount numeric)")
        db.execute("create table loose (anything)")  # a column without a declared type
        db.execute("create view regions as select distinct region from invoices")
    assert tables_of(f"sqlite:///{path}") == [
        Table("invoices", (("id", "integer"), ("region", "text"), ("amount", "numeric"))),
        Table("loose", (("anything", "(any)"),)),
        Table("regions", (("region", "text"),)),
    ]


def test_duckdb_tables_with_their_schema_when_not_main(tmp_path):
    path = tmp_path / "wh.duckdb"
    with duckdb.connect(str(path)) as db:
        db.execute("create table invoices (id integer, amount decimal(12, 2))")
        db.execute("create schema sales")
        db.execute("create table sales.orders (placed_at timestamptz)")
    assert tables_of(f"duckdb:///{path}") == [
        Table("invoices", (("id", "integer"), ("amount", "decimal(12,2)"))),
        Table("sales.orders", (("placed_at", "timestamp with time zone"),)),
    ]


def test_postgres_tables_views_and_schemas(postgres_url):
    with psycopg2.connect(postgres_url) as db, db.cursor() as cursor:
        cursor.execute("drop schema if exists catalog_test cascade")
        cursor.execute("create schema catalog_test")
        cursor.execute("create table catalog_test.orders (id bigint, placed_at timestamptz)")
        cursor.execute("create view catalog_test.recent as select id from catalog_test.orders")
    found = {table.name: table.columns for table in tables_of(postgres_url)}
    assert found["catalog_test.orders"] == (
        ("id", "bigint"),
        ("placed_at", "timestamp with time zone"),
    )
    assert found["catalog_test.recent"] == (("id", "bigint"),)
    assert not any(name.startswith(("pg_catalog.", "information_schema.")) for name in found)


def test_postgres_listing_leaves_no_transaction_open(postgres_url):
    engine = create_warehouse_engine(postgres_url)
    admin = connect_admin()
    try:
        list_tables(engine)
        with admin.cursor() as cursor:
            cursor.execute(
                "select count(*) from pg_stat_activity"
                " where datname = %s and state like 'idle in transaction%%'",
                (engine.url.database,),
            )
            assert cursor.fetchone()[0] == 0
    finally:
        engine.dispose()
        admin.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return ensure_demo_warehouse(tmp_path_factory.mktemp("demo") / "warehouse.db")


def test_the_demo_warehouse(demo):
    found = {
        table.name: [column for column, _ in table.columns]
        for table in tables_of(demo_warehouse_url(demo))
    }
    assert found == {
        "audit_events": ["id", "occurred_at", "actor", "action", "resource", "ip"],
        "invoices": [
            "id",
            "customer",
            "region",
            "amount",
            "currency",
            "status",
            "issued_at",
            "due_at",
            "paid_at",
        ],
        "product_usage": ["day", "account", "feature", "events", "active_users"],
    }
