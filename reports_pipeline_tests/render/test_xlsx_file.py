from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pyarrow as pa
import pytest

from reports_pipeline.render import RenderResult, render_file
from reports_pipeline.render.xlsx_file import EXCEL_MAX_ROWS, TRUNCATED, render_xlsx
from reports_pipeline.spec.report import XlsxOptions


def _batch(**columns) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({name: pa.array(values) for name, values in columns.items()})


def _values(path: Path) -> list[tuple]:
    sheet = openpyxl.load_workbook(path).active
    return list(sheet.iter_rows(values_only=True))


def _sheets(path: Path) -> dict[str, list[tuple]]:
    workbook = openpyxl.load_workbook(path)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook}


def test_the_header_row_is_bold_and_data_is_not(tmp_path):
    render_xlsx([_batch(region=["EMEA"])], tmp_path / "out.xlsx", XlsxOptions())

    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    assert sheet["A1"].value == "region" and sheet["A1"].font.b
    assert sheet["A2"].value == "EMEA" and not sheet["A2"].font.b


def test_numbers_and_booleans_stay_typed(tmp_path):
    batch = _batch(
        count=[None, 3], ratio=[None, 0.25], amount=[None, Decimal("12.50")], ok=[None, False]
    )

    rows = render_xlsx([batch], tmp_path / "out.xlsx", XlsxOptions())

    assert rows == 2
    header, empty, values = _values(tmp_path / "out.xlsx")
    assert empty == (None, None, None, None)
    assert values == (3, 0.25, 12.5, False)
    assert [type(value) for value in values] == [int, float, float, bool]


def test_dates_and_datetimes_are_excel_dates(tmp_path):
    batch = _batch(day=[date(2025, 1, 2)], at=[datetime(2025, 1, 2, 3, 4, 5)])

    render_xlsx([batch], tmp_path / "out.xlsx", XlsxOptions())

    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    assert sheet["A2"].value == datetime(2025, 1, 2) and sheet["A2"].number_format == "yyyy-mm-dd"
    assert sheet["B2"].value == datetime(2025, 1, 2, 3, 4, 5)
    assert sheet["B2"].number_format == "yyyy-mm-dd hh:mm:ss"


def test_an_aware_datetime_keeps_its_wall_clock_time(tmp_path):
    at = datetime(2025, 7, 1, 9, 0, tzinfo=ZoneInfo("America/New_York"))

    render_xlsx([_batch(at=[at])], tmp_path / "out.xlsx", XlsxOptions())

    assert _values(tmp_path / "out.xlsx")[1] == (datetime(2025, 7, 1, 9, 0),)


def test_the_sheet_name_option_names_the_sheet(tmp_path):
    render_xlsx([_batch(n=[1])], tmp_path / "out.xlsx", XlsxOptions(sheet_name="Revenue Q1"))

    assert openpyxl.load_workbook(tmp_path / "out.xlsx").sheetnames == ["Revenue Q1"]


def test_zero_rows_write_the_header_only(tmp_path):
    empty = pa.RecordBatch.from_arrays([pa.array([], pa.null())] * 2, names=["id", "name"])

    rows = render_xlsx([empty], tmp_path / "out.xlsx", XlsxOptions())

    assert rows == 0
    assert _values(tmp_path / "out.xlsx") == [("id", "name")]


def test_batches_with_differing_schemas_fill_one_sheet(tmp_path):
    first = _batch(id=[1], note=[None])
    later = _batch(id=[2], note=["typed now"])

    rows = render_xlsx(iter([first, later]), tmp_path / "out.xlsx", XlsxOptions())

    assert rows == 2
    assert _values(tmp_path / "out.xlsx") == [("id", "note"), (1, None), (2, "typed now")]


def test_unicode_survives_and_control_characters_are_dropped(tmp_path):
    names = ["Müller GmbH", "東京商事 🚀", "bell\x07 here"]

    render_xlsx([_batch(customer=names)], tmp_path / "out.xlsx", XlsxOptions())

    assert [row[0] for row in _values(tmp_path / "out.xlsx")[1:]] == [
        "Müller GmbH",
        "東京商事 🚀",
        "bell here",
    ]


def test_render_file_dispatches_xlsx_and_counts_rows(tmp_path):
    result = render_file("xlsx", [_batch(n=[1, 2])], tmp_path / "out.xlsx", XlsxOptions())

    assert result == RenderResult(rows=2)
    assert _values(tmp_path / "out.xlsx") == [("n",), (1,), (2,)]


def test_the_header_is_frozen(tmp_path):
    render_xlsx([_batch(n=[1])], tmp_path / "out.xlsx", XlsxOptions())

    assert openpyxl.load_workbook(tmp_path / "out.xlsx").active.freeze_panes == "A2"


def test_freeze_header_false_freezes_nothing(tmp_path):
    render_xlsx([_batch(n=[1])], tmp_path / "out.xlsx", XlsxOptions(freeze_header=False))

    assert openpyxl.load_workbook(tmp_path / "out.xlsx").active.freeze_panes is None


def test_the_autofilter_covers_header_and_data(tmp_path):
    batches = [_batch(a=[1, 2], b=["x", "y"], c=[True, False]), _batch(a=[3], b=["z"], c=[None])]

    render_xlsx(batches, tmp_path / "out.xlsx", XlsxOptions())

    assert openpyxl.load_workbook(tmp_path / "out.xlsx").active.auto_filter.ref == "A1:C4"


def test_autofilter_false_sets_no_filter(tmp_path):
    render_xlsx([_batch(n=[1])], tmp_path / "out.xlsx", XlsxOptions(autofilter=False))

    assert openpyxl.load_workbook(tmp_path / "out.xlsx").active.auto_filter.ref is None


def test_column_widths_follow_header_and_values_within_bounds(tmp_path):
    batch = _batch(
        id=[1],
        customer_name_in_full=["x"],
        note=["y" * 1000],
        at=[datetime(2025, 1, 2, 3, 4, 5)],
        city=["東京商事東京商事東京商事"],
    )

    render_xlsx([batch], tmp_path / "out.xlsx", XlsxOptions())

    widths = openpyxl.load_workbook(tmp_path / "out.xlsx").active.column_dimensions
    assert 8 <= widths["A"].width < 12
    assert 23 <= widths["B"].width <= 30  # the header
    assert widths["C"].width <= 61  # capped (openpyxl reads back Excel's padding)
    assert widths["C"].width >= 60
    assert widths["D"].width >= 19  # yyyy-mm-dd hh:mm:ss
    assert widths["E"].width >= 24  # wide characters count twice


def test_times_are_excel_times(tmp_path):
    render_xlsx([_batch(at=[time(13, 30, 15)])], tmp_path / "out.xlsx", XlsxOptions())

    cell = openpyxl.load_workbook(tmp_path / "out.xlsx").active["A2"]
    assert cell.value == time(13, 30, 15) and cell.number_format == "hh:mm:ss"


def test_dates_before_1900_are_written_as_iso_text(tmp_path):
    batch = _batch(day=[date(1899, 12, 31), date(1900, 1, 1), date(1900, 3, 1)])

    render_xlsx([batch], tmp_path / "out.xlsx", XlsxOptions())

    assert [row[0] for row in _values(tmp_path / "out.xlsx")[1:]] == [
        "1899-12-31",
        datetime(1900, 1, 1),
        datetime(1900, 3, 1),
    ]


def test_nan_and_infinity_are_empty_cells(tmp_path):
    batch = _batch(ratio=[float("nan"), float("inf"), 0.5])

    render_xlsx([batch], tmp_path / "out.xlsx", XlsxOptions())

    assert _values(tmp_path / "out.xlsx")[1:] == [(None,), (None,), (0.5,)]


def _cells_of_column_a(path: Path) -> list[tuple]:
    sheet = openpyxl.load_workbook(path).active
    return [
        (cell.value, cell.data_type, cell.quotePrefix) for (cell,) in sheet.iter_rows(min_row=2)
    ]


def test_text_that_looks_like_a_formula_stays_text_marked_with_a_quote_prefix(tmp_path):
    notes = ["=1+1", "+A1", "@SUM(A1)", "-2+3", "plain", "-12.5"]

    render_xlsx([_batch(note=notes)], tmp_path / "out.xlsx", XlsxOptions())

    assert _cells_of_column_a(tmp_path / "out.xlsx") == [
        ("=1+1", "s", True),
        ("+A1", "s", True),
        ("@SUM(A1)", "s", True),
        ("-2+3", "s", True),
        ("plain", "s", False),
        ("-12.5", "s", False),  # just a number, written as the text it is
    ]


def test_negative_numbers_stay_numbers(tmp_path):
    render_xlsx(
        [_batch(n=[-3, 4], amount=[Decimal("-12.50"), None])], tmp_path / "out.xlsx", XlsxOptions()
    )

    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    assert [(cell.value, cell.data_type, cell.quotePrefix) for cell in sheet[2]] == [
        (-3, "n", False),
        (-12.5, "n", False),
    ]


def test_formula_escape_false_writes_plain_text_cells(tmp_path):
    options = XlsxOptions(formula_escape=False)

    render_xlsx([_batch(note=["=1+1", "@x"])], tmp_path / "out.xlsx", options)

    assert _cells_of_column_a(tmp_path / "out.xlsx") == [("=1+1", "s", False), ("@x", "s", False)]


def test_text_over_the_excel_cell_limit_is_truncated_with_a_marker(tmp_path):
    long_text = "é" * 50_000 + "x" * 50_000

    render_xlsx([_batch(body=[long_text, "short"])], tmp_path / "out.xlsx", XlsxOptions())

    written = _values(tmp_path / "out.xlsx")[1][0]
    assert len(written) == 32_767
    assert written == long_text[: 32_767 - len(TRUNCATED)] + TRUNCATED
    assert _values(tmp_path / "out.xlsx")[2] == ("short",)


def test_binary_over_the_excel_cell_limit_is_truncated_with_a_marker(tmp_path):
    render_xlsx([_batch(data=[b"\x00" * 1_000_000])], tmp_path / "out.xlsx", XlsxOptions())

    written = _values(tmp_path / "out.xlsx")[1][0]
    assert len(written) <= 32_767
    assert written.startswith("b'\\x00") and written.endswith(TRUNCATED)


def test_rows_past_the_sheet_limit_continue_on_numbered_sheets(tmp_path):
    batches = [_batch(n=[1, 2, 3], name=["a", "b", "c"]), _batch(n=[4, 5], name=["d", "e"])]

    rows = render_xlsx(batches, tmp_path / "out.xlsx", XlsxOptions(), max_rows_per_sheet=3)

    assert rows == 5
    assert _sheets(tmp_path / "out.xlsx") == {
        "Report": [("n", "name"), (1, "a"), (2, "b")],
        "Report (2)": [("n", "name"), (3, "c"), (4, "d")],
        "Report (3)": [("n", "name"), (5, "e")],
    }


def test_every_overflow_sheet_has_its_own_frozen_header_and_filter(tmp_path):
    render_xlsx([_batch(n=[1, 2, 3])], tmp_path / "out.xlsx", XlsxOptions(), max_rows_per_sheet=2)

    workbook = openpyxl.load_workbook(tmp_path / "out.xlsx")
    assert [sheet["A1"].font.b for sheet in workbook] == [True, True, True]
    assert [sheet.freeze_panes for sheet in workbook] == ["A2", "A2", "A2"]
    assert [sheet.auto_filter.ref for sheet in workbook] == ["A1:A2", "A1:A2", "A1:A2"]


def test_a_long_sheet_name_is_shortened_to_fit_its_number(tmp_path):
    name = "Quarterly revenue by region EU"  # 30 characters
    options = XlsxOptions(sheet_name=name)

    render_xlsx([_batch(n=[1, 2])], tmp_path / "out.xlsx", options, max_rows_per_sheet=2)

    assert openpyxl.load_workbook(tmp_path / "out.xlsx").sheetnames == [
        name,
        "Quarterly revenue by region (2)",
    ]


def test_a_batch_with_other_columns_is_refused(tmp_path):
    with pytest.raises(ValueError, match="a batch has columns"):
        render_xlsx([_batch(a=[1]), _batch(b=[2])], tmp_path / "out.xlsx", XlsxOptions())


def test_no_batches_at_all_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no record batches"):
        render_xlsx(iter([]), tmp_path / "out.xlsx", XlsxOptions())


def test_the_real_excel_row_limit_continues_on_a_second_sheet(tmp_path):
    # The header and 1,048,575 data rows fill a sheet: the last two rows go on to a second one.
    total = EXCEL_MAX_ROWS + 1
    batches = (
        pa.RecordBatch.from_arrays([pa.array(range(start, min(start + 100_000, total)))], ["n"])
        for start in range(0, total, 100_000)
    )

    rows = render_xlsx(batches, tmp_path / "out.xlsx", XlsxOptions())

    assert rows == total
    workbook = openpyxl.load_workbook(tmp_path / "out.xlsx", read_only=True)
    assert workbook.sheetnames == ["Report", "Report (2)"]
    assert workbook["Report"].max_row == EXCEL_MAX_ROWS
    assert list(workbook["Report (2)"].iter_rows(values_only=True)) == [
        ("n",),
        (EXCEL_MAX_ROWS - 1,),
        (EXCEL_MAX_ROWS,),
    ]
