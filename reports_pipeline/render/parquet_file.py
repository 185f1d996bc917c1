"""Parquet files: one schema for the whole result, written batch by batch as row groups."""

from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from reports_pipeline.spec.report import ParquetOptions

MAX_BUFFERED_ROWS = 100_000


def render_parquet(
    batches: Iterable[pa.RecordBatch],
    destination: Path,
    options: ParquetOptions,
    document=None,
    *,
    max_buffered_rows: int = MAX_BUFFERED_ROWS,
) -> int:
    """Write ``batches`` as Parquet compressed with ``options.codec``; return the rows written.

    A Parquet file has one schema, fixed before its first row, while the batches of a result
    may type a column differently: ``null`` where a batch has only NULLs, decimals with the
    precision of the batch's values, ``int64`` here and ``double`` there. So the first batches
    are held back, up to ``max_buffered_rows`` rows, until every column has had a type, and the
    schema is what their types unify to (``null`` takes the other type, integers widen to
    floats, decimals get precision 38 so that larger values in later batches fit, though not
    more decimal places). A column without a type by then (all NULL so far, or in the whole
    result) is written as ``string``, and its later values are cast to text. Every batch is
    cast to the schema; one that cannot be (text in a number column) raises ``ValueError``
    naming the column. Memory holds at most the held batches or one batch, whatever the row
    count.
    """
    source = iter(batches)
    held: list[pa.RecordBatch] = []
    held_rows = 0
    for batch in source:
        held.append(batch)
        held_rows += batch.num_rows
        if _all_typed(held) or held_rows >= max_buffered_rows:
            break
    if not held:
        raise ValueError("no record batches to write: even zero rows come as one empty batch")
    schema = _schema(held)
    rows = 0
    with pq.ParquetWriter(destination, schema, compression=options.codec) as writer:
        for batch in _drained(held, source):
            if batch.num_rows:
                writer.write_batch(_conformed(batch, schema))
                rows += batch.num_rows
    return rows


def _all_typed(held: list[pa.RecordBatch]) -> bool:
    typed = {
        name
        for batch in held
        for name, data_type in zip(batch.schema.names, batch.schema.types, strict=True)
        if not pa.types.is_null(data_type)
    }
    return typed.issuperset(held[0].schema.names)


def _schema(held: list[pa.RecordBatch]) -> pa.Schema:
    names = held[0].schema.names
    for batch in held:
        _check_names(batch, names)
    schemas = [pa.schema([_plain_field(field) for field in batch.schema]) for batch in held]
    try:
        unified = pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(
            f"the columns of the first batches have conflicting types: {exc}"
        ) from None
    return pa.schema([_settled(field) for field in unified], metadata=unified.metadata)


def _plain_field(field: pa.Field) -> pa.Field:
    if pa.types.is_dictionary(field.type):
        return field.with_type(field.type.value_type)
    return field


def _settled(field: pa.Field) -> pa.Field:
    if pa.types.is_null(field.type):
        return field.with_type(pa.string())
    if isinstance(field.type, pa.Decimal128Type):
        return field.with_type(pa.decimal128(38, field.type.scale))
    return field


def _drained(held: list[pa.RecordBatch], rest: Iterator[pa.RecordBatch]):
    """The held batches, each let go once written, then the rest."""
    while held:
        yield held.pop(0)
    yield from rest


def _conformed(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    _check_names(batch, schema.names)
    if batch.schema.equals(schema):
        return batch
    columns = []
    for field, column in zip(schema, batch.columns, strict=True):
        if column.type != field.type:
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                raise ValueError(
                    f"column {field.name!r} is {field.type} in the Parquet schema but a later"
                    f" batch has {column.type} values that do not convert: {exc}"
                ) from None
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _check_names(batch: pa.RecordBatch, names: list[str]) -> None:
    if batch.schema.names != names:
        raise ValueError(f"a batch has columns {batch.schema.names}, expected {names}")
