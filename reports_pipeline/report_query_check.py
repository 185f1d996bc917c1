"""``reports check``: each valid report's query checked by its own database, no row read.

What only the database knows, before a schedule fires: the SQL's syntax, its tables and
columns (``warehouse/query_check.py``), and whether the columns the report names exist in the
result. What the file alone tells is checked here too, since a run would fail on it: a ``:name``
that neither ``params`` nor the period supplies. Problems are :class:`SpecError` lines, at the
query's own line when the SQL is a ``|`` block, with the database's words and no secret.
"""

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from reports_pipeline.spec.connections import DEMO_WAREHOUSE, ConnectionsFile
from reports_pipeline.spec.errors import field_path
from reports_pipeline.spec.loader import LoadedReport
from reports_pipeline.spec.yaml_source import Location, SpecError
from reports_pipeline.warehouse.placeholders import _PLACEHOLDER, segments
from reports_pipeline.warehouse.query_check import QueryProblem, ResultColumn, describe_query

PLANNING_TIMEOUT = timedelta(seconds=30)
"""The longest a database may take to plan one query (less when ``source.timeout`` is less)."""
PERIOD_PARAMETERS = ("period_start", "period_end")
# Any period will do: the database plans the query, and its types, with these values.
_SAMPLE_PERIOD = {
    "period_start": datetime(2026, 1, 5, tzinfo=timezone.utc),
    "period_end": datetime(2026, 1, 6, tzinfo=timezone.utc),
}
_LITERAL_BLOCK = re.compile(r"\bsql:\s*\|[1-9+-]*\s*(?:#.*)?$")


@dataclass
class QueryCheckResult:
    """The problems found, and how many queries the databases checked or were not asked."""

    errors: list[SpecError] = field(default_factory=list)
    checked: int = 0
    skipped: list[str] = field(default_factory=list)  # reports without SQL (report types)


@dataclass(frozen=True)
class UsedColumn:
    """A column the report names outside its SQL, and where."""

    location: Location
    name: str
    numeric: bool  # the chart's y axis and a template's totals need numbers
    used_as: str = ""  # how a template names it (`totals.revenue`)


def check_queries(reports: list[LoadedReport], connections: ConnectionsFile) -> QueryCheckResult:
    """Check the query of every report in ``reports`` against its connection.

    Reports of one connection share one engine, disposed of at the end: no connection stays.
    """
    from reports_pipeline.redaction import Redactor
    from reports_pipeline.secret_values import connection_secrets

    result = QueryCheckResult()
    by_connection: dict[str, list[LoadedReport]] = {}
    for loaded in reports:
        if getattr(loaded.spec.source, "sql", None) is None:  # a report type: no SQL to check
            result.skipped.append(loaded.spec.name)
            continue
        name = loaded.spec.source.connection or DEMO_WAREHOUSE
        by_connection.setdefault(name, []).append(loaded)
    for name, group in by_connection.items():
        settings = connections.connections[name]  # validation made sure it exists
        redactor = Redactor(connection_secrets(settings))
        for error in _check_connection_group(name, settings, group):
            result.errors.append(
                SpecError(error.file, error.line, error.field, redactor.text(error.message))
            )
        result.checked += len(group)
    return result


def _check_connection_group(name: str, settings: Any, group: list[LoadedReport]):
    from reports_pipeline.resources.connections import connection_resource
    from reports_pipeline.warehouse.fetch import create_warehouse_engine

    try:
        # EnvVar fields are resolved from this process's environment, as in a run.
        resource = connection_resource(settings).process_config_and_initialize()
        engine = create_warehouse_engine(resource.engine_url())
    except Exception as exc:  # an unset variable, a malformed URL: the same for each report
        reason = " ".join(str(exc).split())[:300]
        for loaded in group:
            yield _error(loaded, ("source", "connection"), f"cannot open '{name}': {reason}")
        return
    try:
        for loaded in group:
            yield from check_report_query(loaded, engine, name)
    finally:
        engine.dispose()


def check_report_query(loaded: LoadedReport, engine: Any, connection_name: str):
    """The problems of one report's query on ``engine``: unsupplied parameters, what the
    database refuses, and columns the report names that the result lacks."""
    source = loaded.spec.source
    unbound = list(unbound_parameters(source.sql, source.params))
    for parameter, offset in unbound:
        yield _error(
            loaded,
            ("source", "sql"),
            _unbound_message(parameter, source.params),
            query_line=source.sql.count("\n", 0, offset) + 1,
        )
    # Unsupplied ones as NULL, so the database still checks the rest of the query.
    params = {**source.params, **_SAMPLE_PERIOD, **{name: None for name, _ in unbound}}
    timeout = min(source.timeout or PLANNING_TIMEOUT, PLANNING_TIMEOUT)
    try:
        columns = describe_query(engine, source.sql, params, timeout=timeout)
    except QueryProblem as problem:
        if problem.connecting:
            yield _error(
                loaded,
                ("source", "connection"),
                f"cannot connect to '{connection_name}': {problem}",
            )
        else:
            yield _error(
                loaded,
                ("source", "sql"),
                f"the database refuses the query: {problem}",
                query_line=problem.query_line,
            )
        return
    yield from result_column_errors(loaded, columns)


def unbound_parameters(sql: str, params: dict) -> Iterator[tuple[str, int]]:
    """Each ``:name`` in the query's code (not in quotes or comments) that neither ``params``
    nor the period supplies, once, with its first offset in ``sql``."""
    supplied = {*params, *PERIOD_PARAMETERS}
    seen: set[str] = set()
    for segment in segments(sql):
        if segment.part != "code":
            continue
        for found in _PLACEHOLDER.finditer(segment.text):
            name = found.group(1)
            if name not in supplied and name not in seen:
                seen.add(name)
                yield name, segment.start + found.start()


def _unbound_message(parameter: str, params: dict) -> str:
    supplied = [*params, *PERIOD_PARAMETERS]
    close = difflib.get_close_matches(parameter, supplied, n=1)
    hint = f"did you mean :{close[0]}? " if close else ""
    return (
        f":{parameter} has no value: {hint}source.params supplies "
        f"{', '.join(params) or 'nothing'}, and every run binds {', '.join(PERIOD_PARAMETERS)};"
        f" add {parameter} to source.params or fix the name"
    )


def columns_used(spec: Any, folder: Path | None = None) -> list[UsedColumn]:
    """The result columns the report names outside its SQL: the chart of a PDF or HTML report
    and the ``totals`` its own template (in ``folder``, the report's) reads.

    ``checks`` count rows, and the templates of subjects, bodies and paths see the period and
    the row count, not columns.
    """
    if spec.format not in ("pdf", "html"):
        return []
    used = []
    chart = spec.format_options.get("chart")
    if isinstance(chart, dict):
        base: Location = ("format_options", "chart")
        used += [
            UsedColumn(base + (axis,), chart[axis], numeric=axis == "y")
            for axis in ("x", "y")
            if isinstance(chart.get(axis), str)
        ]
    template = spec.format_options.get("template")
    if isinstance(template, str) and folder is not None:
        used += [
            UsedColumn(("format_options", "template"), name, numeric=True, used_as=shown)
            for name, shown in _template_totals(folder / template)
        ]
    return used


def _template_totals(path: Path) -> list[tuple[str, str]]:
    """Each column a document template reads as ``totals.name`` or ``totals["name"]``, once.

    Only the report's own file: what the shipped template reads it checks itself. A template
    that does not parse is left to validation and the run, which say where.
    """
    from jinja2 import Environment, TemplateSyntaxError, nodes

    from reports_pipeline.spec.loader import _read_template

    try:
        tree = Environment().parse(_read_template(path))
    except (OSError, ValueError, TemplateSyntaxError):
        return []
    found: dict[str, str] = {}
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if not (isinstance(node.node, nodes.Name) and node.node.name == "totals"):
            continue
        if isinstance(node, nodes.Getattr) and not hasattr(dict, node.attr):  # not .items()
            found.setdefault(node.attr, f"totals.{node.attr}")
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            if isinstance(node.arg.value, str):
                found.setdefault(node.arg.value, f"totals[{node.arg.value!r}]")
    return [(name, shown) for name, shown in found.items()]


def result_column_errors(loaded: LoadedReport, columns: list[ResultColumn]) -> list[SpecError]:
    """An error for each column the report names that the result lacks (or, for the chart's
    y axis, holds no numbers)."""
    by_name = {column.name: column for column in columns}
    listing = ", ".join(by_name) or "none"
    errors = []
    for used in columns_used(loaded.spec, loaded.path.parent):
        column = by_name.get(used.name)
        where = f"the template reads {used.used_as}: " if used.used_as else ""
        if column is None:
            close = difflib.get_close_matches(used.name, list(by_name), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            message = f"no column '{used.name}' in the query's result; {hint}columns: {listing}"
            errors.append(_error(loaded, used.location, where + message))
        elif used.numeric and column.numeric is False:
            needs = "totals are of numbers" if used.used_as else "a chart's y axis needs them"
            numbers = ", ".join(c.name for c in columns if c.numeric) or "none"
            message = (
                f"column '{used.name}' does not hold numbers, and {needs};"
                f" numeric columns: {numbers}"
            )
            errors.append(_error(loaded, used.location, where + message))
    return errors


def _error(
    loaded: LoadedReport, location: Location, message: str, query_line: int | None = None
) -> SpecError:
    document = loaded.document
    line = document.line_of(location)
    if query_line is not None:
        line = _file_line(loaded.path, line, query_line)
        message = f"query line {query_line}: {message}"
    return SpecError(document.path, line, field_path(location), message)


def _file_line(path: Path, sql_key_line: int, query_line: int) -> int:
    """The file's line of the query's ``query_line`` when the SQL is a literal block
    (``sql: |``), whose lines are the file's; else the line of ``sql:``."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return sql_key_line
    if sql_key_line <= len(lines) and _LITERAL_BLOCK.search(lines[sql_key_line - 1]):
        return sql_key_line + query_line
    return sql_key_line
