"""Excel workbooks: one sheet, a bold header row, cells that keep their types."""

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from reports_pipeline.spec.report import XlsxOptions

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
_NATIVE = (bool, int, float, Decimal, time, timedelta)


def render_xlsx(
    batches: Iterable[pa.RecordBatch], destination: Path, options: XlsxOptions, document=None
) -> int:
    """Write ``batches`` to one sheet named ``options.sheet_name``; return the data rows written.

    Numbers (``Decimal`` too) stay numbers, booleans booleans, NULL an empty cell; dates and
    datetimes are Excel dates formatted ``yyyy-mm-dd`` / ``yyyy-mm-dd hh:mm:ss``. Excel has no
    time zones: an aware datetime is written as its wall-clock time in its own zone, so
    9:00 in New York shows as 09:00. The workbook is written in openpyxl's write-only mode,
    which streams rows to disk instead of keeping them in memory.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(options.sheet_name)
    rows = 0
    header = True
    for batch in batches:
        if header:
            sheet.append([_bold(sheet, name) for name in batch.schema.names])
            header = False
        for row in zip(*(column.to_pylist() for column in batch.columns), strict=True):
            sheet.append([_cell(sheet, value) for value in row])
        rows += batch.num_rows
    if header:
        raise ValueError("no record batches to write: even zero rows come as one empty batch")
    workbook.save(destination)
    return rows


def _bold(sheet: WriteOnlyWorksheet, name: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=_text(name))
    cell.font = Font(bold=True)
    return cell


def _cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    if value is None or isinstance(value, _NATIVE):
        return value
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=value.replace(tzinfo=None))
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    return _text(str(value))  # bytes, UUIDs, ...: shown as text rather than failing the report


def _text(value: str) -> str:
    # Control characters are invalid in the XML of a sheet; openpyxl would refuse the row.
    return ILLEGAL_CHARACTERS_RE.sub("", value)
