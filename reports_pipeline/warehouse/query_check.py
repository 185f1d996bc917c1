"""A report's query checked by its database without reading a row: the columns it would return.

The query is planned as ``select * from (<query>) as q limit 0``, the way ``postgres_copy``
describes a result before its COPY: the database parses it, resolves tables, columns and
parameter types exactly as in a run, and ``limit 0`` reads nothing. It runs in a transaction
that is always rolled back, so a check changes nothing and leaves no transaction open.
Parameters are bound as in a run (``fetch``): Postgres through ``postgres_copy``'s quoting,
SQLite and DuckDB as bind values.
"""

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from reports_pipeline.warehouse.errors import QueryError
from reports_pipeline.warehouse.fetch import (
    _first_line,
    _is_postgres_timeout,
    _redact,
    _sqlite_param,
    _time_limit,
)
from reports_pipeline.warehouse.placeholders import bindable_text, segments
from reports_pipeline.warehouse.postgres_copy import _TRAILING_SEMICOLONS, _bound_query

# The query starts on the wrapper's second line: a database's "LINE n" is the query's n - 1.
_BEFORE = "select * from (\n"
_AFTER = "\n) as q limit 0"
_DATABASE_LINE = re.compile(r"^LINE (\d+):", re.MULTILINE)
# Lines after the first that say how to fix it, in the database's words.
_ADVICE = re.compile(r"^(?:HINT:|Candidate bindings:)", re.IGNORECASE)
# pg_type OIDs of numbers: int8, int2, int4, oid, float4, float8, numeric, money.
_POSTGRES_NUMBERS = {20, 21, 23, 26, 700, 701, 1700, 790}
_DUCKDB_NUMBERS = {
    "tinyint",
    "smallint",
    "integer",
    "bigint",
    "hugeint",
    "utinyint",
    "usmallint",
    "uinteger",
    "ubigint",
    "uhugeint",
    "float",
    "double",
    "decimal",
}
_TIMED = ("postgresql", "sqlite", "duckdb")
# The name a message without a line quotes: SQLite's `no such column: x`, `near "x"`, DuckDB's
# `Table with name x does not exist`, `Referenced column "x" not found`.
_QUOTED_NAME = re.compile(
    r"(?:no such (?:column|table|function): |Table with name |Function with name )([\w.]+)"
    r'|(?:near|Referenced column|column) "([^"]+)"'
)


@dataclass(frozen=True)
class ResultColumn:
    """One column of a query's result; ``numeric`` is None where the database does not say
    (SQLite types values, not columns)."""

    name: str
    numeric: bool | None


class QueryProblem(Exception):
    """The database refused the query; the message is its own words, without secrets.

    ``query_line`` is the line of the query it points at (1 = the first), when it says;
    ``connecting`` tells a database that could not be reached from a query it refused.
    """

    def __init__(self, message: str, query_line: int | None = None, connecting: bool = False):
        super().__init__(message)
        self.query_line = query_line
        self.connecting = connecting


def describe_query(
    engine: sqlalchemy.Engine, sql: str, params: dict[str, Any], *, timeout: timedelta
) -> list[ResultColumn]:
    """The columns ``sql`` returns with ``params`` bound, planned by the database, no row read.

    Raises :class:`QueryProblem` when the database refuses the query (syntax, unknown table or
    column, a type error) or cannot be reached, or planning takes longer than ``timeout``.
    """
    dialect = engine.dialect.name
    describe = {"postgresql": _describe_postgres, "duckdb": _describe_duckdb}.get(
        dialect, _describe_by_cursor
    )
    limit = _time_limit(dialect, timeout if dialect in _TIMED else None)
    dbapi_error = engine.dialect.loaded_dbapi.Error
    try:
        connection = engine.connect()
    except (SQLAlchemyError, dbapi_error) as exc:
        raise QueryProblem(_database_words(exc, engine), connecting=True) from None
    try:
        with connection, limit.installed(connection):
            try:
                return describe(connection, sql, params, limit=limit, timeout=timeout)
            finally:
                # Nothing to keep, and no transaction may stay open ("idle in transaction").
                if not connection.invalidated:
                    connection.rollback()
    except QueryError as exc:  # refused before it reached the database (two statements)
        raise QueryProblem(str(exc)) from None
    except (SQLAlchemyError, dbapi_error) as exc:
        if limit.fired or _is_postgres_timeout(exc):
            raise QueryProblem(f"planning the query took longer than {timeout}") from None
        raise QueryProblem(_database_words(exc, engine), _query_line(exc, sql)) from None


def _describe_postgres(
    connection: sqlalchemy.Connection, sql: str, params: dict, *, limit: Any, timeout: timedelta
) -> list[ResultColumn]:
    # Server-side too: the limit holds even if this process dies while the server plans.
    milliseconds = max(1, int(timeout.total_seconds() * 1000))
    connection.exec_driver_sql(f"SET LOCAL statement_timeout = {milliseconds}")
    # Backslashes are plain characters in '...' strings, as placeholders.segments reads them.
    connection.exec_driver_sql("SET LOCAL standard_conforming_strings = on")
    raw = connection.connection.dbapi_connection
    query = _bound_query(connection, raw, sql, params)
    with raw.cursor() as cursor, limit.call():
        cursor.execute(_BEFORE.encode() + query + _AFTER.encode())
        columns = list(cursor.description)
    return [ResultColumn(c.name, c.type_code in _POSTGRES_NUMBERS) for c in columns]


def _describe_duckdb(
    connection: sqlalchemy.Connection, sql: str, params: dict, *, limit: Any, timeout: timedelta
) -> list[ResultColumn]:
    # As duckdb_arrow binds them: $1, $2, ... in the order SQLAlchemy finds the :names.
    compiled = text(_wrapped(sql)).compile(dialect=connection.dialect)
    values = compiled.construct_params(params)
    positional = [values[name] for name in compiled.positiontup or ()]
    connection.begin()
    with limit.call():
        relation = connection.connection.dbapi_connection.sql(
            compiled.string, params=positional or None
        )
    return [
        ResultColumn(name, type_.id in _DUCKDB_NUMBERS)
        for name, type_ in zip(relation.columns, relation.types, strict=True)
    ]


def _describe_by_cursor(
    connection: sqlalchemy.Connection, sql: str, params: dict, *, limit: Any, timeout: timedelta
) -> list[ResultColumn]:
    if connection.dialect.name == "sqlite":
        params = {key: _sqlite_param(value) for key, value in params.items()}
    with limit.call():
        result = connection.execute(text(_wrapped(sql)), params)
        names = list(result.keys())
        result.close()
    return [ResultColumn(name, None) for name in names]


def _wrapped(sql: str) -> str:
    # A run accepts a trailing semicolon; inside the parentheses it would be a syntax error.
    return bindable_text(_BEFORE + _TRAILING_SEMICOLONS.sub("", sql) + _AFTER)


def _database_words(exc: BaseException, engine: sqlalchemy.Engine) -> str:
    """The database's message: its first line and any advice it gives, without the URL."""
    cause = getattr(exc, "orig", None) or exc
    advice = [
        re.sub(r"^HINT:\s*", "", line.strip())
        for line in str(cause).splitlines()[1:]
        if _ADVICE.match(line.strip())
    ]
    words = "; ".join([_first_line(exc), *(f"hint: {line}" for line in advice if line)])
    return _redact(words, engine.url)


def _query_line(exc: BaseException, sql: str) -> int | None:
    """The query's line the database points at: its ``LINE n:`` (Postgres, DuckDB), else the
    first line whose code has the name it quotes (SQLite: ``no such column: regionn``)."""
    message = str(getattr(exc, "orig", None) or exc)
    found = _DATABASE_LINE.search(message)
    if found:
        line = int(found.group(1)) - _BEFORE.count("\n")
        return line if 1 <= line <= sql.count("\n") + 1 else None
    quoted = _QUOTED_NAME.search(message)
    if not quoted:
        return None
    name = re.compile(rf"(?<![\w.]){re.escape(quoted.group(1) or quoted.group(2))}(?!\w)")
    for segment in segments(sql):
        place = name.search(segment.text) if segment.part == "code" else None
        if place:
            return sql.count("\n", 0, segment.start + place.start()) + 1
    return None
