"""JSON files: an array of objects, or JSON Lines; each row an object keyed by column name."""

import base64
import json
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from reports_pipeline.render.csv_file import write_text_rows
from reports_pipeline.spec.report import JsonOptions

# What JSON strings escape, as json.dumps does: the backslash first, so that it is not escaped
# again in the escapes that follow.
_COMMON_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_COMMON = '[\\\\"\\n\\r\\t]'
# Control characters other than tab, line feed and carriage return: rare, escaped by json.dumps.
_RARE_CONTROL = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]"


def render_json(
    batches: Iterable[pa.RecordBatch], destination: Path, options: JsonOptions, document=None
) -> int:
    """Write ``batches`` as UTF-8 JSON to ``destination``; return the number of rows written.

    By default the file is one array of objects, one object per line, ``[]`` with no rows;
    with ``options.lines`` it is JSON Lines, one object per line and nothing else. Numbers are
    numbers (a ``Decimal`` keeps every digit: ``12.50`` is written as it is, not through a
    float); NaN and infinities, which JSON lacks, are null like NULL. Dates, times and
    timestamps are ISO 8601 strings (``2025-01-31``, ``2025-01-31T09:00:00``, aware ones with
    their offset: ``2025-01-31T09:00:00+01:00``); text is not escaped to ASCII. Nested values
    go through ``json.dumps`` (binary as base64, decimals inside them as floats).

    Each batch is turned into text with Arrow compute and written straight from its buffer,
    so memory holds one batch, whatever the row count.
    """
    # In an array every object starts with ",\n": the very first one without the comma.
    before, after = ("", "\n") if options.lines else (",\n", "")
    rows = 0
    seen = False
    with open(destination, "wb") as sink:
        if not options.lines:
            sink.write(b"[")
        for batch in batches:
            seen = True
            if batch.num_rows == 0:
                continue
            objects = _objects(batch, before, after)
            if rows == 0 and not options.lines:
                sink.write(objects[0].as_py()[1:].encode("utf-8"))
                objects = objects.slice(1)
            write_text_rows(objects, sink)
            rows += batch.num_rows
        if not options.lines:
            sink.write(b"\n]\n" if rows else b"]\n")
    if not seen:
        raise ValueError("no record batches to write: even zero rows come as one empty batch")
    return rows


def _objects(batch: pa.RecordBatch, before: str, after: str) -> pa.Array:
    """One JSON object per row of ``batch`` as text, each between ``before`` and ``after``."""
    if batch.num_columns == 0:
        return pa.array([before + "{}" + after] * batch.num_rows, pa.string())
    parts: list = []
    for index, (name, column) in enumerate(zip(batch.schema.names, batch.columns, strict=True)):
        key = json.dumps(name, ensure_ascii=False) + ":"
        parts.append((before + "{" if index == 0 else ",") + key)
        parts.append(_values(column))
    parts.append("}" + after)
    return pc.binary_join_element_wise(*parts, "", null_handling="replace", null_replacement="null")


def _values(column: pa.Array) -> pa.Array:
    """The JSON text of each value of ``column``; NULL stays null (joined in as ``null``)."""
    data_type = column.type
    if pa.types.is_dictionary(data_type):
        return _values(column.dictionary_decode())
    if pa.types.is_null(data_type):
        return pa.nulls(len(column), pa.string())
    if pa.types.is_integer(data_type) or pa.types.is_decimal(data_type):
        return column.cast(pa.string())
    if pa.types.is_boolean(data_type):
        return column.cast(pa.string())
    if pa.types.is_floating(data_type):
        return pc.if_else(pc.is_finite(column), column.cast(pa.string()), None)
    if pa.types.is_timestamp(data_type):
        return _quoted(_iso_timestamps(column))
    if pa.types.is_date(data_type) or pa.types.is_time(data_type):
        return _quoted(column.cast(pa.string()))
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return _json_strings(column.cast(pa.string()))
    dumped = [None if value is None else _dumps(value) for value in column.to_pylist()]
    return pa.array(dumped, pa.string())


def _iso_timestamps(column: pa.Array) -> pa.Array:
    text = pc.strftime(column, "%Y-%m-%dT%H:%M:%S" + ("%Ez" if column.type.tz else ""))
    # As datetime.isoformat(): a fraction of a second only when there is one.
    return pc.replace_substring_regex(text, r"\.0+($|[+-])", r"\1")


def _quoted(text: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise('"', text, '"', "")


def _json_strings(text: pa.Array) -> pa.Array:
    """JSON string literals; escaped in Arrow, and only when the column needs it, so plain text
    is not copied once per escape (memory stays within a few times the column's size)."""
    if pc.any(pc.match_substring_regex(text, _RARE_CONTROL)).as_py():
        return pa.array([None if value is None else _dumps(value) for value in text.to_pylist()])
    if pc.any(pc.match_substring_regex(text, _COMMON)).as_py():
        for character, escaped in _COMMON_ESCAPES.items():
            if pc.any(pc.match_substring(text, character)).as_py():
                text = pc.replace_substring(text, character, escaped)
    return _quoted(text)


def _dumps(value: Any) -> str:
    return json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), default=_plain, allow_nan=False
    )


def _plain(value: Any) -> Any:
    """What ``json.dumps`` writes for a value it does not know."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)
