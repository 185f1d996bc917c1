"""Excel workbooks: a bold frozen header, typed cells, more sheets past Excel's row limit."""

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from reports_pipeline.render.cell_cap import TRUNCATED, cut_column
from reports_pipeline.render.formula_escape import is_formula_like
from reports_pipeline.spec.report import XlsxOptions

EXCEL_MAX_ROWS = 1_048_576  # rows of one sheet, the header included
EXCEL_MAX_TEXT = 32_767  # characters (UTF-16 code units) of one cell
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
TIME_FORMAT = "hh:mm:ss"

_EPOCH_SERIAL = 25569  # Excel's serial number of 1970-01-01
_MARCH_1900_SERIAL = 61  # Excel counts a 29 February 1900 that never was: earlier ones are 1 less
_ILLEGAL = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]"  # control characters invalid in sheet XML
_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}
_WIDTHS = (8, 60)  # column widths in characters: from the header and a sample, within these
_WIDTH_SAMPLE = 200
_FIXED_WIDTHS = {"date": 10, "datetime": 19, "time": 8}


def render_xlsx(
    batches: Iterable[pa.RecordBatch],
    destination: Path,
    options: XlsxOptions,
    document=None,
    *,
    max_rows_per_sheet: int = EXCEL_MAX_ROWS,
) -> int:
    """Write ``batches`` to sheet ``options.sheet_name``; return the number of data rows written.

    Numbers (``Decimal`` too) stay numbers, booleans booleans, NULL an empty cell, and so do
    NaN and infinities (an error cell would break a SUM over the column). Dates, datetimes and
    times are Excel dates formatted ``yyyy-mm-dd``, ``yyyy-mm-dd hh:mm:ss`` and ``hh:mm:ss``.
    Excel has no time zones: an aware datetime is written as its wall-clock time in its own
    zone, so 9:00 in New York shows as 09:00. Excel has no dates before 1900 either: those are
    written as ISO text. Text longer than Excel's limit of 32,767 characters per cell is cut to
    fit and ends in ``… (truncated)``; control characters, invalid in a sheet, are dropped.

    Text is always a text cell (``write_string``; xlsxwriter's ``strings_to_formulas``, which
    only ``write`` heeds, is off too), so ``=1+1`` is never a formula. With
    ``options.formula_escape`` (the default) text a spreadsheet would take for a formula (see
    ``formula_escape``) is also marked as text with Excel's quote prefix: shown as it is, with a
    ``'`` in the formula bar, it stays text when the cell is edited.

    The header row is bold, frozen (``options.freeze_header``) and filters the data below it
    (``options.autofilter``); column widths come from the header and the first rows. Past
    ``max_rows_per_sheet`` rows (header included; Excel's limit by default) the rows go on in
    sheets named ``<sheet_name> (2)``, ``(3)``..., each with its own header.

    The workbook is streamed with xlsxwriter's ``constant_memory`` mode: each row is written
    to disk once the next one starts, so memory holds one batch whatever the row count.
    """
    if max_rows_per_sheet < 2:
        raise ValueError("max_rows_per_sheet must leave room for the header and one row")
    # Cells are written with write_string/write_number, never write(); strings_to_formulas off
    # all the same, so that no later write() could turn a value into a formula.
    settings = {"constant_memory": True, "nan_inf_to_errors": True, "strings_to_formulas": False}
    with xlsxwriter.Workbook(str(destination), settings) as workbook:
        sheets = _Sheets(workbook, options, max_rows_per_sheet)
        for batch in batches:
            sheets.append(batch)
        if sheets.names is None:
            raise ValueError("no record batches to write: even zero rows come as one empty batch")
        sheets.finish()
    return sheets.rows


class _Sheets:
    """The sheets of one workbook, filled row after row; a new one starts when one is full."""

    def __init__(self, workbook: Workbook, options: XlsxOptions, max_rows: int):
        self.workbook = workbook
        self.options = options
        self.max_rows = max_rows
        self.formats = {
            "header": workbook.add_format({"bold": True}),
            "date": workbook.add_format({"num_format": DATE_FORMAT}),
            "datetime": workbook.add_format({"num_format": DATETIME_FORMAT}),
            "time": workbook.add_format({"num_format": TIME_FORMAT}),
            "formula_like": workbook.add_format({"quote_prefix": True}),
        }
        self.names: list[str] | None = None
        self.widths: list[float] = []
        self.sheet: Worksheet | None = None
        self.sheet_count = 0
        self.next_row = 0  # in the current sheet
        self.rows = 0  # data rows in all sheets

    def append(self, batch: pa.RecordBatch) -> None:
        columns = [_cells(column) for column in batch.columns]
        if self.names is None:
            self.names = batch.schema.names
            self.widths = [
                _width(name, cells) for name, cells in zip(self.names, columns, strict=True)
            ]
            self._start_sheet()
        elif batch.schema.names != self.names:
            raise ValueError(f"a batch has columns {batch.schema.names}, expected {self.names}")
        start = 0
        while start < batch.num_rows:
            if self.next_row == self.max_rows:
                self._start_sheet()
            stop = min(batch.num_rows, start + self.max_rows - self.next_row)
            self._write_rows(columns, start, stop)
            start = stop

    def finish(self) -> None:
        if self.options.autofilter and self.names:
            self.sheet.autofilter(0, 0, self.next_row - 1, len(self.names) - 1)

    def _start_sheet(self) -> None:
        if self.sheet is not None:
            self.finish()
        self.sheet_count += 1
        name = self.options.sheet_name
        if self.sheet_count > 1:
            suffix = f" ({self.sheet_count})"
            name = name[: 31 - len(suffix)] + suffix  # Excel's limit for a sheet name
        self.sheet = self.workbook.add_worksheet(name)
        for index, width in enumerate(self.widths):
            self.sheet.set_column(index, index, width)
        header = self.formats["header"]
        for index, column_name in enumerate(self.names):
            self.sheet.write_string(0, index, re.sub(_ILLEGAL, "", column_name), header)
        if self.options.freeze_header:
            self.sheet.freeze_panes(1, 0)
        self.next_row = 1

    def _write_rows(self, columns: list, start: int, stop: int) -> None:
        # One writer per column, chosen once from its Arrow type: the loop below runs per cell.
        writers = [
            (index, values, self._writer(method), self.formats.get(format_key))
            for index, (values, method, format_key) in enumerate(columns)
            if method is not None
        ]
        row = self.next_row
        for position in range(start, stop):
            for index, values, write, cell_format in writers:
                value = values[position]
                if value is not None:
                    write(row, index, value, cell_format)
            row += 1
        self.rows += row - self.next_row
        self.next_row = row

    def _writer(self, method: str):
        sheet = self.sheet
        if method == "write_string" and self.options.formula_escape:
            quote_prefix = self.formats["formula_like"]

            def write_text(row, column, value, cell_format):
                if is_formula_like(value):
                    cell_format = quote_prefix
                sheet.write_string(row, column, value, cell_format)

            return write_text
        if method != "write_date_or_text":
            return getattr(sheet, method)

        def write_date_or_text(row, column, value, cell_format):
            if isinstance(value, str):  # a date before 1900
                sheet.write_string(row, column, value)
            else:
                sheet.write_number(row, column, value, cell_format)

        return write_date_or_text


def _cells(column: pa.Array) -> tuple[list, str | None, str | None]:
    """The column's cell values as Python objects, the sheet method writing them, their format."""
    data_type = column.type
    if pa.types.is_dictionary(data_type):
        return _cells(column.dictionary_decode())
    if pa.types.is_null(data_type):
        return [], None, None
    if pa.types.is_boolean(data_type):
        return column.to_pylist(), "write_boolean", None
    if pa.types.is_integer(data_type):
        return column.to_pylist(), "write_number", None
    if pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        numbers = column.cast(pa.float64())
        if pa.types.is_floating(data_type):
            numbers = pc.if_else(pc.is_finite(numbers), numbers, None)
        return numbers.to_pylist(), "write_number", None
    if pa.types.is_date(data_type):
        days = column.cast(pa.date32()).cast(pa.int32())
        return (*_serials(column, days, 1), "date")
    if pa.types.is_timestamp(data_type):
        wall_clock = pc.local_timestamp(column) if data_type.tz else column
        counts = wall_clock.cast(pa.int64())
        return (*_serials(column, counts, _PER_DAY[data_type.unit]), "datetime")
    if pa.types.is_time(data_type):
        counts = column.cast(pa.int64() if data_type.bit_width == 64 else pa.int32())
        fraction = pc.divide(counts.cast(pa.float64()), float(_PER_DAY[data_type.unit]))
        return fraction.to_pylist(), "write_number", "time"
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return _text(column), "write_string", None
    values = cut_column(column, EXCEL_MAX_TEXT).to_pylist()  # binary: cut before str()
    texts = [None if value is None else _within_limit(str(value)) for value in values]
    return texts, "write_string", None


def _serials(column: pa.Array, counts: pa.Array, per_day: int) -> tuple[list, str]:
    """Excel serial numbers of dates or datetimes given as units since 1970; ISO text pre-1900."""
    serials = pc.add(pc.divide(counts.cast(pa.float64()), float(per_day)), float(_EPOCH_SERIAL))
    serials = pc.if_else(pc.less(serials, _MARCH_1900_SERIAL), pc.subtract(serials, 1.0), serials)
    values = serials.to_pylist()
    if pc.any(pc.less(serials, 1.0)).as_py():
        texts = column.cast(pa.string()).to_pylist()
        values = [
            text if value is not None and value < 1 else value
            for value, text in zip(values, texts, strict=True)
        ]
        return values, "write_date_or_text"
    return values, "write_number"


def _text(column: pa.Array) -> list:
    if pc.any(pc.match_substring_regex(column, _ILLEGAL)).as_py():
        column = pc.replace_substring_regex(column, _ILLEGAL, "")
    # Cut in Arrow, one character past the limit: a huge value never becomes a Python string.
    values = cut_column(column, EXCEL_MAX_TEXT).to_pylist()
    # Shorter than half the limit in code points is within it in UTF-16 units: skip the check.
    if pc.any(pc.greater(pc.utf8_length(column), EXCEL_MAX_TEXT // 2)).as_py():
        values = [None if value is None else _within_limit(value) for value in values]
    return values


def _within_limit(text: str) -> str:
    encoded = text.encode("utf-16-le")
    if len(encoded) <= 2 * EXCEL_MAX_TEXT:
        return text
    keep = 2 * (EXCEL_MAX_TEXT - len(TRUNCATED))
    # "ignore" drops half of a surrogate pair cut in two.
    return encoded[:keep].decode("utf-16-le", errors="ignore") + TRUNCATED


def _width(name: str, cells: tuple[list, str | None, str | None]) -> float:
    values, method, format_key = cells
    widest = _display_width(name) + 2  # room for the autofilter button
    if format_key in _FIXED_WIDTHS:
        widest = max(widest, _FIXED_WIDTHS[format_key])
    elif method is not None:
        for value in values[:_WIDTH_SAMPLE]:
            if value is None:
                continue
            if method != "write_string":
                widest = max(widest, min(len(str(value)), 12))  # "General" shows ~11 digits
            else:
                widest = max(widest, _display_width(value.split("\n", 1)[0][: _WIDTHS[1]]))
    return min(max(widest + 1, _WIDTHS[0]), _WIDTHS[1])


def _display_width(text: str) -> int:
    """Characters on screen: wide ones (東京, emoji) take two."""
    return sum(2 if unicodedata.east_asian_width(character) in "WF" else 1 for character in text)
