import contextlib
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
import sqlalchemy
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from reports_pipeline.warehouse.fetch import (
    QueryError,
    QueryTimeout,
    create_warehouse_engine,
    stream_record_batches,
)
from reports_pipeline_tests.postgres_databases import POSTGRES_HOST, POSTGRES_PORT
from reports_pipeline_tests.tcp_proxy import TcpProxy

NEW_YORK = ZoneInfo("America/New_York")
# 1 March 2025 in New York (EST, UTC-5) is 05:00 UTC on 1 March to 05:00 UTC on 2 March.
PERIOD = {
    "period_start": datetime(2025, 3, 1, tzinfo=NEW_YORK),
    "period_end": datetime(2025, 3, 2, tzinfo=NEW_YORK),
}
EVENTS = [  # id, status, happened_at (UTC)
    (1, "paid", datetime(2025, 3, 1, 5, 0, 0)),  # the first second of the period
    (2, "paid", datetime(2025, 3, 1, 4, 59, 59)),  # before it: inside if read as UTC midnight
    (3, "open", datetime(2025, 3, 1, 12, 0, 0)),  # inside, but not paid
    (4, "paid", datetime(2025, 3, 2, 4, 59, 59)),  # the last second of the period
    (5, "paid", datetime(2025, 3, 2, 5, 0, 0)),  # the end is exclusive
]
TEN_NUMBERS = (
    "with recursive numbers(n) as (select 1 union all select n + 1 from numbers where n < 10)"
    " select n from numbers"
)
BACKENDS = ["sqlite", "duckdb", "postgresql"]


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path) -> Iterator[sqlalchemy.Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    elif request.param == "duckdb":
        url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_warehouse_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("drop table if exists events")
    yield engine
    engine.dispose()


@pytest.fixture
def typed_engine(request, tmp_path) -> Iterator[sqlalchemy.Engine]:
    """Postgres or DuckDB: the dialects with real date, timestamp and numeric types."""
    url = (
        request.getfixturevalue("postgres_url")
        if request.param == "postgresql"
        else f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    )
    engine = create_warehouse_engine(url)
    yield engine
    engine.dispose()


def _create_events(engine: sqlalchemy.Engine) -> None:
    sqlite = engine.dialect.name == "sqlite"
    column = "text" if sqlite else "timestamptz"
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"create table events (id integer, status text, happened_at {column})"
        )
        rows = [
            {
                "id": id_,
                "status": status,
                "happened_at": (
                    moment.strftime("%Y-%m-%d %H:%M:%S")
                    if sqlite
                    else moment.replace(tzinfo=timezone.utc)
                ),
            }
            for id_, status, moment in EVENTS
        ]
        connection.execute(text("insert into events values (:id, :status, :happened_at)"), rows)


def _rows(batches) -> list[dict]:
    return [row for batch in batches for row in batch.to_pylist()]


def test_bound_period_and_params_select_the_rows_of_the_local_period(engine):
    _create_events(engine)
    sql = (
        "select id from events where happened_at >= :period_start"
        " and happened_at < :period_end and status = :status order by id"
    )

    rows = _rows(stream_record_batches(engine, sql, {**PERIOD, "status": "paid"}))

    assert rows == [{"id": 1}, {"id": 4}]


def test_params_the_query_does_not_use_are_ignored(engine):
    rows = _rows(stream_record_batches(engine, "select 1 as one", {**PERIOD, "status": "x"}))

    assert rows == [{"one": 1}]


def test_batches_hold_at_most_batch_size_rows(engine):
    batches = list(stream_record_batches(engine, TEN_NUMBERS, {}, batch_size=3))

    assert [batch.num_rows for batch in batches] == [3, 3, 3, 1]
    assert [row["n"] for row in _rows(batches)] == list(range(1, 11))


def test_zero_rows_yield_one_empty_batch_with_the_column_names(engine):
    _create_events(engine)
    sql = "select id, status, happened_at from events where status = :status"

    batches = list(stream_record_batches(engine, sql, {"status": "void"}))

    assert len(batches) == 1
    assert batches[0].num_rows == 0
    assert batches[0].schema.names == ["id", "status", "happened_at"]


def test_a_sql_error_raises_query_error_with_the_database_message(engine):
    with pytest.raises(QueryError) as raised:
        list(stream_record_batches(engine, "select * from no_such_table", {}))

    message = str(raised.value)
    assert "no_such_table" in message
    assert "\n" not in message
    assert str(engine.url.database) not in message


def test_a_missing_parameter_raises_query_error_naming_it(engine):
    with pytest.raises(QueryError, match="status"):
        list(stream_record_batches(engine, "select :status as s", {}))


def test_report_queries_never_change_the_data(engine):
    _create_events(engine)

    # SQLite and DuckDB run the delete and roll it back; Postgres refuses it in a cursor.
    with contextlib.suppress(QueryError):
        list(stream_record_batches(engine, "delete from events returning id", {}))

    with engine.connect() as connection:
        assert connection.exec_driver_sql("select count(*) from events").scalar() == len(EVENTS)


@pytest.mark.parametrize("typed_engine", ["duckdb", "postgresql"], indirect=True)
def test_column_types_follow_the_database_values(typed_engine):
    sql = """
        select 42 as an_int, cast(2.5 as double precision) as a_float,
               cast(12.34 as numeric(10, 2)) as a_decimal, date '2025-01-02' as a_date,
               cast('2025-01-02 03:04:05+00' as timestamptz) as aware,
               timestamp '2025-01-02 03:04:05' as naive,
               'Müller, Café Lumière, 東京商事 🚀' as a_text, cast(null as text) as missing,
               true as a_bool
    """
    (batch,) = stream_record_batches(typed_engine, sql, {})
    types = dict(zip(batch.schema.names, batch.schema.types, strict=True))
    (row,) = batch.to_pylist()

    assert pa.types.is_integer(types["an_int"]) and row["an_int"] == 42
    assert pa.types.is_floating(types["a_float"]) and row["a_float"] == 2.5
    assert pa.types.is_decimal(types["a_decimal"]) and row["a_decimal"] == Decimal("12.34")
    assert types["a_date"] == pa.date32() and row["a_date"] == date(2025, 1, 2)
    assert pa.types.is_timestamp(types["aware"]) and types["aware"].tz is not None
    assert row["aware"] == datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert types["naive"].tz is None and row["naive"] == datetime(2025, 1, 2, 3, 4, 5)
    assert row["a_text"] == "Müller, Café Lumière, 東京商事 🚀"
    assert types["missing"] == pa.string() and row["missing"] is None
    assert types["a_bool"] == pa.bool_() and row["a_bool"] is True


@pytest.mark.parametrize("typed_engine", ["duckdb", "postgresql"], indirect=True)
def test_every_batch_has_the_declared_column_types_even_when_all_null(typed_engine):
    sql = "select cast(null as text) as note union all select 'later'"

    first, second = stream_record_batches(typed_engine, sql, {}, batch_size=1)

    assert first.schema.types == second.schema.types == [pa.string()]


def test_a_sqlite_column_null_in_the_first_batch_is_typed_in_a_later_one(tmp_path):
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'w.db'}")
    sql = "select null as note union all select 'later'"

    first, second = stream_record_batches(engine, sql, {}, batch_size=1)

    assert first.schema.types == [pa.null()]
    assert second.schema.types == [pa.string()]


def test_sqlite_values_keep_their_storage_class(tmp_path):
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'w.db'}")
    sql = "select 42 as an_int, 2.5 as a_float, 'Zürich 東京 🎉' as a_text, null as missing"

    (batch,) = stream_record_batches(engine, sql, {})

    assert batch.schema.types == [pa.int64(), pa.float64(), pa.string(), pa.null()]
    assert batch.to_pylist() == [
        {"an_int": 42, "a_float": 2.5, "a_text": "Zürich 東京 🎉", "missing": None}
    ]


def test_sqlite_receives_datetimes_as_utc_text(tmp_path):
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'w.db'}")

    rows = _rows(stream_record_batches(engine, "select :period_start as sent", PERIOD))

    assert rows == [{"sent": "2025-03-01 05:00:00"}]


def test_a_sqlite_column_of_mixed_types_becomes_text(tmp_path):
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'w.db'}")

    (batch,) = stream_record_batches(engine, "select 1 as v union all select 'one'", {})

    assert batch.schema.types == [pa.string()]
    assert sorted(batch.column(0).to_pylist()) == ["1", "one"]


def test_an_error_message_never_contains_the_url_or_password(postgres_url):
    url = postgres_url.replace("postgres@", "postgres:Pa55-w0rd-xyz@")  # trust: ignored
    engine = create_warehouse_engine(url)

    with pytest.raises(QueryError) as raised:
        list(stream_record_batches(engine, "select * from no_such_table", {}))

    assert "no_such_table" in str(raised.value)
    assert "Pa55-w0rd-xyz" not in str(raised.value)
    assert postgres_url.split("@")[1] not in str(raised.value)
    engine.dispose()


def test_a_failed_connection_raises_query_error_without_the_password():
    engine = create_warehouse_engine("postgresql://reports:Pa55-w0rd-xyz@127.0.0.1:1/warehouse")

    with pytest.raises(QueryError) as raised:
        list(stream_record_batches(engine, "select 1", {}))

    assert "Pa55-w0rd-xyz" not in str(raised.value)


def test_a_plain_postgresql_url_uses_psycopg2():
    engine = create_warehouse_engine("postgresql://reports@db.example/warehouse")

    assert engine.dialect.driver == "psycopg2"


def test_an_invalid_url_is_rejected_without_repeating_it():
    with pytest.raises(ValueError) as raised:
        create_warehouse_engine("not a url with Pa55-w0rd-xyz")

    assert "Pa55-w0rd-xyz" not in str(raised.value)


def test_postgres_timeout_raises_query_timeout(postgres_url):
    engine = create_warehouse_engine(postgres_url)
    timeout = timedelta(seconds=0.2)

    with pytest.raises(QueryTimeout, match=r"query ran longer than 0:00:00.2"):
        list(stream_record_batches(engine, "select pg_sleep(5)", {}, timeout=timeout))
    engine.dispose()


def test_postgres_timeout_does_not_outlive_the_query(postgres_url):
    engine = create_warehouse_engine(postgres_url)
    # Any timeout will do, as long as the query finishes within it on a loaded machine.
    list(stream_record_batches(engine, "select 1", {}, timeout=timedelta(seconds=60)))

    with engine.connect() as connection:
        assert connection.exec_driver_sql("show statement_timeout").scalar() == "0"
    engine.dispose()


def test_sqlite_timeout_raises_query_timeout(tmp_path):
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'w.db'}")
    endless = (
        "with recursive c(n) as (select 1 union all select n + 1 from c where n < 1000000000)"
        " select count(*) from c"
    )

    with pytest.raises(QueryTimeout, match="query ran longer than"):
        list(stream_record_batches(engine, endless, {}, timeout=timedelta(seconds=0.2)))


def test_duckdb_timeout_raises_query_timeout(tmp_path):
    engine = create_warehouse_engine(f"duckdb:///{tmp_path / 'w.duckdb'}")
    endless = "select count(*) from range(1000000000000) a"

    with pytest.raises(QueryTimeout, match="query ran longer than"):
        list(stream_record_batches(engine, endless, {}, timeout=timedelta(seconds=0.2)))
    engine.dispose()


def test_a_query_within_its_timeout_returns_its_rows(engine):
    rows = _rows(stream_record_batches(engine, TEN_NUMBERS, {}, timeout=timedelta(seconds=30)))

    assert len(rows) == 10


# Which failures are worth another attempt: real errors from real servers, classified.

POSTGRES_FAILING_FUNCTION = (
    "create or replace function fail_with(code text) returns int language plpgsql as"
    " $$ begin raise exception using errcode = code, message = 'raised with SQLSTATE ' || code;"
    " end $$"
)
MANY_ROWS = "select n from generate_series(1, 50000000) as n"


def _query_error(engine: sqlalchemy.Engine, sql: str, **options) -> QueryError:
    with pytest.raises(QueryError) as raised:
        list(stream_record_batches(engine, sql, {}, **options))
    return raised.value


@pytest.fixture
def postgres_engine(postgres_url) -> Iterator[sqlalchemy.Engine]:
    engine = create_warehouse_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    with TcpProxy((POSTGRES_HOST, POSTGRES_PORT)) as proxy:
        yield proxy


def test_a_refused_connection_is_transient_and_names_the_server(proxy, postgres_url):
    engine = create_warehouse_engine(proxy.url(postgres_url))

    error = _query_error(engine, "select 1")

    assert error.transient == f"connection refused by 127.0.0.1:{proxy.port}"
    assert "Connection refused" in str(error)
    engine.dispose()


def test_a_connection_the_server_closes_mid_query_is_transient(proxy, postgres_url):
    proxy.open()
    engine = create_warehouse_engine(proxy.url(postgres_url))
    batches = stream_record_batches(engine, MANY_ROWS, {}, batch_size=1000)
    assert next(batches).num_rows == 1000  # the COPY is running

    assert proxy.cut() == 1
    with pytest.raises(QueryError) as raised:
        list(batches)

    assert raised.value.transient == f"the server at 127.0.0.1:{proxy.port} closed the connection"
    engine.dispose()


def test_a_backend_terminated_by_the_administrator_is_transient(postgres_engine):
    batches = stream_record_batches(postgres_engine, MANY_ROWS, {}, batch_size=1000)
    assert next(batches).num_rows == 1000
    with postgres_engine.connect() as admin:
        terminated = admin.execute(
            text(
                "select pg_terminate_backend(pid) from pg_stat_activity"
                " where datname = current_database() and query like 'COPY (%'"
            )
        ).scalars()
        assert list(terminated) == [True]  # SQLSTATE 57P01 admin_shutdown

    with pytest.raises(QueryError) as raised:
        list(batches)

    reason = f"the server at {POSTGRES_HOST}:{POSTGRES_PORT} closed the connection"
    assert raised.value.transient == reason
    assert str(raised.value) == f"the postgresql query failed: {reason}"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("40001", "serialization failure"),
        ("40P01", "deadlock"),
        ("57P01", "shut down by its administrator"),
        ("57P03", "starting up"),
        ("08006", "the connection to"),
    ],
)
def test_postgres_sqlstates_worth_another_attempt_are_transient(postgres_engine, code, reason):
    with postgres_engine.begin() as connection:
        connection.exec_driver_sql(POSTGRES_FAILING_FUNCTION)

    error = _query_error(postgres_engine, f"select fail_with('{code}')")

    assert f"raised with SQLSTATE {code}" in str(error)
    assert reason in error.transient


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("selec 1", "syntax error at or near"),  # 42601
        ("select * from no_such_table", 'relation "no_such_table" does not exist'),  # 42P01
        ("select no_such_column from (select 1 as a) t", "no_such_column"),  # 42703
        ("select 1 / 0", "division by zero"),  # 22012
        ("select cast('x' as int)", "invalid input syntax"),  # 22P02, a bad parameter value
    ],
)
def test_postgres_errors_in_the_query_are_permanent(postgres_engine, sql, message):
    error = _query_error(postgres_engine, sql)

    assert message in str(error)
    assert error.transient is None


def test_a_permission_the_role_lacks_is_permanent(postgres_url):
    # pg_monitor may not read pg_authid (SQLSTATE 42501 insufficient_privilege).
    engine = create_warehouse_engine(f"{postgres_url}?options=-c%20role%3Dpg_monitor")

    error = _query_error(engine, "select rolname from pg_authid")

    assert "permission denied for table pg_authid" in str(error)
    assert error.transient is None
    engine.dispose()


def test_a_missing_database_is_permanent(postgres_url):
    engine = create_warehouse_engine(postgres_url.rsplit("/", 1)[0] + "/no_such_database")

    error = _query_error(engine, "select 1")

    assert 'database "no_such_database" does not exist' in str(error)
    assert error.transient is None
    engine.dispose()


def test_a_locked_sqlite_file_is_transient_and_a_missing_table_is_not(tmp_path):
    path = tmp_path / "w.db"
    engine = create_warehouse_engine(f"sqlite:///{path}?timeout=0")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("create table t (a int)")
    holder.execute("begin exclusive")  # no other connection may read until it ends
    try:
        locked = _query_error(engine, "select a from t")
    finally:
        holder.execute("rollback")
        holder.close()

    assert "database is locked" in str(locked)
    assert locked.transient == "the database file is locked by another connection"
    assert _query_error(engine, "select * from no_such_table").transient is None


def test_a_duckdb_file_locked_by_another_process_is_transient(tmp_path):
    path = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; db = duckdb.connect({str(path)!r}); print('ready', flush=True);"
            " sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"  # it holds the file's lock
        engine = create_warehouse_engine(f"duckdb:///{path}")
        error = _query_error(engine, "select 1")
        engine.dispose()
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)

    assert "Could not set lock" in str(error)
    assert error.transient is not None
    syntax = _query_error(create_warehouse_engine(f"duckdb:///{path}"), "selec 1")
    assert syntax.transient is None


HOSTILE_VALUES = [
    "' union select secret from secrets --",
    "x' or '1'='1",
    "\\' union select secret from secrets --",
    "'; drop table public_rows; --",
    "$$ union select secret from secrets $$",
    "*/ union select secret from secrets /*",
    "\n union select secret from secrets --",
    '" union select secret from secrets --',
    "%' union select secret from secrets where '%'='",
    "Zürich 東京 🙂 \u202e",
]


def _create_public_and_secret_rows(engine: sqlalchemy.Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("drop table if exists public_rows")
        connection.exec_driver_sql("drop table if exists secrets")
        connection.exec_driver_sql("create table public_rows (name text)")
        connection.exec_driver_sql("create table secrets (secret text)")
        connection.execute(text("insert into secrets values ('TOPSECRET')"))
        for value in HOSTILE_VALUES:
            connection.execute(text("insert into public_rows values (:value)"), {"value": value})


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_a_hostile_parameter_value_is_only_ever_a_value(engine, value):
    _create_public_and_secret_rows(engine)
    sql = "select name from public_rows where name = :value"
    assert _rows(stream_record_batches(engine, sql, {"value": value})) == [{"name": value}]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
@pytest.mark.parametrize(
    "sql",
    [
        "select name from public_rows where name like '%:value%'",
        "select name from public_rows where name like E'%:value%'",
        "select name from public_rows where name like $$%:value%$$",
        'select name as ":value" from public_rows where name like \'%:value%\'',
        "select name from public_rows -- where name = :value\nwhere name like '%:value%'",
        "select name from public_rows /* :value */ where name like '%:value%'",
    ],
)
def test_a_placeholder_in_quotes_or_a_comment_is_text_never_sql(engine, sql, value):
    """The name in quotes is text: no row is named '%:value%', and the value never runs."""
    if engine.dialect.name == "sqlite" and ("E'" in sql or "$$" in sql):
        pytest.skip("SQLite has neither E'' strings nor dollar quotes")
    _create_public_and_secret_rows(engine)
    assert _rows(stream_record_batches(engine, sql, {"value": value})) == []


def test_the_value_of_a_like_pattern_is_concatenated_in_code(engine):
    _create_public_and_secret_rows(engine)
    sql = "select name from public_rows where name like '%' || :value || '%'"
    rows = _rows(stream_record_batches(engine, sql, {"value": "東京"}))
    assert rows == [{"name": HOSTILE_VALUES[-1]}]


def test_a_nul_character_in_a_value_is_refused_by_postgres_with_a_clear_error(postgres_url):
    engine = create_warehouse_engine(postgres_url)
    try:
        with pytest.raises(QueryError) as raised:
            list(stream_record_batches(engine, "select :value as v", {"value": "a\x00b"}))
        error = raised.value
    finally:
        engine.dispose()
    assert "cannot be sent to Postgres" in str(error) and "NUL" in str(error)


@pytest.mark.parametrize(
    "sql",
    [
        "select 1) as q; select 2; --",
        "select 1; select 2",
        "select 1) to stdout; copy (select 1",
    ],
)
def test_a_postgres_query_cannot_step_out_of_its_one_statement(postgres_url, sql):
    engine = create_warehouse_engine(postgres_url)
    try:
        error = _query_error(engine, sql)
    finally:
        engine.dispose()
    assert "must be one SELECT statement" in str(error)


def test_semicolons_and_parentheses_in_quotes_and_a_trailing_semicolon_are_fine(engine):
    sql = "select ');(' as a, 'x' as \";)\" ;  "
    assert _rows(stream_record_batches(engine, sql, {})) == [{"a": ");(", ";)": "x"}]


@given(value=st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00")))
@settings(deadline=None)
def test_any_text_is_a_value_in_code_and_text_in_quotes_on_postgres(postgres_url, value):
    engine = create_warehouse_engine(postgres_url)
    try:
        sql = "select :value as v, ':value' as literal, $$ :value $$ as dollar -- :value"
        rows = _rows(stream_record_batches(engine, sql, {"value": value}))
    finally:
        engine.dispose()
    assert rows == [{"v": value, "literal": ":value", "dollar": " :value "}]
