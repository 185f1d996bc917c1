"""What a failed report query raises, whichever database ran it, and whether to try again.

A failure is *transient* when the same query may well succeed in a moment: the server refused
or dropped the connection, was restarting, or chose this transaction as the victim of a
serialization conflict or a deadlock; or the database file was locked by another writer. Every
other failure (a syntax error, an unknown table or column, a permission the role lacks, a bad
parameter) is *permanent*: another attempt would fail the same way.

The drivers' own codes decide where they exist: Postgres's SQLSTATE (``pgcode``), SQLite's
result code, DuckDB's exception type. Only libpq's connection failures carry no SQLSTATE
(psycopg2 reports them as text), so those are recognised by libpq's words.
"""

import sqlite3

# SQLSTATEs worth another attempt; class 08 (connection exception) as a whole.
_POSTGRES_TRANSIENT = {
    "40001": "a serialization failure (another transaction changed the same rows)",
    "40P01": "a deadlock with another transaction",
    "53300": "the server has too many connections",
    "57P01": "the server was shut down by its administrator",
    "57P02": "the server crashed and is restarting",
    "57P03": "the server is starting up and does not accept connections yet",
}
# libpq's words for a connection that failed before the server could answer with a SQLSTATE.
_LIBPQ_TRANSIENT = (
    ("connection refused", "connection refused by {where}"),
    ("connection reset by peer", "connection reset by {where}"),
    ("server closed the connection unexpectedly", "the server at {where} closed the connection"),
    ("could not receive data from server", "the server at {where} closed the connection"),
    ("could not send data to server", "the server at {where} closed the connection"),
    ("ssl syscall error: eof detected", "the server at {where} closed the connection"),
    ("connection already closed", "the server at {where} closed the connection"),
    ("terminating connection due to administrator command", "the server at {where} shut down"),
    ("the database system is starting up", "the server at {where} is starting up"),
    ("the database system is shutting down", "the server at {where} is shutting down"),
    ("the database system is in recovery mode", "the server at {where} is recovering"),
    ("not yet accepting connections", "the server at {where} is starting up"),
    ("timeout expired", "connecting to {where} timed out"),
)
_SQLITE_TRANSIENT = {
    sqlite3.SQLITE_BUSY: "the database file is locked by another connection",
    sqlite3.SQLITE_LOCKED: "a table is locked by another statement",
}


class QueryError(Exception):
    """The database rejected or failed the query; the message is one line, without the URL.

    ``transient`` is the reason another attempt may succeed ("connection refused by
    db.example:5432"), or ``None`` when the failure is permanent.
    """

    def __init__(self, message: str, transient: str | None = None):
        super().__init__(message)
        self.transient = transient


class QueryTimeout(Exception):
    """The query ran longer than its ``timeout``."""


def transient_reason(error: BaseException, where: str) -> str | None:
    """Why ``error``, raised by a database driver, may pass on another attempt; ``None`` if not.

    ``where`` names the server (``host:port``) in the reason. ``error`` may be SQLAlchemy's
    wrapper of the driver's error: the driver's own error (``orig``) is classified.
    """
    cause = getattr(error, "orig", None) or error
    if getattr(error, "connection_invalidated", False):
        # SQLAlchemy recognised a dropped connection (its dialect's own list of them).
        return f"the server at {where} closed the connection"
    if isinstance(cause, sqlite3.Error):
        return _sqlite_reason(cause)
    if type(cause).__module__.startswith("psycopg2"):
        return _postgres_reason(cause, where)
    if type(cause).__module__.lstrip("_").startswith("duckdb"):
        return _duckdb_reason(cause)
    return None


def _postgres_reason(error: BaseException, where: str) -> str | None:
    code = getattr(error, "pgcode", None)
    if code:
        if code.startswith("08"):
            return f"the connection to {where} failed (SQLSTATE {code})"
        return _POSTGRES_TRANSIENT.get(code)
    text = str(error).lower()
    for words, reason in _LIBPQ_TRANSIENT:
        if words in text:
            return reason.format(where=where)
    return None


def _sqlite_reason(error: sqlite3.Error) -> str | None:
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return None
    return _SQLITE_TRANSIENT.get(code & 0xFF)  # the primary code, without the extended bits


def _duckdb_reason(error: BaseException) -> str | None:
    import duckdb  # only when a DuckDB error is classified: the driver is slow to import

    transient = (
        # Another process holds the file's lock, or the file could not be read.
        (duckdb.IOException, "the database file is locked by another process or unreadable"),
        (duckdb.ConnectionException, "the connection to the database was lost"),
        (duckdb.TransactionException, "a conflict with another transaction"),
    )
    return next((reason for kind, reason in transient if isinstance(error, kind)), None)
