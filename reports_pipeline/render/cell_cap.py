"""What one cell may add to a rendering people read: at most so many characters, then a marker.

A PDF, an HTML page, a workbook or an e-mail preview is read, not parsed: a value of 100 MB
in one of them helps nobody and costs gigabytes to lay out. Files meant for programs (CSV,
JSON, Parquet) keep every value whole instead.
"""

import pyarrow as pa
import pyarrow.compute as pc

TRUNCATED = "… (truncated)"


def cut_column(column: pa.Array, limit: int) -> pa.Array:
    """``column`` with text and binary values longer than ``limit`` cut to ``limit + 1``.

    Done in Arrow before values become Python objects, so a huge value is never copied whole;
    the one extra character lets :func:`cap_cell` see that the value was longer and say so.
    Other types come back unchanged.
    """
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    data_type = column.type
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        lengths, cut = pc.utf8_length, pc.utf8_slice_codeunits  # code points, despite the name
    elif pa.types.is_binary(data_type) or pa.types.is_large_binary(data_type):
        lengths, cut = pc.binary_length, pc.binary_slice
    else:
        return column
    if not pc.any(pc.greater(lengths(column), limit)).as_py():
        return column
    return cut(column, 0, limit + 1)


def cap_cell(text: str, limit: int) -> str:
    """``text`` as it is, or its first ``limit`` characters followed by ``… (truncated)``."""
    return text if len(text) <= limit else text[:limit] + TRUNCATED
