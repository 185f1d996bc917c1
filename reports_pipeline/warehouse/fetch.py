"""Run a report's query on any SQLAlchemy URL and stream the rows as Arrow record batches."""

import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import sqlalchemy
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from reports_pipeline.warehouse.duckdb_arrow import stream_duckdb
from reports_pipeline.warehouse.errors import QueryError, QueryTimeout, transient_reason
from reports_pipeline.warehouse.placeholders import bindable_text
from reports_pipeline.warehouse.postgres_copy import stream_postgres

__all__ = ["QueryError", "QueryTimeout", "create_warehouse_engine", "stream_record_batches"]

_SQLALCHEMY_LINK = re.compile(r"\s*\(Background on this error at: [^)]*\)")


def create_warehouse_engine(url: str) -> sqlalchemy.Engine:
    """An engine for ``postgresql://``, ``postgresql+psycopg2://``, ``sqlite:///``, ``duckdb:///``.

    A plain ``postgresql://`` URL is pinned to psycopg2: SQLAlchemy 2.1 would pick psycopg 3
    when it is installed, which this project does not support (ARCHITECTURE.md, behaviour 10).
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        # SQLAlchemy's message repeats the whole URL, password included.
        raise ValueError("the warehouse URL is not a valid SQLAlchemy URL") from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return sqlalchemy.create_engine(parsed, pool_pre_ping=True)


def stream_record_batches(
    engine: sqlalchemy.Engine,
    sql: str,
    params: dict,
    *,
    batch_size: int = 50_000,
    timeout: timedelta | None = None,
) -> Iterator[pa.RecordBatch]:
    """Run ``sql`` with bound ``params`` and yield record batches of at most ``batch_size`` rows.

    Rows never gather into one table of the whole result: memory holds a batch or two.
    Postgres streams ``COPY (sql) TO STDOUT`` as CSV that Arrow parses (``postgres_copy``),
    DuckDB through its own Arrow reader (``duckdb_arrow``); both type each column from the
    result's declared type, the same in every batch, and give batches of exactly
    ``batch_size`` rows but the last. Other databases (SQLite) stream rows from a cursor and
    pyarrow infers types per batch, so a column that is all NULL in one batch is ``null``
    there and typed in a later one; values pyarrow cannot type (mixed types in a SQLite column)
    become text, and JSON objects or arrays become JSON text. At least one batch is yielded:
    with no rows it is empty but carries the column names.

    Only a ``:name`` in the query's code is a parameter; one inside a string literal, quoted
    name or comment is left as it is written (``placeholders``). SQLite and DuckDB bind the
    values; Postgres's COPY cannot, so psycopg2 quotes them into it exactly as its own
    ``execute`` does. Postgres and DuckDB receive timezone-aware datetimes as they are.
    SQLite: timestamps are compared as UTC text, so every datetime parameter is passed as UTC
    ``'YYYY-MM-DD HH:MM:SS'`` (dates as ``'YYYY-MM-DD'``), the format of the demo warehouse.

    ``timeout`` bounds each wait for the database (running the query, fetching one batch);
    time the consumer spends between batches does not count. Raises ``QueryTimeout`` when
    exceeded and ``QueryError`` for any database error, with its ``transient`` reason when
    another attempt may succeed (``errors.transient_reason``). The transaction is rolled back
    at the end: a report query never commits changes.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    dialect = engine.dialect.name
    if dialect == "postgresql" and engine.dialect.driver != "psycopg2":
        raise ValueError("Postgres warehouses are read through psycopg2: use a postgresql:// URL")
    stream = {"postgresql": stream_postgres, "duckdb": stream_duckdb}.get(dialect, _stream_rows)
    limit = _time_limit(dialect, timeout)
    try:
        with engine.connect() as connection, limit.installed(connection):
            try:
                yield from stream(connection, sql, params, batch_size=batch_size, limit=limit)
            except engine.dialect.loaded_dbapi.Error as exc:
                _raise_if_disconnected(connection, exc)
                raise
    except (SQLAlchemyError, engine.dialect.loaded_dbapi.Error) as exc:
        if limit.fired or _is_postgres_timeout(exc):
            bound = timeout or "the database's statement_timeout"
            raise QueryTimeout(f"query ran longer than {bound}") from None
        transient = transient_reason(exc, _server(engine.url))
        # A lost connection is said plainly: the driver's words for it can be its own internals.
        lost = getattr(exc, "connection_invalidated", False)
        message = transient if lost else _redact(_first_line(exc), engine.url)
        raise QueryError(f"the {dialect} query failed: {message}", transient) from (
            None if _leaks(str(exc), engine.url) else exc
        )


def _stream_rows(
    connection: sqlalchemy.Connection, sql: str, params: dict, *, batch_size: int, limit: Any
) -> Iterator[pa.RecordBatch]:
    bound = dict(params)
    if connection.dialect.name == "sqlite":
        bound = {key: _sqlite_param(value) for key, value in bound.items()}
    with limit.call():
        statement = text(bindable_text(sql))  # a :name in quotes is text, not a parameter
        result = connection.execution_options(yield_per=batch_size).execute(statement, bound)
    if not result.returns_rows:
        raise QueryError("the query returned no result set (is it a SELECT?)")
    names = list(result.keys())
    yielded = False
    while True:
        with limit.call():
            rows = result.fetchmany(batch_size)
        if not rows:
            break
        yield _record_batch(names, rows)
        yielded = True
    if not yielded:
        yield pa.RecordBatch.from_arrays([pa.array([], pa.null()) for _ in names], names=names)


def _sqlite_param(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _record_batch(names: list[str], rows: Sequence[Sequence[Any]]) -> pa.RecordBatch:
    columns = zip(*rows, strict=True) if names else ()
    return pa.RecordBatch.from_arrays([_to_arrow(list(values)) for values in columns], names=names)


def _to_arrow(values: list) -> pa.Array:
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        array = None
    if array is not None and not pa.types.is_nested(array.type):
        return array
    return pa.array([_as_text(value) for value in values], pa.string())


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    line = lines[0] if lines else type(cause).__name__
    return _SQLALCHEMY_LINK.sub("", line)


def _raise_if_disconnected(connection: sqlalchemy.Connection, error: Exception) -> None:
    """If ``error`` means the server dropped the connection, discard it and say so.

    The streams run the driver directly, so SQLAlchemy has not seen the error: it would try a
    rollback on closing the connection, whose error ("connection already closed") would replace
    this one, and it would not mark the error as a lost connection (``connection_invalidated``),
    which is all psycopg2 tells of some (a COPY cut short by the server: "error with status
    PGRES_COPY_OUT and no message from the libpq").
    """
    dialect = connection.dialect
    if dialect.is_disconnect(error, connection.connection.dbapi_connection, None):
        connection.invalidate(error)
        raise sqlalchemy.exc.DBAPIError.instance(
            None, None, error, dialect.loaded_dbapi.Error, connection_invalidated=True
        ) from error


def _server(url: sqlalchemy.URL) -> str:
    """``host:port`` of a database server, for messages; the file of an embedded database."""
    if url.host:
        return f"{url.host}:{url.port or 5432}"  # Postgres, the one server dialect
    return url.database or "memory"


def _secrets(url: sqlalchemy.URL) -> list[str]:
    secrets = [url.render_as_string(hide_password=False), url.render_as_string()]
    if url.password:
        secrets.append(str(url.password))
    return secrets


def _redact(message: str, url: sqlalchemy.URL) -> str:
    for secret in _secrets(url):
        message = message.replace(secret, "***")
    return message


def _leaks(message: str, url: sqlalchemy.URL) -> bool:
    return any(secret in message for secret in _secrets(url))


def _is_postgres_timeout(exc: BaseException) -> bool:
    # SQLSTATE 57014 query_canceled, e.g. by a statement_timeout the server or role sets.
    return getattr(getattr(exc, "orig", None) or exc, "pgcode", None) == "57014"


class _NoLimit:
    """No time limit; the base of the per-dialect limits."""

    fired = False

    def __init__(self, timeout: timedelta | None = None):
        self.seconds = timeout.total_seconds() if timeout else 0.0

    @contextmanager
    def installed(self, connection: sqlalchemy.Connection) -> Iterator[None]:
        yield

    @contextmanager
    def call(self) -> Iterator[None]:
        yield


class _SqliteLimit(_NoLimit):
    def __init__(self, timeout: timedelta):
        super().__init__(timeout)
        self.deadline = float("inf")

    def _abort(self) -> bool:
        if time.monotonic() > self.deadline:
            self.fired = True
        return self.fired

    @contextmanager
    def installed(self, connection: sqlalchemy.Connection) -> Iterator[None]:
        raw: sqlite3.Connection = connection.connection.dbapi_connection
        # Called every 1,000 virtual machine steps; a true result interrupts the query.
        raw.set_progress_handler(self._abort, 1000)
        try:
            yield
        finally:
            raw.set_progress_handler(None, 1000)

    @contextmanager
    def call(self) -> Iterator[None]:
        self.deadline = time.monotonic() + self.seconds
        try:
            yield
        finally:
            self.deadline = float("inf")


class _InterruptLimit(_NoLimit):
    """A timer thread interrupts the connection when one call waits longer than the limit."""

    method = ""  # the DBAPI connection's method that interrupts its running statement
    interrupt: Any = None

    def _fire(self) -> None:
        self.fired = True
        self.interrupt()

    @contextmanager
    def installed(self, connection: sqlalchemy.Connection) -> Iterator[None]:
        self.interrupt = getattr(connection.connection.dbapi_connection, self.method)
        yield

    @contextmanager
    def call(self) -> Iterator[None]:
        timer = threading.Timer(self.seconds, self._fire)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()


class _PostgresLimit(_InterruptLimit):
    # Not statement_timeout: the COPY is one statement as long as the whole report, and the
    # time the renderer takes between batches must not count. psycopg2's cancel() is made to
    # be called from another thread.
    method = "cancel"


class _DuckdbLimit(_InterruptLimit):
    method = "interrupt"


def _time_limit(dialect: str, timeout: timedelta | None) -> _NoLimit:
    if timeout is None:
        return _NoLimit()
    limits = {"postgresql": _PostgresLimit, "sqlite": _SqliteLimit, "duckdb": _DuckdbLimit}
    if dialect not in limits:
        raise ValueError(f"a query timeout is not supported for {dialect} databases")
    return limits[dialect](timeout)
