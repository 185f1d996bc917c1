from datetime import date, datetime, timezone
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reports_pipeline.render import RenderResult, render_file
from reports_pipeline.render.parquet_file import render_parquet
from reports_pipeline.spec.report import ParquetOptions


def _batch(**columns) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({name: pa.array(values) for name, values in columns.items()})


def test_values_and_types_read_back(tmp_path):
    batch = _batch(
        id=[1, None],
        amount=[Decimal("12.50"), None],
        ratio=[0.25, 1.5],
        note=["東京商事 🚀", None],
        day=[date(2025, 1, 2), None],
        at=[datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc), None],
        paid=[True, None],
    )

    rows = render_parquet([batch], tmp_path / "out.parquet", ParquetOptions())

    table = pq.read_table(tmp_path / "out.parquet")
    assert rows == 2
    assert table.schema.field("id").type == pa.int64()
    assert table.schema.field("at").type == pa.timestamp("us", "UTC")
    assert table.to_pylist() == batch.to_pylist()


@pytest.mark.parametrize(
    "codec, recorded",
    [("snappy", "SNAPPY"), ("zstd", "ZSTD"), ("gzip", "GZIP"), ("none", "UNCOMPRESSED")],
)
def test_the_codec_option_compresses_the_columns(tmp_path, codec, recorded):
    render_parquet([_batch(n=[1, 2])], tmp_path / "out.parquet", ParquetOptions(codec=codec))

    metadata = pq.ParquetFile(tmp_path / "out.parquet").metadata
    assert metadata.row_group(0).column(0).compression == recorded


def test_a_column_null_in_the_first_batch_takes_its_later_type(tmp_path):
    first = _batch(id=[1, 2], amount=[None, None])
    later = _batch(id=[3], amount=[2.5])
    assert first.schema.field("amount").type == pa.null()

    rows = render_parquet(iter([first, later]), tmp_path / "out.parquet", ParquetOptions())

    table = pq.read_table(tmp_path / "out.parquet")
    assert rows == 3
    assert table.schema.field("amount").type == pa.float64()
    assert table.column("amount").to_pylist() == [None, None, 2.5]


def test_a_column_untyped_past_the_held_rows_is_written_as_text(tmp_path):
    batches = [_batch(id=[1, 2], code=[None, None]), _batch(id=[3], code=[42])]

    render_parquet(batches, tmp_path / "out.parquet", ParquetOptions(), max_buffered_rows=2)

    table = pq.read_table(tmp_path / "out.parquet")
    assert table.schema.field("code").type == pa.string()
    assert table.column("code").to_pylist() == [None, None, "42"]


def test_integers_and_floats_held_back_unify_to_floats(tmp_path):
    # The NULL column keeps the first batch held back, so both types of x are seen.
    batches = [_batch(x=[1, 2], later=[None, None]), _batch(x=[2.5], later=["typed"])]

    render_parquet(batches, tmp_path / "out.parquet", ParquetOptions())

    table = pq.read_table(tmp_path / "out.parquet")
    assert table.schema.field("x").type == pa.float64()
    assert table.column("x").to_pylist() == [1.0, 2.0, 2.5]


def test_decimals_of_any_precision_in_later_batches_fit(tmp_path):
    batches = [_batch(amount=[Decimal("1.50")]), _batch(amount=[Decimal("123456789012.25")])]

    render_parquet(batches, tmp_path / "out.parquet", ParquetOptions())

    assert pq.read_table(tmp_path / "out.parquet").column("amount").to_pylist() == [
        Decimal("1.50"),
        Decimal("123456789012.25"),
    ]


def test_a_later_batch_that_does_not_convert_names_the_column(tmp_path):
    batches = [_batch(id=[1], amount=[1]), _batch(id=[2], amount=["n/a"])]

    with pytest.raises(ValueError, match="column 'amount' is int64"):
        render_parquet(batches, tmp_path / "out.parquet", ParquetOptions())


def test_each_batch_is_written_as_its_own_row_group(tmp_path):
    batches = [_batch(n=list(range(i * 10, i * 10 + 10))) for i in range(4)]

    rows = render_parquet(iter(batches), tmp_path / "out.parquet", ParquetOptions())

    file = pq.ParquetFile(tmp_path / "out.parquet")
    assert rows == 40 and file.metadata.num_row_groups == 4
    assert file.read().column("n").to_pylist() == list(range(40))


def test_very_long_text_is_written_whole(tmp_path):
    long_text = "é" * 50_000 + "x" * 50_000

    render_parquet([_batch(body=[long_text])], tmp_path / "out.parquet", ParquetOptions())

    assert pq.read_table(tmp_path / "out.parquet").column("body").to_pylist() == [long_text]


def test_zero_rows_write_an_empty_file_with_the_columns(tmp_path):
    empty = pa.RecordBatch.from_arrays([pa.array([], pa.null())] * 2, names=["id", "name"])

    rows = render_parquet([empty], tmp_path / "out.parquet", ParquetOptions())

    table = pq.read_table(tmp_path / "out.parquet")
    assert rows == 0
    assert table.num_rows == 0 and table.column_names == ["id", "name"]


def test_a_batch_with_other_columns_is_refused(tmp_path):
    with pytest.raises(ValueError, match="a batch has columns"):
        render_parquet([_batch(a=[1]), _batch(b=[2])], tmp_path / "out.parquet", ParquetOptions())


def test_no_batches_at_all_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no record batches"):
        render_parquet(iter([]), tmp_path / "out.parquet", ParquetOptions())


def test_render_file_dispatches_parquet_and_counts_rows(tmp_path):
    result = render_file("parquet", [_batch(n=[1, 2])], tmp_path / "o.parquet", ParquetOptions())

    assert result == RenderResult(rows=2)
    assert pq.read_table(tmp_path / "o.parquet").column("n").to_pylist() == [1, 2]
