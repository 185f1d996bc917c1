"""CSV files: UTF-8, one header row, ISO dates and timestamps, NULL as an empty field."""

import codecs
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv

from reports_pipeline.spec.report import CsvOptions


def render_csv(
    batches: Iterable[pa.RecordBatch], destination: Path, options: CsvOptions, document=None
) -> int:
    """Write ``batches`` as CSV to ``destination``; return the number of data rows written.

    ``options.delimiter`` separates fields and ``options.bom`` starts the file with a UTF-8
    byte order mark (which Excel needs to read UTF-8). The header comes from the first batch,
    so it is written even when there are no rows; later batches may type their columns
    differently (a column that was all NULL). Batches are written one at a time, so memory
    does not grow with the row count.
    """
    rows = 0
    header = True
    with open(destination, "wb") as sink:
        if options.bom:
            sink.write(codecs.BOM_UTF8)
        for batch in batches:
            write_options = pa_csv.WriteOptions(include_header=header, delimiter=options.delimiter)
            pa_csv.write_csv(_whole_seconds(batch), sink, write_options)
            header = False
            rows += batch.num_rows
    if header:
        raise ValueError("no record batches to write: even zero rows come as one empty batch")
    return rows


def _whole_seconds(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Timestamps without a fraction as ``2025-01-31 09:00:00``, not ``...09:00:00.000000``."""
    columns = []
    for column in batch.columns:
        if pa.types.is_timestamp(column.type) and column.type.unit != "s":
            try:
                # A safe cast refuses to drop a fraction, so sub-second values keep it.
                column = column.cast(pa.timestamp("s", column.type.tz))
            except pa.ArrowInvalid:
                pass
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)
