"""Postgres: a query's rows through ``COPY (query) TO STDOUT`` as CSV that Arrow parses.

COPY streams rows as fast as the server makes them, with no round trip per batch as a
server-side cursor has, and Arrow parses the CSV in C++ into the types the result declares,
without a Python object per value. psycopg2 runs the COPY on a thread of its own, which parses
each MiB of rows as it arrives and queues the result for the reading side: parsing overlaps with
the renderer, and the short queue holds the COPY back when the renderer is slower, so memory
stays flat whatever the row count.
"""

import queue
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import sqlalchemy
from sqlalchemy import text

from reports_pipeline.warehouse.errors import QueryError
from reports_pipeline.warehouse.placeholders import bindable_text, segments

# pg_type OIDs of the types Arrow parses from Postgres's CSV; every other type arrives as text.
_ARROW_TYPES = {
    16: pa.bool_(),  # bool
    20: pa.int64(),  # int8
    21: pa.int16(),  # int2
    23: pa.int32(),  # int4
    26: pa.int64(),  # oid, unsigned 32 bits
    700: pa.float32(),  # float4
    701: pa.float64(),  # float8
    1082: pa.date32(),  # date
    1083: pa.time64("us"),  # time
    1114: pa.timestamp("us"),  # timestamp
    1184: pa.timestamp("us", "UTC"),  # timestamptz, written with its offset
}
_NUMERIC = 1700
_DECIMAL128_DIGITS = 38
_PIECE_BYTES = 1 << 20  # CSV parsed at once: no slower than 512 KiB or 2 MiB, measured
_QUEUED_PIECES = 8  # parsed pieces ahead of the reader: about one batch of 50,000 rows
_ARROW_COLUMN = re.compile(r"CSV column #(\d+)")
_TRAILING_SEMICOLONS = re.compile(r"[\s;]+$")


def stream_postgres(
    connection: sqlalchemy.Connection, sql: str, params: dict, *, batch_size: int, limit: Any
) -> Iterator[pa.RecordBatch]:
    """Yield the rows of ``sql`` as record batches of exactly ``batch_size`` rows (the last fewer).

    Column types come from the result's declared types, the same in every batch: integers,
    floats, booleans, dates, times and timestamps as their Arrow types (``timestamptz`` as
    UTC), ``numeric`` as ``decimal128`` and everything else as text. ``numeric(p, s)`` with
    ``p`` up to 38 is ``decimal128(p, s)``; an unconstrained ``numeric`` (``sum`` and ``avg``
    give one) is ``decimal128(38, s)`` with ``s`` the most decimals of the batch; a batch whose
    values do not fit (NaN, Infinity, over 38 digits) keeps that column as text. Other types
    (intervals, arrays, json, uuid...) are Postgres's text for them. A value Arrow cannot read
    as its column's type raises ``QueryError`` naming the column: ``infinity`` and BC dates and
    timestamps, and ``timestamptz`` before 1901 in a session time zone whose offset then had
    seconds (Arrow reads ``+01`` and ``+05:30``, not ``+00:19:32``).

    ``limit.call()`` bounds each wait for the database: describing the result and each batch.
    """
    raw = connection.connection.dbapi_connection
    # Output styles only, for the transaction: ISO dates whatever the server's DateStyle (its
    # input order stays), and floats that read back exactly on servers older than 12.
    connection.exec_driver_sql("SET LOCAL DateStyle = 'ISO'")
    connection.exec_driver_sql("SET LOCAL extra_float_digits = 3")
    # Backslashes are plain characters in '...' strings, as placeholders.segments reads them.
    connection.exec_driver_sql("SET LOCAL standard_conforming_strings = on")
    query = _bound_query(connection, raw, sql, params)
    with raw.cursor() as cursor, limit.call():
        # LIMIT 0 plans the query without running it; the description has the column types.
        cursor.execute(b"select * from (\n" + query + b"\n) as q limit 0")
        columns = list(cursor.description)
    names = [column.name for column in columns]
    read_types = [_ARROW_TYPES.get(column.type_code, pa.string()) for column in columns]
    decimals = {
        index: _declared_decimal(column)
        for index, column in enumerate(columns)
        if column.type_code == _NUMERIC
    }
    copy = b"COPY (\n" + query + b"\n) TO STDOUT WITH (FORMAT csv, ENCODING 'UTF8')"
    yielded = False
    with _CopyOut(raw, copy, _csv_parser(read_types)) as copy_out:
        try:
            for batch in _rebatched(copy_out.batches(limit), batch_size):
                yield _typed(batch, names, decimals)
                yielded = True
        except pa.ArrowInvalid as exc:
            message = _ARROW_COLUMN.sub(lambda found: f"column {names[int(found[1])]!r}", str(exc))
            raise QueryError(
                f"the postgresql query's result could not be read: {message}"
            ) from None
    if not yielded:
        empty = [pa.array([], type_) for type_ in read_types]
        yield _typed(pa.RecordBatch.from_arrays(empty, names=names), names, decimals)


def _bound_query(connection: sqlalchemy.Connection, raw: Any, sql: str, params: dict) -> bytes:
    """``sql`` with its ``:name`` parameters replaced by escaped literals.

    COPY cannot take bind parameters, so the values are written into the SQL. Only a ``:name``
    in the query's code is a parameter (``placeholders.bindable_text``): one inside a string
    literal, quoted name or comment stays text, as a value written there could end the literal
    and become SQL. SQLAlchemy then finds the parameters as it does to execute ``text(sql)``,
    and psycopg2's ``mogrify`` quotes the values exactly as its ``execute`` does: psycopg2
    always binds on the client side, so this is the same binding the query had through a cursor.
    """
    # COPY (...) takes one statement without its semicolon.
    statement = _one_query(_TRAILING_SEMICOLONS.sub("", sql))
    statement = bindable_text(statement)
    compiled = text(statement).compile(dialect=connection.dialect)
    with raw.cursor() as cursor:
        try:
            return cursor.mogrify(compiled.string, compiled.construct_params(params))
        except ValueError as exc:  # a NUL character, which no Postgres text can hold
            raise QueryError(f"a parameter value cannot be sent to Postgres: {exc}") from None


def _one_query(sql: str) -> str:
    """``sql`` if it is one query that stays inside the parentheses it is wrapped in.

    A ``)`` too many or a ``;`` would end the COPY's query early and run what follows as
    statements of their own: the rollback does not undo all of them (``COPY … TO PROGRAM``).
    """
    depth = 0
    for segment in segments(sql):
        if segment.part != "code":
            continue
        for char in segment.text:
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth < 0 or char == ";":
                raise QueryError(
                    f"the query must be one SELECT statement: unexpected {char!r} outside quotes"
                )
    return sql


def _declared_decimal(column: Any) -> pa.DataType | None:
    precision, scale = column.precision, column.scale  # 65535 for an unconstrained numeric
    if precision is not None and 0 <= scale <= precision <= _DECIMAL128_DIGITS:
        return pa.decimal128(precision, scale)
    return None


def _csv_parser(read_types: list[pa.DataType]) -> Callable[[bytes], pa.Table]:
    # Arrow names the columns c0, c1, ...: a result may repeat a name, or have an empty one.
    keys = [f"c{index}" for index in range(len(read_types))]
    # A row of one NULL column is an empty line.
    parse_options = pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False)
    convert_options = pa_csv.ConvertOptions(
        column_types=dict(zip(keys, read_types, strict=True)),
        # COPY writes NULL as an empty field and '' as "".
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        true_values=["t"],
        false_values=["f"],
    )

    def parse(rows: bytes) -> pa.Table:
        # One block of whole rows: Arrow's own blocks would refuse a row longer than one.
        read_options = pa_csv.ReadOptions(column_names=keys, block_size=len(rows) + 1)
        return pa_csv.read_csv(
            pa.py_buffer(rows),
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )

    return parse


_END = object()


class _CopyOut:
    """Runs a ``COPY ... TO STDOUT`` on a thread that parses the rows as they arrive."""

    def __init__(self, raw: Any, statement: bytes, parse: Callable[[bytes], pa.Table]):
        self.raw = raw
        self.statement = statement
        self.parse = parse
        self.pieces: queue.Queue = queue.Queue(maxsize=_QUEUED_PIECES)
        self.rows: list[bytes] = []
        self.size = 0
        self.failure: BaseException | None = None
        self.copying = False  # the COPY runs on the server: cancel() would end it
        self.stopped = False
        self.thread = threading.Thread(target=self._copy, name="postgres-copy-out", daemon=True)

    def __enter__(self) -> "_CopyOut":
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def write(self, row: bytes) -> None:
        """Take one row of CSV: psycopg2 calls this for each row of the COPY."""
        if self.stopped:
            return  # the COPY is being cancelled: rows still on their way are dropped
        self.rows.append(row)
        self.size += len(row)
        if self.size >= _PIECE_BYTES:
            self._flush()

    def _flush(self) -> None:
        if not self.rows:
            return
        rows = b"".join(self.rows)
        self.rows, self.size = [], 0
        try:
            table = self.parse(rows)
        except Exception as exc:
            # Raised from write(), it would leave psycopg2 half way through the COPY.
            self.failure = exc
            self._cancel()
            return
        self.pieces.put(table)  # waits while the reader is behind: the COPY waits with it

    def _copy(self) -> None:
        try:
            with self.raw.cursor() as cursor:
                self.copying = True
                try:
                    cursor.copy_expert(self.statement, self)
                finally:
                    self.copying = False
            self._flush()
        except BaseException as exc:  # raised again by batches(), on the reading thread
            self.failure = self.failure or exc
        finally:
            self.pieces.put(_END)

    def batches(self, limit: Any) -> Iterator[pa.RecordBatch]:
        """The parsed rows, then the error of the COPY if it failed: its rows may be cut short."""
        while True:
            with limit.call():
                piece = self.pieces.get()
            if piece is _END:
                break
            yield from piece.to_batches()
        self.thread.join()
        if self.failure is not None:
            raise self.failure

    def stop(self) -> None:
        """Cancel the COPY if it still runs (the reader stopped early) and join the thread."""
        if self.thread.is_alive():
            self._cancel()
        while self.thread.is_alive():
            self._discard_pieces()  # so that the thread is not left waiting to queue one
            self.thread.join(0.05)
        self._discard_pieces()

    def _cancel(self) -> None:
        self.stopped = True
        if self.copying:
            self.raw.cancel()

    def _discard_pieces(self) -> None:
        while True:
            try:
                self.pieces.get_nowait()
            except queue.Empty:
                return


def _rebatched(blocks: Iterator[pa.RecordBatch], size: int) -> Iterator[pa.RecordBatch]:
    """The rows of ``blocks`` in batches of exactly ``size`` rows, the last one fewer."""
    parts: list[pa.RecordBatch] = []
    rows = 0
    for block in blocks:
        while block.num_rows:
            part = block.slice(0, size - rows)
            block = block.slice(part.num_rows)
            parts.append(part)
            rows += part.num_rows
            if rows == size:
                yield _concatenated(parts)
                parts, rows = [], 0
    if parts:
        yield _concatenated(parts)


def _concatenated(parts: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(parts) == 1:
        return parts[0]
    return pa.Table.from_batches(parts).combine_chunks().to_batches()[0]


def _typed(
    batch: pa.RecordBatch, names: list[str], decimals: dict[int, pa.DataType | None]
) -> pa.RecordBatch:
    arrays = [
        _decimal(array, decimals[index]) if index in decimals else array
        for index, array in enumerate(batch.columns)
    ]
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _decimal(values: pa.Array, declared: pa.DataType | None) -> pa.Array:
    """Numeric text as decimals, or as it is when it does not fit: NaN, Infinity, 39 digits."""
    target = declared or _inferred_decimal(values)
    if target is None:
        return values
    try:
        return values.cast(target)
    except pa.ArrowInvalid:
        return values


def _inferred_decimal(values: pa.Array) -> pa.DataType | None:
    # Postgres writes numerics in plain notation, so the decimals follow the point.
    point = pc.find_substring(values, ".")
    decimals = pc.if_else(
        pc.less(point, 0), 0, pc.subtract(pc.subtract(pc.utf8_length(values), point), 1)
    )
    scale = pc.max(decimals).as_py() or 0
    return pa.decimal128(_DECIMAL128_DIGITS, scale) if scale <= _DECIMAL128_DIGITS else None
