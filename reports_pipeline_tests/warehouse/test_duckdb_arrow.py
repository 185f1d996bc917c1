"""The DuckDB path of ``stream_record_batches``: DuckDB's own Arrow reader."""

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
import sqlalchemy

from reports_pipeline.warehouse.fetch import (
    QueryError,
    create_warehouse_engine,
    stream_record_batches,
)


@pytest.fixture
def engine(tmp_path) -> Iterator[sqlalchemy.Engine]:
    engine = create_warehouse_engine(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    yield engine
    engine.dispose()


def _rows(batches) -> list[dict]:
    return [row for batch in batches for row in batch.to_pylist()]


def test_columns_keep_duckdb_types_in_forms_every_renderer_writes(engine):
    sql = """
        select 42 as an_int, 9223372036854775807 as a_bigint, 1.5::double as a_double,
               12.34::decimal(10, 2) as a_decimal, true as a_bool, date '2025-02-28' as a_date,
               timestamptz '2025-01-02 03:04:05+02' as aware,
               timestamp '2025-01-02 03:04:05' as naive,
               'Zürich 東京 🎉' as a_text, 'b'::enum('a', 'b') as an_enum,
               [1, 2] as a_list, {'k': 'v', 'n': 1} as a_struct,
               interval 1 month + interval 2 day + interval 3 second as a_span,
               null as nothing
    """

    (batch,) = stream_record_batches(engine, sql, {})
    (row,) = batch.to_pylist()

    assert dict(zip(batch.schema.names, batch.schema.types, strict=True)) == {
        "an_int": pa.int32(),
        "a_bigint": pa.int64(),
        "a_double": pa.float64(),
        "a_decimal": pa.decimal128(10, 2),
        "a_bool": pa.bool_(),
        "a_date": pa.date32(),
        "aware": pa.timestamp("us", "UTC"),
        "naive": pa.timestamp("us"),
        "a_text": pa.string(),
        "an_enum": pa.string(),
        "a_list": pa.string(),
        "a_struct": pa.string(),
        "a_span": pa.duration("us"),
        "nothing": pa.null(),
    }
    assert row == {
        "an_int": 42,
        "a_bigint": 9223372036854775807,
        "a_double": 1.5,
        "a_decimal": Decimal("12.34"),
        "a_bool": True,
        "a_date": date(2025, 2, 28),
        "aware": datetime(2025, 1, 2, 1, 4, 5, tzinfo=timezone.utc),
        "naive": datetime(2025, 1, 2, 3, 4, 5),
        "a_text": "Zürich 東京 🎉",
        "an_enum": "b",
        "a_list": "[1, 2]",
        "a_struct": '{"k": "v", "n": 1}',
        "a_span": timedelta(days=32, seconds=3),
        "nothing": None,
    }


def test_named_parameters_are_bound_by_duckdb(engine):
    # As everywhere with SQLAlchemy's text(), a colon that starts no parameter is escaped.
    sql = r"""
        select :status as status, :status = 'paid' as is_paid, :start as start, :day as day,
               '$1 and \:not_a_parameter' as literal
    """
    params = {
        "status": "paid",
        "start": datetime(2025, 3, 1, tzinfo=ZoneInfo("America/New_York")),
        "day": date(2025, 3, 1),
        "unused": 1,
    }

    (row,) = _rows(stream_record_batches(engine, sql, params))

    assert row == {
        "status": "paid",
        "is_paid": True,
        "start": datetime(2025, 3, 1, 5, tzinfo=timezone.utc),
        "day": date(2025, 3, 1),
        "literal": "$1 and :not_a_parameter",
    }


def test_sql_injection_in_a_parameter_is_inert(engine):
    with engine.begin() as connection:
        connection.exec_driver_sql("create table orders as select 1 as id, 'paid' as status")
    attack = "x'; drop table orders; --"

    rows = _rows(
        stream_record_batches(
            engine, "select id from orders where status = :status", {"status": attack}
        )
    )

    assert rows == []
    with engine.connect() as connection:
        assert connection.exec_driver_sql("select count(*) from orders").scalar() == 1


def test_batches_hold_exactly_batch_size_rows(engine):
    sql = "select range as n from range(100003) order by n"

    batches = list(stream_record_batches(engine, sql, {}, batch_size=7000))

    assert [batch.num_rows for batch in batches] == [7000] * 14 + [2003]
    assert [n for batch in batches for n in batch.column("n").to_pylist()] == list(range(100003))


def test_zero_rows_yield_one_empty_batch_with_the_declared_types(engine):
    sql = "select 1 as n, 1.5::decimal(5, 1) as amount, 'x' as label where false"

    (batch,) = stream_record_batches(engine, sql, {})

    assert batch.num_rows == 0
    assert batch.schema.names == ["n", "amount", "label"]
    assert batch.schema.types == [pa.int32(), pa.decimal128(5, 1), pa.string()]


def test_a_consumer_that_stops_early_leaves_the_engine_usable(engine):
    batches = stream_record_batches(engine, "select range from range(10000000)", {}, batch_size=10)

    next(batches)
    batches.close()

    assert _rows(stream_record_batches(engine, "select 2 as two", {})) == [{"two": 2}]


def test_an_error_raises_query_error_with_the_duckdb_message(engine):
    with pytest.raises(QueryError, match="the duckdb query failed: .*no_such_table"):
        list(stream_record_batches(engine, "select * from no_such_table", {}))
