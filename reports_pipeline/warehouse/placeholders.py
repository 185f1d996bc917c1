"""Where a query's ``:name`` parameters are: in its code, never inside quotes or comments.

SQLAlchemy's ``text()`` takes every ``:name`` for a parameter, even in ``'%:pat%'``. Databases
that bind parameters then fail or read it as text, but Postgres reads rows through ``COPY``,
which cannot take parameters, so their values are written into the SQL as quoted literals:
one inside a string literal, a comment or a quoted name would end it, and the rest of the value
would become SQL. So the query is split the way Postgres's own lexer splits it (standard
strings, ``E''`` strings, dollar quotes, quoted names, ``--`` and nested ``/* */`` comments;
SQLite and DuckDB quote the same way or more simply), and only ``:name`` in code is a parameter.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

# SQLAlchemy's own pattern for a bind parameter in text(), so code is read exactly as it is.
_PLACEHOLDER = re.compile(r"(?<![:\w\\]):(\w+)(?![:\w])")
# Postgres identifiers may contain $ (so a$b$ is a name, not a dollar quote); letters include
# every non-ASCII character.
_IDENTIFIER = re.compile(r"[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_$\u0080-\U0010ffff]*")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*)?\$")
_UNESCAPED_COLON = re.compile(r"(?<!\\):")
_STRING_PREFIX = re.compile(r"(?:[eE]|[bBxXnN]|[uU]&)'")

Part = Literal["code", "string", "quoted name", "comment"]


@dataclass(frozen=True)
class Segment:
    part: Part
    text: str
    start: int  # offset in the query


def segments(sql: str) -> Iterator[Segment]:
    """The query as consecutive pieces of code, string literals, quoted names and comments.

    An unterminated literal or comment runs to the end of the query, as the database reads it.
    """
    position = code_start = 0
    while position < len(sql):
        end, part = _quoted_at(sql, position)
        if part is None:
            identifier = _IDENTIFIER.match(sql, position)
            position = identifier.end() if identifier else position + 1
            continue
        if code_start < position:
            yield Segment("code", sql[code_start:position], code_start)
        yield Segment(part, sql[position:end], position)
        position = code_start = end
    if code_start < len(sql):
        yield Segment("code", sql[code_start:], code_start)


def _quoted_at(sql: str, at: int) -> tuple[int, Part | None]:
    """Where the literal, quoted name or comment that starts at ``at`` ends, and what it is."""
    char, pair = sql[at], sql[at : at + 2]
    if pair == "--":
        newline = sql.find("\n", at)
        return (len(sql) if newline < 0 else newline), "comment"
    if pair == "/*":
        return _block_comment_end(sql, at), "comment"
    if char == "'":
        return _quote_end(sql, at + 1, "'", backslashes=False), "string"
    if char == '"':
        return _quote_end(sql, at + 1, '"', backslashes=False), "quoted name"
    prefix = _STRING_PREFIX.match(sql, at)
    if prefix:
        backslashes = sql[at] in "eE"  # only E'' strings take backslash escapes
        return _quote_end(sql, prefix.end(), "'", backslashes), "string"
    if sql.startswith(('U&"', 'u&"'), at):
        return _quote_end(sql, at + 3, '"', backslashes=False), "quoted name"
    tag = _DOLLAR_TAG.match(sql, at)
    if tag:
        closing = sql.find(tag.group(), tag.end())
        return (len(sql) if closing < 0 else closing + len(tag.group())), "string"
    return at, None


def _quote_end(sql: str, position: int, quote: str, backslashes: bool) -> int:
    while position < len(sql):
        char = sql[position]
        if backslashes and char == "\\":
            position += 2
        elif char == quote:
            if sql.startswith(quote, position + 1):  # a doubled quote is one quote character
                position += 2
            else:
                return position + 1
        else:
            position += 1
    return len(sql)


def _block_comment_end(sql: str, at: int) -> int:
    depth, position = 0, at
    while position < len(sql):
        pair = sql[position : position + 2]
        if pair == "/*":
            depth, position = depth + 1, position + 2
        elif pair == "*/":
            depth, position = depth - 1, position + 2
            if depth == 0:
                return position
        else:
            position += 1
    return len(sql)


def placeholders(sql: str) -> list[str]:
    """The names of the parameters of ``sql``, in order: each ``:name`` in its code."""
    return [
        name
        for segment in segments(sql)
        if segment.part == "code"
        for name in _PLACEHOLDER.findall(segment.text)
    ]


@dataclass(frozen=True)
class QuotedPlaceholder:
    """A ``:name`` inside a literal, quoted name or comment: text, not a parameter."""

    name: str
    part: Part
    offset: int


def quoted_placeholders(sql: str) -> list[QuotedPlaceholder]:
    """Every ``:name`` that looks like a parameter but is inside quotes or a comment."""
    return [
        QuotedPlaceholder(found.group(1), segment.part, segment.start + found.start())
        for segment in segments(sql)
        if segment.part != "code"
        for found in _PLACEHOLDER.finditer(segment.text)
    ]


def bindable_text(sql: str) -> str:
    """``sql`` for SQLAlchemy's ``text()``: each ``:`` outside code escaped as ``\\:``.

    ``text()`` compiles an escaped colon back to a plain one, so literals and comments reach
    the database unchanged and only the parameters in code are bound. A colon the author
    escaped already (``'\\:x'``, SQLAlchemy's own escape) is left to ``text()`` as before.
    """
    return "".join(
        segment.text if segment.part == "code" else _UNESCAPED_COLON.sub(r"\\:", segment.text)
        for segment in segments(sql)
    )
