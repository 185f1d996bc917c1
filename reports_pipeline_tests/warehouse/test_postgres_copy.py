"""The Postgres path of ``stream_record_batches``: COPY as CSV, parsed by Arrow."""

import math
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from datetime import time as time_of_day
from decimal import Decimal
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
import sqlalchemy

from reports_pipeline.warehouse.fetch import (
    QueryError,
    QueryTimeout,
    create_warehouse_engine,
    stream_record_batches,
)

TEXTS = [
    'He said "hi", then left',
    "two\nlines\r\nand a carriage return",
    "tab\there; semicolon; back\\slash \\N",
    "Müller, Café Lumière, 東京商事 🚀 👩‍💻",
    "",
    None,
    "NULL",
    "  padded  ",
    '"',
    ",",
]


@pytest.fixture
def engine(postgres_url) -> Iterator[sqlalchemy.Engine]:
    engine = create_warehouse_engine(postgres_url)
    yield engine
    engine.dispose()


def _execute(engine: sqlalchemy.Engine, *statements: str) -> None:
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)


def _rows(batches) -> list[dict]:
    return [row for batch in batches for row in batch.to_pylist()]


def _types(batch: pa.RecordBatch) -> dict[str, pa.DataType]:
    return dict(zip(batch.schema.names, batch.schema.types, strict=True))


def test_values_arrive_with_the_arrow_type_of_their_declared_type(engine):
    sql = """
        select cast(-32768 as int2) as i2, cast(2147483647 as int4) as i4,
               cast(-9223372036854775808 as int8) as i8, cast(1.5 as float4) as f4,
               cast(0.1 as float8) as f8, cast(-12345678.91 as numeric(10, 2)) as amount,
               true as yes, false as no, cast(null as boolean) as unknown,
               date '2025-02-28' as day, time '23:59:59.5' as clock,
               timestamp '2025-01-02 03:04:05.123456' as naive,
               timestamptz '2025-01-02 03:04:05+02' as aware,
               cast('x' as varchar(5)) as short_text, cast('ab' as char(4)) as padded,
               cast('{"a": [1, 2]}' as jsonb) as document,
               cast('00000000-0000-0000-0000-000000000001' as uuid) as id,
               interval '1 day 2 hours' as span, array[1, 2] as numbers
    """

    (batch,) = stream_record_batches(engine, sql, {})
    (row,) = batch.to_pylist()

    assert _types(batch) == {
        "i2": pa.int16(),
        "i4": pa.int32(),
        "i8": pa.int64(),
        "f4": pa.float32(),
        "f8": pa.float64(),
        "amount": pa.decimal128(10, 2),
        "yes": pa.bool_(),
        "no": pa.bool_(),
        "unknown": pa.bool_(),
        "day": pa.date32(),
        "clock": pa.time64("us"),
        "naive": pa.timestamp("us"),
        "aware": pa.timestamp("us", "UTC"),
        "short_text": pa.string(),
        "padded": pa.string(),
        "document": pa.string(),
        "id": pa.string(),
        "span": pa.string(),
        "numbers": pa.string(),
    }
    assert row == {
        "i2": -32768,
        "i4": 2147483647,
        "i8": -9223372036854775808,
        "f4": 1.5,
        "f8": 0.1,
        "amount": Decimal("-12345678.91"),
        "yes": True,
        "no": False,
        "unknown": None,
        "day": date(2025, 2, 28),
        "clock": time_of_day(23, 59, 59, 500000),
        "naive": datetime(2025, 1, 2, 3, 4, 5, 123456),
        "aware": datetime(2025, 1, 2, 1, 4, 5, tzinfo=timezone.utc),
        "short_text": "x",
        "padded": "ab  ",
        "document": '{"a": [1, 2]}',
        "id": "00000000-0000-0000-0000-000000000001",
        "span": "1 day 02:00:00",
        "numbers": "{1,2}",
    }


def test_text_comes_back_exactly_and_null_differs_from_empty(engine):
    _execute(engine, "drop table if exists notes", "create table notes (id int, note text)")
    with engine.begin() as connection:
        connection.execute(
            sqlalchemy.text("insert into notes values (:id, :note)"),
            [{"id": index, "note": note} for index, note in enumerate(TEXTS)],
        )

    rows = _rows(stream_record_batches(engine, "select note from notes order by id", {}))

    assert [row["note"] for row in rows] == TEXTS


def test_a_single_column_of_nulls_keeps_every_row(engine):
    sql = "select cast(null as int) as n from generate_series(1, 5)"

    rows = _rows(stream_record_batches(engine, sql, {}))

    assert rows == [{"n": None}] * 5


def test_an_unconstrained_numeric_takes_the_scale_of_its_values(engine):
    sql = """
        select sum(amount) as total, avg(amount) as mean, sum(cast(n as int8)) as count_sum
        from (select n, cast(n / 4.0 as numeric(12, 2)) as amount
              from generate_series(1, 3) n) numbers
    """

    (batch,) = stream_record_batches(engine, sql, {})

    types = _types(batch)
    assert types["total"] == pa.decimal128(38, 2)
    assert types["count_sum"] == pa.decimal128(38, 0)
    assert pa.types.is_decimal(types["mean"])
    assert batch.to_pylist() == [
        {"total": Decimal("1.50"), "mean": Decimal("0.5"), "count_sum": Decimal(6)}
    ]


def test_a_numeric_that_no_decimal_holds_stays_text(engine):
    sql = "select cast('NaN' as numeric) as ratio union all select 1.5"

    (batch,) = stream_record_batches(engine, sql, {})

    assert batch.schema.types == [pa.string()]
    assert batch.column(0).to_pylist() == ["NaN", "1.5"]


def test_special_floats_are_read_as_floats(engine):
    sql = "select cast(x as float8) as v from unnest(array['NaN', 'Infinity', '-Infinity']) x"

    values = [row["v"] for row in _rows(stream_record_batches(engine, sql, {}))]

    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf]


def test_timestamptz_is_utc_whatever_the_session_time_zone(postgres_url):
    # The session zone stays the server's: it decides what the query computes.
    engine = create_warehouse_engine(f"{postgres_url}?options=-c%20TimeZone%3DAsia/Kolkata")
    sql = """
        select timestamptz '2025-01-02 03:04:05+00' as utc,
               cast(:start as timestamptz) as start,
               cast(date_trunc('day', timestamptz '2025-01-01 20:00:00+00') as text) as local_day
    """
    start = datetime(2025, 3, 1, tzinfo=ZoneInfo("America/New_York"))

    (batch,) = stream_record_batches(engine, sql, {"start": start})
    engine.dispose()

    assert _types(batch)["utc"] == pa.timestamp("us", "UTC")
    assert batch.to_pylist() == [
        {
            "utc": datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
            "start": datetime(2025, 3, 1, 5, tzinfo=timezone.utc),
            "local_day": "2025-01-02 00:00:00+05:30",
        }
    ]


def test_sql_injection_in_a_parameter_is_inert(engine):
    _execute(
        engine,
        "drop table if exists orders",
        "create table orders (id int, status text)",
        "insert into orders values (1, 'paid')",
    )
    attack = "x'; drop table orders; --"
    sql = "select id, :status as echoed from orders where status = :status"

    rows = _rows(stream_record_batches(engine, sql, {"status": attack}))
    echoed = _rows(stream_record_batches(engine, "select :status as s", {"status": attack}))

    assert rows == []
    assert echoed == [{"s": attack}]
    with engine.connect() as connection:
        assert connection.exec_driver_sql("select count(*) from orders").scalar() == 1


def test_parameters_of_every_kind_are_bound(engine):
    sql = """
        select :day as day, :amount as amount, :nothing as nothing, 3 = any(:ids) as found,
               :text as text, '100%' as literal
    """
    params = {
        "day": date(2025, 3, 1),
        "amount": Decimal("12.30"),
        "nothing": None,
        "ids": [1, 2, 3],
        "text": "50% off :promo %(x)s $1",
    }

    (row,) = _rows(stream_record_batches(engine, sql, params))

    assert row == {
        "day": date(2025, 3, 1),
        "amount": Decimal("12.30"),
        "nothing": None,
        "found": True,
        "text": "50% off :promo %(x)s $1",
        "literal": "100%",
    }


def test_batches_hold_exactly_batch_size_rows_across_many_reads(engine):
    sql = "select n, repeat('x', 100) as padding from generate_series(1, 100003) n order by n"

    batches = list(stream_record_batches(engine, sql, {}, batch_size=7000))

    assert [batch.num_rows for batch in batches] == [7000] * 14 + [2003]
    assert [n for batch in batches for n in batch.column("n").to_pylist()] == list(range(1, 100004))


def test_values_with_line_breaks_and_quotes_survive_every_cut_between_reads(engine):
    # About 4 MiB of rows whose values hold quotes and newlines.
    sql = """
        select n, repeat('a "quoted", ' || chr(10) || 'line ', n % 13) as note
        from generate_series(1, 40000) n order by n
    """

    rows = _rows(stream_record_batches(engine, sql, {}, batch_size=10000))

    assert len(rows) == 40000
    assert all(row["note"] == 'a "quoted", \nline ' * (row["n"] % 13) for row in rows)


def test_a_row_longer_than_one_read_is_read_whole(engine):
    sql = "select n, repeat('ab,\"c' || chr(10), 1000000) as big from generate_series(1, 2) n"

    rows = _rows(stream_record_batches(engine, sql, {}))

    assert [row["n"] for row in rows] == [1, 2]
    assert all(row["big"] == 'ab,"c\n' * 1000000 for row in rows)


def test_zero_rows_yield_one_empty_batch_with_the_declared_types(engine):
    sql = "select 1 as n, cast(1 as numeric(5, 1)) as amount, now() as at where false"

    (batch,) = stream_record_batches(engine, sql, {})

    assert batch.num_rows == 0
    assert batch.schema.types == [pa.int32(), pa.decimal128(5, 1), pa.timestamp("us", "UTC")]


def test_repeated_and_unusual_column_names_are_kept(engine):
    (batch,) = stream_record_batches(engine, 'select 1 as a, 2 as a, 3 as "odd, ""name"""', {})

    assert batch.schema.names == ["a", "a", 'odd, "name"']


def test_a_trailing_semicolon_or_comment_is_accepted(engine):
    for sql in ["select 1 as one;  \n", "select 1 as one -- the answer"]:
        assert _rows(stream_record_batches(engine, sql, {})) == [{"one": 1}]


def test_an_error_half_way_through_raises_query_error(engine):
    sql = "select 1 / (n - 150000) as v from generate_series(1, 200000) n"

    with pytest.raises(QueryError, match="division by zero"):
        list(stream_record_batches(engine, sql, {}, batch_size=1000))


def test_a_value_arrow_cannot_read_raises_query_error_naming_the_column(engine):
    sql = """
        select n, case when n = 90000 then timestamp 'infinity' else timestamp '2025-01-01'
                  end as valid_to
        from generate_series(1, 200000) n
    """

    with pytest.raises(QueryError, match="'valid_to'.*infinity"):
        list(stream_record_batches(engine, sql, {}))

    assert _rows(stream_record_batches(engine, "select 2 as two", {})) == [{"two": 2}]


def test_a_report_query_cannot_write(engine):
    _execute(engine, "drop table if exists kept", "create table kept as select 1 as id")

    with pytest.raises(QueryError):
        list(
            stream_record_batches(
                engine, "with d as (delete from kept returning id) select * from d", {}
            )
        )

    with engine.connect() as connection:
        assert connection.exec_driver_sql("select count(*) from kept").scalar() == 1


def test_a_timeout_while_rows_stream_raises_query_timeout(engine):
    sql = "select n, pg_sleep(case when n = 3 then 30 else 0 end) from generate_series(1, 5) n"

    with pytest.raises(QueryTimeout):
        list(stream_record_batches(engine, sql, {}, batch_size=1, timeout=timedelta(seconds=0.3)))


def test_time_the_consumer_spends_between_batches_does_not_count(engine):
    # Several MiB: more than the pipe and socket buffers hold, so the COPY waits for the reader.
    sql = "select n, repeat('x', 60) as padding from generate_series(1, 300000) n"
    rows = 0

    # The query itself needs well under the timeout, even on a loaded machine; the consumer
    # alone spends longer than the timeout on the first batch.
    for batch in stream_record_batches(
        engine, sql, {}, batch_size=100000, timeout=timedelta(seconds=3)
    ):
        if rows == 0:
            time.sleep(3.5)
        rows += batch.num_rows

    assert rows == 300000


def test_a_consumer_that_stops_early_ends_the_copy(engine):
    sql = "select n, repeat('x', 100) as padding from generate_series(1, 10000000) n"
    batches = stream_record_batches(engine, sql, {}, batch_size=1000)

    next(batches)
    batches.close()

    assert not [thread for thread in threading.enumerate() if thread.name == "postgres-copy-out"]
    copies = sqlalchemy.text(
        "select count(*) from pg_stat_activity where datname = current_database()"
        " and state = 'active' and query like 'COPY%'"
    )
    with engine.connect() as connection:
        assert connection.execute(copies).scalar() == 0
    assert _rows(stream_record_batches(engine, "select 2 as two", {})) == [{"two": 2}]


def test_the_session_settings_end_with_the_query(engine):
    show = "select current_setting('DateStyle') || ' ' || current_setting('extra_float_digits')"
    with engine.connect() as connection:
        before = connection.exec_driver_sql(show).scalar()

    list(stream_record_batches(engine, "select 1", {}))

    with engine.connect() as connection:
        assert connection.exec_driver_sql(show).scalar() == before
