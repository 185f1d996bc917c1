import pyarrow as pa

from reports_pipeline.render.preview import PREVIEW_CELL_CHARS, PREVIEW_ROWS, PreviewTap


def _batch(**columns) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({name: pa.array(values) for name, values in columns.items()})


def test_the_batches_pass_through_unchanged():
    batches = [_batch(n=[1, 2]), _batch(n=[3])]

    assert list(PreviewTap(iter(batches))) == batches


def test_the_first_rows_are_kept_as_text_with_null_as_empty():
    tap = PreviewTap(
        [_batch(region=["EMEA", None], amount=[1.5, 2.0]), _batch(region=["APAC"], amount=[3.0])]
    )
    list(tap)

    assert tap.as_dict() == {
        "columns": ["region", "amount"],
        "rows": [["EMEA", "1.5"], ["", "2.0"], ["APAC", "3.0"]],
    }


def test_no_more_than_the_limit_of_rows_is_kept():
    tap = PreviewTap([_batch(n=list(range(PREVIEW_ROWS + 5))), _batch(n=[99])])
    list(tap)

    assert [row[0] for row in tap.rows] == [str(n) for n in range(PREVIEW_ROWS)]


def test_a_long_value_keeps_its_start_and_says_it_was_truncated():
    # 10 MB in one cell: the preview travels in the run's records and in e-mails.
    tap = PreviewTap([_batch(note=["é" * 10_000_000, "short"], data=[b"\x00" * 1_000_000, b"ok"])])
    list(tap)

    assert tap.rows[0][0] == "é" * PREVIEW_CELL_CHARS + "… (truncated)"
    assert tap.rows[0][1].endswith("… (truncated)")
    assert len(tap.rows[0][1]) == PREVIEW_CELL_CHARS + len("… (truncated)")
    assert tap.rows[1] == ["short", "b'ok'"]
