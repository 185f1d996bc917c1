import codecs
import csv
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from reports_pipeline.render import RenderResult, render_file
from reports_pipeline.render.csv_file import render_csv
from reports_pipeline.spec.report import CsvOptions


def _read(path: Path, delimiter: str = ",") -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as file:
        return list(csv.reader(file, delimiter=delimiter))


def _batch(**columns) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({name: pa.array(values) for name, values in columns.items()})


def test_header_and_values_are_written_as_text(tmp_path):
    batch = _batch(
        id=[1, 2],
        amount=[Decimal("12.50"), None],
        ratio=[0.25, 1.5],
        note=['say "hi", ok', "two\nlines"],
        day=[date(2025, 1, 2), None],
        at=[datetime(2025, 1, 2, 3, 4, 5), datetime(2025, 12, 31, 23, 59, 59)],
        paid=[True, False],
    )

    rows = render_csv([batch], tmp_path / "out.csv", CsvOptions())

    assert rows == 2
    assert _read(tmp_path / "out.csv") == [
        ["id", "amount", "ratio", "note", "day", "at", "paid"],
        ["1", "12.50", "0.25", 'say "hi", ok', "2025-01-02", "2025-01-02 03:04:05", "true"],
        ["2", "", "1.5", "two\nlines", "", "2025-12-31 23:59:59", "false"],
    ]


def test_timestamps_keep_a_fraction_of_a_second(tmp_path):
    batch = _batch(at=[datetime(2025, 1, 2, 3, 4, 5, 250000)])

    render_csv([batch], tmp_path / "out.csv", CsvOptions())

    assert _read(tmp_path / "out.csv")[1] == ["2025-01-02 03:04:05.250000"]


def test_aware_timestamps_carry_their_offset(tmp_path):
    batch = _batch(at=[datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)])

    render_csv([batch], tmp_path / "out.csv", CsvOptions())

    assert _read(tmp_path / "out.csv")[1] == ["2025-01-02 03:04:05Z"]


def test_the_delimiter_option_separates_fields(tmp_path):
    batch = _batch(city=["Paris"], amount=[Decimal("1.5")])

    render_csv([batch], tmp_path / "out.csv", CsvOptions(delimiter=";"))

    lines = (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()
    assert lines[1] == "Paris;1.5"
    assert _read(tmp_path / "out.csv", delimiter=";") == [["city", "amount"], ["Paris", "1.5"]]


@pytest.mark.parametrize("bom", [True, False])
def test_the_bom_option_decides_the_byte_order_mark(tmp_path, bom):
    render_csv([_batch(n=[1])], tmp_path / "out.csv", CsvOptions(bom=bom))

    content = (tmp_path / "out.csv").read_bytes()
    assert content.startswith(codecs.BOM_UTF8) is bom
    assert content.removeprefix(codecs.BOM_UTF8).startswith(b"n\n")


def test_zero_rows_write_the_header_only(tmp_path):
    empty = pa.RecordBatch.from_arrays([pa.array([], pa.null())] * 2, names=["id", "name"])

    rows = render_csv([empty], tmp_path / "out.csv", CsvOptions())

    assert rows == 0
    assert _read(tmp_path / "out.csv") == [["id", "name"]]


def test_batches_with_differing_schemas_share_one_header(tmp_path):
    first = _batch(id=[1, 2], note=[None, None])
    later = _batch(id=[3], note=["typed now"])
    assert first.schema.field("note").type == pa.null()

    rows = render_csv(iter([first, later]), tmp_path / "out.csv", CsvOptions())

    assert rows == 3
    assert _read(tmp_path / "out.csv") == [["id", "note"], ["1", ""], ["2", ""], ["3", "typed now"]]


def test_unicode_text_survives_as_utf8(tmp_path):
    names = ["Müller GmbH", "Café Lumière", "東京商事", "rocket 🚀", "Ærø, Danmark"]

    render_csv([_batch(customer=names)], tmp_path / "out.csv", CsvOptions())

    assert [row[0] for row in _read(tmp_path / "out.csv")[1:]] == names


def test_very_long_text_is_written_whole(tmp_path):
    long_text = "é" * 50_000 + "x" * 50_000

    render_csv([_batch(body=[long_text])], tmp_path / "out.csv", CsvOptions())

    assert _read(tmp_path / "out.csv")[1] == [long_text]


def test_text_a_spreadsheet_would_run_gets_a_leading_quote(tmp_path):
    notes = ["=1+1", "+A1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "plain", "-12.5", "+3", "", None]

    render_csv([_batch(note=notes, n=list(range(len(notes))))], tmp_path / "out.csv", CsvOptions())

    assert [row[0] for row in _read(tmp_path / "out.csv")[1:]] == [
        "'=1+1",
        "'+A1",
        "'-2+3",
        "'@SUM(A1)",
        "'\t=1",
        "'\r=1",
        "plain",
        "-12.5",  # just a number: a spreadsheet runs nothing
        "+3",
        "",
        "",
    ]


def test_numbers_dates_and_other_typed_values_are_never_escaped(tmp_path):
    batch = _batch(
        amount=[Decimal("-12.50")], ratio=[-0.5], n=[-3], day=[date(2025, 1, 2)], note=["=x"]
    )

    # A delimiter found in numbers makes Arrow write every column as text: still not escaped.
    for delimiter in (",", "-"):
        render_csv([batch], tmp_path / "out.csv", CsvOptions(delimiter=delimiter))

        row = _read(tmp_path / "out.csv", delimiter)[1]
        assert row == ["-12.50", "-0.5", "-3", "2025-01-02", "'=x"]


@pytest.mark.parametrize("quoting", ["needed", "all", "none"])
def test_the_escape_works_with_every_quoting(tmp_path, quoting):
    batch = _batch(note=['=HYPERLINK("http://x")' if quoting != "none" else "=1+1"])

    render_csv([batch], tmp_path / "out.csv", CsvOptions(quoting=quoting))

    assert _read(tmp_path / "out.csv")[1][0].startswith("'=")


def test_formula_escape_false_writes_text_as_it_is(tmp_path):
    render_csv(
        [_batch(note=["=1+1", "@x"])], tmp_path / "out.csv", CsvOptions(formula_escape=False)
    )

    assert [row[0] for row in _read(tmp_path / "out.csv")[1:]] == ["=1+1", "@x"]


def test_needed_quoting_quotes_only_the_values_that_need_it(tmp_path):
    batch = _batch(
        n=[1, 2, 3, 4, 5, 6],
        note=["plain", "a,b", 'say "hi"', "two\nlines", "", None],
    )

    render_csv([batch], tmp_path / "out.csv", CsvOptions(quoting="needed"))

    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == (
        'n,note\n1,plain\n2,"a,b"\n3,"say ""hi"""\n4,"two\nlines"\n5,""\n6,\n'
    )


def test_needed_quoting_writes_other_values_alike_with_or_without_quoted_text(tmp_path):
    values = dict(
        id=[1],
        amount=[Decimal("-12.50")],
        ratio=[0.1],
        day=[date(2025, 1, 2)],
        at=[datetime(2025, 1, 2, 3, 4, 5)],
        at_utc=[datetime(2025, 1, 2, 3, 4, 5, 250000, tzinfo=timezone.utc)],
        paid=[True],
    )
    plain = _batch(**values, note=["plain"])
    quoted = _batch(**values, note=["needs, quotes"])

    render_csv([plain, quoted], tmp_path / "out.csv", CsvOptions())

    header, first, second = _read(tmp_path / "out.csv")
    assert first[:-1] == second[:-1]
    assert first[:-1] == [
        "1",
        "-12.50",
        "0.1",
        "2025-01-02",
        "2025-01-02 03:04:05",
        "2025-01-02 03:04:05.250000Z",
        "true",
    ]
    assert [first[-1], second[-1]] == ["plain", "needs, quotes"]


def test_all_quoting_quotes_every_value_but_null(tmp_path):
    batch = _batch(n=[1, None], note=["a", ""])

    render_csv([batch], tmp_path / "out.csv", CsvOptions(quoting="all"))

    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == '"n","note"\n"1","a"\n,""\n'


def test_none_quoting_writes_values_bare(tmp_path):
    batch = _batch(n=[1], note=["say hi"], day=[date(2025, 1, 2)])

    render_csv([batch], tmp_path / "out.csv", CsvOptions(quoting="none"))

    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == "n,note,day\n1,say hi,2025-01-02\n"


@pytest.mark.parametrize("value", ["a;b", "two\nlines", 'say "hi"'])
def test_none_quoting_refuses_a_value_that_would_break_the_file(tmp_path, value):
    later = _batch(id=[2, 3], comment=["fine", value])

    with pytest.raises(ValueError, match="column 'comment', data row 3"):
        render_csv(
            [_batch(id=[1], comment=["ok"]), later],
            tmp_path / "out.csv",
            CsvOptions(quoting="none", delimiter=";"),
        )


def test_none_quoting_refuses_a_column_name_with_the_delimiter(tmp_path):
    with pytest.raises(ValueError, match="column name 'a,b'"):
        render_csv([_batch(**{"a,b": [1]})], tmp_path / "out.csv", CsvOptions(quoting="none"))


def test_a_column_name_is_quoted_only_when_it_needs_it(tmp_path):
    render_csv([_batch(**{"city": ["x"], "net, EUR": [1]})], tmp_path / "out.csv", CsvOptions())

    assert (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()[0] == 'city,"net, EUR"'


def test_a_delimiter_found_in_numbers_gets_them_quoted(tmp_path):
    batch = _batch(ratio=[1.5], day=[date(2025, 1, 2)])

    render_csv([batch], tmp_path / "out.csv", CsvOptions(delimiter="."))

    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == 'ratio.day\n"1.5".2025-01-02\n'
    assert _read(tmp_path / "out.csv", delimiter=".") == [["ratio", "day"], ["1.5", "2025-01-02"]]


def test_many_batches_read_back_in_order_under_one_header(tmp_path):
    batches = [_batch(n=[i], note=[f"row {i}" + (", quoted" if i % 2 else "")]) for i in range(5)]

    rows = render_csv(iter(batches), tmp_path / "out.csv", CsvOptions())

    assert rows == 5
    assert _read(tmp_path / "out.csv") == [["n", "note"]] + [
        [str(i), f"row {i}" + (", quoted" if i % 2 else "")] for i in range(5)
    ]


def test_a_batch_with_other_columns_is_refused(tmp_path):
    with pytest.raises(ValueError, match="a batch has columns"):
        render_csv([_batch(a=[1]), _batch(b=[2])], tmp_path / "out.csv", CsvOptions())


def test_no_batches_at_all_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no record batches"):
        render_csv(iter([]), tmp_path / "out.csv", CsvOptions())


def test_render_file_dispatches_csv_and_counts_rows(tmp_path):
    result = render_file("csv", [_batch(n=[1, 2, 3])], tmp_path / "out.csv", CsvOptions())

    assert result == RenderResult(rows=3)
    assert len(_read(tmp_path / "out.csv")) == 4


def test_render_file_rejects_an_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="unknown report format 'docx'"):
        render_file("docx", [_batch(n=[1])], tmp_path / "out.docx", CsvOptions())
