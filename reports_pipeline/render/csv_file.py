"""CSV files: UTF-8, one header row, ISO dates and timestamps, NULL as an empty field."""

import codecs
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from reports_pipeline.render.formula_escape import escape_formulas
from reports_pipeline.spec.report import CsvOptions

# Characters that Arrow's text for numbers, booleans, dates and timestamps can contain: with
# one of them as the delimiter, those columns must be checked (and quoted) like text.
_FORMATTED_CHARACTERS = frozenset(".-+: ")


def render_csv(
    batches: Iterable[pa.RecordBatch], destination: Path, options: CsvOptions, document=None
) -> int:
    """Write ``batches`` as CSV to ``destination``; return the number of data rows written.

    ``options.delimiter`` separates fields and ``options.bom`` starts the file with a UTF-8
    byte order mark (which Excel needs to read UTF-8). ``options.quoting``:

    - ``needed``: only values containing the delimiter, a quote or a line break are quoted,
      and empty text, so that ``""`` (empty text) stays distinct from an empty field (NULL);
    - ``all``: every value is quoted, NULL stays an empty field;
    - ``none``: nothing is quoted; a value that would break the file raises ``ValueError``
      naming its column.

    With ``options.formula_escape`` (the default), text that a spreadsheet would run as a
    formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, and not just
    a signed number) is written with a leading ``'``, as OWASP recommends; number columns
    are never changed.

    The header comes from the first batch, so it is written even when there are no rows;
    later batches may type their columns differently (a column that was all NULL). Values are
    formatted by Arrow (``pyarrow.csv``): dates ``2025-01-31``, timestamps
    ``2025-01-31 09:00:00`` (a fraction of a second only when there is one, aware ones with
    their offset, ``Z`` for UTC). Batches are written one at a time, so memory does not grow
    with the row count; every value is written whole, however long (a CSV file is data).
    """
    delimiter = options.delimiter
    names: list[str] | None = None
    rows = 0
    with open(destination, "wb") as sink:
        if options.bom:
            sink.write(codecs.BOM_UTF8)
        for batch in batches:
            if names is None:
                names = batch.schema.names
                sink.write(_header(names, options).encode("utf-8"))
            elif batch.schema.names != names:
                raise ValueError(f"a batch has columns {batch.schema.names}, expected {names}")
            batch = _prepared(batch, delimiter, escape=options.formula_escape)
            if options.quoting == "all":
                _write_with_arrow(batch, sink, delimiter, "all_valid")
            else:
                to_quote = _values_to_quote(batch, delimiter, empty=options.quoting == "needed")
                if to_quote and options.quoting == "none":
                    column, mask = next(iter(to_quote.items()))
                    row = rows + pc.index(mask, True).as_py() + 1
                    raise ValueError(
                        f"column {names[column]!r}, data row {row}: a value contains the delimiter,"
                        " a quote or a line break, which quoting: none cannot write;"
                        " use quoting: needed"
                    )
                if to_quote:
                    _write_quoting_some(batch, to_quote, sink, delimiter)
                else:
                    _write_with_arrow(batch, sink, delimiter, "none")
            rows += batch.num_rows
    if names is None:
        raise ValueError("no record batches to write: even zero rows come as one empty batch")
    return rows


def write_text_rows(text: pa.Array, sink: BinaryIO) -> None:
    """Write the UTF-8 bytes of all values of ``text`` back to back, straight from its buffer.

    ``text`` is a ``string`` or ``large_string`` array without nulls whose values already end
    in their separators; this is how CSV and JSON rows built with Arrow compute reach a file.
    """
    if len(text) == 0:
        return
    _, offsets, data = text.buffers()
    positions = memoryview(offsets).cast("q" if pa.types.is_large_string(text.type) else "i")
    sink.write(memoryview(data)[positions[text.offset] : positions[text.offset + len(text)]])


def _header(names: list[str], options: CsvOptions) -> str:
    fields = []
    for name in names:
        structural = any(character in name for character in (options.delimiter, '"', "\r", "\n"))
        if options.quoting == "none" and structural:
            raise ValueError(
                f"column name {name!r} contains the delimiter, a quote or a line break,"
                " which quoting: none cannot write; rename the column or use quoting: needed"
            )
        if options.quoting == "all" or (options.quoting == "needed" and (structural or not name)):
            name = '"' + name.replace('"', '""') + '"'
        fields.append(name)
    return options.delimiter.join(fields) + "\n"


def _prepared(batch: pa.RecordBatch, delimiter: str, *, escape: bool) -> pa.RecordBatch:
    """The batch with the column types that are written as they are or checked as text, and
    with formula-like text escaped when ``escape``."""
    as_text = delimiter.isalnum() or delimiter in _FORMATTED_CHARACTERS
    columns = []
    for column in batch.columns:
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        if escape and _is_text(column.type):  # text from the data, not what becomes text below
            column = escape_formulas(column)
        if pa.types.is_timestamp(column.type) and column.type.unit != "s":
            column = _whole_seconds(column)
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            column = _utc_text(column)
        if as_text and not _is_text(column.type):
            column = column.cast(pa.string())
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _whole_seconds(column: pa.Array) -> pa.Array:
    """Timestamps without a fraction as ``2025-01-31 09:00:00``, not ``...09:00:00.000000``."""
    try:
        # A safe cast refuses to drop a fraction, so sub-second values keep it.
        return column.cast(pa.timestamp("s", column.type.tz))
    except pa.ArrowInvalid:
        return column


def _utc_text(column: pa.Array) -> pa.Array:
    """Aware timestamps as UTC text with a ``Z``, as pyarrow writes them, but 5× faster.

    Arrow keeps aware timestamps as UTC instants, so dropping the zone keeps the instant; the
    CSV writer's own zone-aware formatting costs most of a large report's render time.
    """
    naive = column.cast(pa.timestamp(column.type.unit))
    return pc.binary_join_element_wise(naive.cast(pa.string()), "Z", "")


def _is_text(data_type: pa.DataType) -> bool:
    return pa.types.is_string(data_type) or pa.types.is_large_string(data_type)


def _values_to_quote(batch: pa.RecordBatch, delimiter: str, *, empty: bool) -> dict[int, pa.Array]:
    """Column index → mask of the values that need quotes, for the columns that have any."""
    special = "".join(f"\\x{{{ord(character):x}}}" for character in {delimiter, '"', "\r", "\n"})
    pattern = f"[{special}]" + ("|^$" if empty else "")
    masks = {}
    for index, column in enumerate(batch.columns):
        if _is_text(column.type):
            mask = pc.fill_null(pc.match_substring_regex(column, pattern), False)
            if pc.any(mask).as_py():
                masks[index] = mask
    return masks


def _write_with_arrow(batch: pa.RecordBatch, sink: BinaryIO, delimiter: str, style: str) -> None:
    options = pa_csv.WriteOptions(include_header=False, delimiter=delimiter, quoting_style=style)
    pa_csv.write_csv(batch, sink, options)


def _write_quoting_some(
    batch: pa.RecordBatch, to_quote: dict[int, pa.Array], sink: BinaryIO, delimiter: str
) -> None:
    """Quote only the values in ``to_quote``: Arrow's writer quotes all text or none of it.

    Values become text with the same cast Arrow's CSV writer uses, so numbers, dates and
    timestamps read the same as in the batches that writer writes.
    """
    fields = []
    for index, column in enumerate(batch.columns):
        text = column.cast(pa.string())
        mask = to_quote.get(index)
        if mask is not None:
            chosen = pc.replace_substring(pc.filter(text, mask), '"', '""')
            text = pc.replace_with_mask(
                text, mask, pc.binary_join_element_wise('"', chosen, '"', "")
            )
        fields.append(text)
    fields[-1] = pc.binary_join_element_wise(fields[-1], "\n", "", null_handling="replace")
    lines = pc.binary_join_element_wise(
        *fields, delimiter, null_handling="replace", null_replacement=""
    )
    write_text_rows(lines, sink)
