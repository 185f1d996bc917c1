from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pyarrow as pa

from reports_pipeline.render import RenderResult, render_file
from reports_pipeline.render.xlsx_file import render_xlsx
from reports_pipeline.spec.report import XlsxOptions


def _batch(**columns) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({name: pa.array(values) for name, values in columns.items()})


def _values(path: Path) -> list[tuple]:
    sheet = openpyxl.load_workbook(path).active
    return list(sheet.iter_rows(values_only=True))


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
