from decimal import Decimal

import pyarrow as pa
import pytest

from reports_pipeline.render.fingerprint import (
    CHUNK_ROWS,
    DataFingerprintTap,
    content_fingerprint,
)
from reports_pipeline.spec.report import CsvOptions, HtmlOptions

ROWS = CHUNK_ROWS * 2 + 1234  # rows in more than one chunk, and a partial last chunk


def invoices(rows: int = ROWS, **changes) -> pa.Table:
    columns = {
        "id": pa.array(range(rows), pa.int64()),
        "customer": pa.array([None if i % 7 == 0 else f"Müller {i % 13}" for i in range(rows)]),
        "amount": pa.array([Decimal(i % 1000) / 4 for i in range(rows)], pa.decimal128(12, 2)),
        "paid": pa.array([None if i % 5 == 0 else i % 2 == 0 for i in range(rows)]),
    }
    columns.update(changes)
    return pa.table(columns)


def fingerprint(batches) -> str:
    tap = DataFingerprintTap(batches)
    passed = list(tap)
    assert passed == list(batches)  # the renderer gets the batches unchanged
    return tap.hexdigest()


def split(table: pa.Table, cuts: list[int]) -> list[pa.RecordBatch]:
    bounds = [0, *cuts, table.num_rows]
    return [
        table.slice(start, end - start).combine_chunks().to_batches()[0]
        for start, end in zip(bounds, bounds[1:], strict=False)
        if end > start
    ]


def test_the_same_rows_in_any_batches_have_the_same_fingerprint():
    table = invoices()
    expected = fingerprint(table.to_batches(max_chunksize=50_000))

    assert fingerprint(table.to_batches(max_chunksize=777)) == expected
    assert fingerprint(table.to_batches()) == expected  # one batch
    assert fingerprint(split(table, [1, CHUNK_ROWS - 1, CHUNK_ROWS + 1, ROWS - 1])) == expected
    empty = table.slice(0, 0).to_batches(max_chunksize=1) or [
        pa.RecordBatch.from_pylist([], schema=table.schema)
    ]
    assert fingerprint([*empty, *table.to_batches(max_chunksize=30_000)]) == expected


def test_the_bytes_under_a_null_do_not_count():
    validity = pa.array([True, False, True]).buffers()[1]
    zeros = pa.py_buffer(pa.array([1, 0, 3], pa.int64()).buffers()[1].to_pybytes())
    junk = pa.py_buffer(pa.array([1, 999, 3], pa.int64()).buffers()[1].to_pybytes())
    one = pa.Array.from_buffers(pa.int64(), 3, [validity, zeros], null_count=1)
    other = pa.Array.from_buffers(pa.int64(), 3, [validity, junk], null_count=1)
    assert one.to_pylist() == other.to_pylist() == [1, None, 3]

    assert fingerprint([pa.record_batch([one], names=["n"])]) == fingerprint(
        [pa.record_batch([other], names=["n"])]
    )


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param(lambda t: t.set_column(0, "id", pa.array([*range(ROWS - 1), -1])), id="value"),
        pytest.param(lambda t: t.rename_columns(["id", "client", "amount", "paid"]), id="name"),
        pytest.param(lambda t: t.set_column(0, "id", t["id"].cast(pa.int32())), id="type"),
        pytest.param(lambda t: t.slice(0, ROWS - 1), id="one row less"),
        pytest.param(
            lambda t: t.set_column(
                1,
                "customer",
                pa.array(
                    ["" if i % 7 == 0 else v for i, v in enumerate(t["customer"].to_pylist())]
                ),
            ),
            id="null became empty text",
        ),
        pytest.param(
            lambda t: t.set_column(3, "paid", pa.array([False] + t["paid"].to_pylist()[1:])),
            id="null became false",
        ),
    ],
)
def test_a_change_in_the_data_changes_the_fingerprint(changed):
    table = invoices()
    assert fingerprint(changed(table).to_batches(50_000)) != fingerprint(table.to_batches(50_000))


def test_values_moving_across_a_boundary_between_texts_change_the_fingerprint():
    one = pa.table({"t": ["ab", "c"]}).to_batches()
    other = pa.table({"t": ["a", "bc"]}).to_batches()
    assert fingerprint(one) != fingerprint(other)


def test_the_fingerprint_is_known_only_after_the_last_batch():
    tap = DataFingerprintTap(invoices(10).to_batches(max_chunksize=4))
    iterator = iter(tap)
    next(iterator)
    with pytest.raises(RuntimeError, match="once every batch was read"):
        tap.hexdigest()


DATA = "0" * 64


def test_content_fingerprint_is_stable_and_follows_the_settings_that_shape_the_file(tmp_path):
    csv = content_fingerprint(DATA, format="csv", options=CsvOptions())
    assert content_fingerprint(DATA, format="csv", options=CsvOptions()) == csv
    changes = [
        content_fingerprint("1" * 64, format="csv", options=CsvOptions()),
        content_fingerprint(DATA, format="csv", options=CsvOptions(delimiter=";")),
        content_fingerprint(DATA, format="csv", options=CsvOptions(compress="gzip")),
        content_fingerprint(DATA, format="csv", options=CsvOptions(compress="zip")),
        content_fingerprint(DATA, format="json", options=CsvOptions()),
    ]
    assert len({csv, *changes}) == 1 + len(changes)


def test_a_document_template_counts_by_its_bytes(tmp_path):
    template = tmp_path / "mine.html.j2"
    template.write_text("<h1>{{ title }}</h1>", encoding="utf-8")
    options = HtmlOptions(template="mine.html.j2")

    def html(**kwargs):
        return content_fingerprint(DATA, format="html", options=options, **kwargs)

    first = html(template=template, title="Sales")
    assert html(template=template, title="Sales") == first
    assert html(template=template, title="Revenue") != first
    template.write_text("<h2>{{ title }}</h2>", encoding="utf-8")
    assert html(template=template, title="Sales") != first
