"""DuckDB: a query's rows through DuckDB's own Arrow reader, batch by batch."""

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pyarrow as pa
import sqlalchemy
from sqlalchemy import text

from reports_pipeline.warehouse.errors import QueryError
from reports_pipeline.warehouse.placeholders import bindable_text

_DAYS_PER_MONTH = 30  # as DuckDB's own Python conversion of an interval to a timedelta


def stream_duckdb(
    connection: sqlalchemy.Connection, sql: str, params: dict, *, batch_size: int, limit: Any
) -> Iterator[pa.RecordBatch]:
    """Yield the rows of ``sql`` as record batches of ``batch_size`` rows (the last fewer).

    Column types are DuckDB's, the same in every batch, with three changes so that every
    renderer can write them: timestamps with a time zone are labelled UTC, enums are text, lists,
    structs and maps are JSON text, and intervals are durations (a month counted as 30 days).

    ``limit.call()`` bounds each wait for the database: starting the query and each batch.
    """
    # SQLAlchemy finds the :name parameters as it does to execute text(sql) on DuckDB, as $1,
    # $2, ... in the order of positiontup; DuckDB binds them. A :name in quotes is text.
    compiled = text(bindable_text(sql)).compile(dialect=connection.dialect)
    values = compiled.construct_params(params)
    positional = [values[name] for name in compiled.positiontup or ()]
    connection.begin()  # a DuckDB transaction, rolled back when the connection closes
    duckdb_connection = connection.connection.dbapi_connection
    with limit.call():
        # A relation streams; the result of execute() would be copied whole first.
        relation = duckdb_connection.sql(compiled.string, params=positional or None)
    if relation is None:
        raise QueryError("the query returned no result set (is it a SELECT?)")
    with limit.call():
        reader = relation.to_arrow_reader(batch_size)
    with reader:
        yielded = False
        while True:
            with limit.call():
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
            yield _plain(batch)
            yielded = True
        if not yielded:
            yield _plain(pa.RecordBatch.from_pylist([], schema=reader.schema))


def _plain(batch: pa.RecordBatch) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [_plain_array(array) for array in batch.columns], names=batch.schema.names
    )


def _plain_array(array: pa.Array) -> pa.Array:
    type_ = array.type
    if pa.types.is_timestamp(type_) and type_.tz is not None:
        return array.cast(pa.timestamp(type_.unit, "UTC"))  # DuckDB labels them 'Etc/UTC'
    if pa.types.is_dictionary(type_):
        return _plain_array(array.dictionary_decode())
    if pa.types.is_interval(type_):
        return pa.array([_duration(value) for value in array.to_pylist()], pa.duration("us"))
    if pa.types.is_nested(type_):
        return pa.array([_json(value) for value in array.to_pylist()], pa.string())
    return array


def _duration(value: Any) -> timedelta | None:
    if value is None:
        return None
    months, days, nanoseconds = value
    return timedelta(days=months * _DAYS_PER_MONTH + days, microseconds=nanoseconds // 1000)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)
