"""A query checked by its own database without reading a row: Postgres, SQLite, DuckDB."""

import socket
from datetime import datetime, timedelta, timezone

import duckdb
import psycopg2
import pytest

from reports_pipeline.warehouse.fetch import create_warehouse_engine
from reports_pipeline.warehouse.query_check import QueryProblem, ResultColumn, describe_query
from reports_pipeline_tests.jobs.warehouses import (
    create_postgres_warehouse,
    create_sqlite_warehouse,
)

TIMEOUT = timedelta(seconds=60)
PERIOD = {
    "period_start": datetime(2026, 11, 2, tzinfo=timezone.utc),
    "period_end": datetime(2026, 11, 3, tzinfo=timezone.utc),
}
GOOD = (
    "select region, sum(amount) as revenue\n"
    "from invoices\n"
    "where status = :status and issued_at >= :period_start and issued_at < :period_end\n"
    "group by region;"
)


@pytest.fixture(scope="module")
def postgres_warehouse(postgres_url):
    create_postgres_warehouse(postgres_url)
    return postgres_url


@pytest.fixture
def sqlite_url(tmp_path):
    return create_sqlite_warehouse(tmp_path / "wh.sqlite")


@pytest.fixture
def duckdb_url(tmp_path):
    path = tmp_path / "wh.duckdb"
    with duckdb.connect(str(path)) as db:
        db.execute(
            "create table invoices (id integer, customer varchar, region varchar,"
            " amount decimal(12, 2), status varchar, issued_at timestamptz)"
        )
        db.execute("insert into invoices values (1, 'Acme', 'EMEA', 10, 'paid', now())")
    return f"duckdb:///{path}"


@pytest.fixture(params=["postgres", "sqlite", "duckdb"])
def warehouse(request):
    """An engine on a warehouse of INVOICES, of each kind; disposed of after the test."""
    fixture = {"postgres": "postgres_warehouse", "sqlite": "sqlite_url", "duckdb": "duckdb_url"}
    engine = create_warehouse_engine(request.getfixturevalue(fixture[request.param]))
    yield engine
    engine.dispose()


def describe(engine, sql, **params):
    return describe_query(engine, sql, {"status": "paid", **PERIOD, **params}, timeout=TIMEOUT)


def test_a_good_query_gives_its_columns(warehouse):
    columns = describe(warehouse, GOOD)
    assert [column.name for column in columns] == ["region", "revenue"]
    if warehouse.dialect.name == "sqlite":  # SQLite types values, not columns
        assert {column.numeric for column in columns} == {None}
    else:
        assert columns == [ResultColumn("region", False), ResultColumn("revenue", True)]


@pytest.mark.parametrize(
    "sql, words, line",
    [
        ("select region\nfromm invoices", "syntax error", 2),
        ("select region\nfrom invoices_typo", "invoices_typo", 2),
        ("select region,\n  regionn\nfrom invoices", "regionn", 2),
    ],
    ids=["syntax", "unknown table", "unknown column"],
)
def test_a_refused_query_says_why_in_the_databases_words_and_where(warehouse, sql, words, line):
    with pytest.raises(QueryProblem) as refused:
        describe(warehouse, sql)
    assert words in str(refused.value)
    assert refused.value.query_line == line
    assert not refused.value.connecting


def test_postgres_adds_its_hint(postgres_warehouse):
    engine = create_warehouse_engine(postgres_warehouse)
    try:
        with pytest.raises(QueryProblem) as refused:
            describe(engine, "select regio from invoices")
    finally:
        engine.dispose()
    assert 'column "regio" does not exist; hint: Perhaps you meant' in str(refused.value)


def test_no_row_is_read(warehouse):
    # Evaluated for any row, this expression fails: division by zero on Postgres, integer
    # overflow on SQLite (abs of the smallest integer), a failed cast on DuckDB.
    boom = {
        "postgresql": "1 / (id - id)",
        "sqlite": "abs(id * 0 - 9223372036854775807 - 1)",
        "duckdb": "cast(customer || 'x' as integer)",
    }[warehouse.dialect.name]
    columns = describe(warehouse, f"select {boom} as boom from invoices")
    assert [column.name for column in columns] == ["boom"]


def test_two_statements_are_refused(warehouse):
    with pytest.raises(QueryProblem):
        describe(warehouse, "select 1 as one; select 2 as two")


def test_parameters_are_bound_as_in_a_run(warehouse):
    # A value written into the SQL would end the literal; bound, it is only a value.
    columns = describe(warehouse, "select :status as label", status="it's; drop table invoices")
    assert [column.name for column in columns] == ["label"]
    assert describe(warehouse, "select count(*) as n from invoices")[0].name == "n"


def test_an_unreachable_database_is_a_connection_problem():
    with socket.socket() as refusing:  # bound, never listening: connections are refused
        refusing.bind(("127.0.0.1", 0))
        port = refusing.getsockname()[1]
        engine = create_warehouse_engine(f"postgresql://postgres@127.0.0.1:{port}/x")
        try:
            with pytest.raises(QueryProblem) as refused:
                describe(engine, "select 1 as one")
        finally:
            engine.dispose()
    assert refused.value.connecting
    assert "refused" in str(refused.value).lower()


def _open_transactions(admin, database: str) -> list[str]:
    with admin.cursor() as cursor:
        cursor.execute(
            "select state from pg_stat_activity where datname = %s and state like %s",
            (database, "idle in transaction%"),
        )
        return [state for (state,) in cursor.fetchall()]


def test_postgres_keeps_no_transaction_open_after_a_check(postgres_warehouse):
    engine = create_warehouse_engine(postgres_warehouse)
    database = engine.url.database
    admin = psycopg2.connect(postgres_warehouse.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    try:
        describe(engine, GOOD)
        with pytest.raises(QueryProblem):
            describe(engine, "select nope from invoices")
        # The engine's pooled connection is still there, and idle: no transaction holds locks.
        with admin.cursor() as cursor:
            cursor.execute(
                "select count(*) from pg_stat_activity where datname = %s and state = 'idle'",
                (database,),
            )
            assert cursor.fetchone()[0] >= 1
        assert _open_transactions(admin, database) == []
    finally:
        engine.dispose()
        admin.close()
