"""What a report type is: a function from a period and typed parameters to Arrow batches."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import pyarrow as pa

SQL_CONNECTION_KINDS = ("sql", "demo")
"""The connection kinds a report type works with unless it declares others."""


class ReportTypeParams(BaseModel):
    """Base of a report type's parameters: an unknown or misspelt parameter is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


P = TypeVar("P", bound=ReportTypeParams)

Query = Callable[[str, dict], Iterator["pa.RecordBatch"]]


@dataclass(frozen=True)
class ReportTypeRun(Generic[P]):
    """What a report type gets for one run: its parameters, the period, and the connection."""

    params: P
    period_start: datetime  # inclusive, timezone-aware
    period_end: datetime  # exclusive
    period_key: str
    timezone: str  # the report's IANA zone
    _query: Query = field(repr=False)

    def query(self, sql: str, **params: Any) -> Iterator[pa.RecordBatch]:
        """Run ``sql`` on the report's connection and stream its rows as record batches.

        ``:period_start`` and ``:period_end`` are bound for every query; ``params`` bind the
        other ``:names``. The query runs as a SQL report's does: in the fetch step's pool,
        with ``source.timeout`` and the same errors and retries.
        """
        bound = {**params, "period_start": self.period_start, "period_end": self.period_end}
        return self._query(sql, bound)


@dataclass(frozen=True)
class ReportType:
    """A registered report type; build one with :func:`report_type`."""

    fetch: Callable[[ReportTypeRun], Iterable[pa.RecordBatch | pa.Table]]
    params: type[ReportTypeParams]
    connection_kinds: tuple[str, ...] = SQL_CONNECTION_KINDS
    description: str = ""


def report_type(
    *,
    params: type[ReportTypeParams] = ReportTypeParams,
    connection_kinds: Iterable[str] = SQL_CONNECTION_KINDS,
) -> Callable[[Callable], ReportType]:
    """Make ``function(run) -> iterable of pyarrow.RecordBatch`` a report type.

    ``params`` is the pydantic model ``source.params`` is validated against (``reports
    validate`` reports its errors at their lines); ``connection_kinds`` the kinds of
    ``source.connection`` the type can query. The function's docstring describes the type.
    """
    if not (isinstance(params, type) and issubclass(params, BaseModel)):
        raise TypeError("params must be a pydantic model (a subclass of ReportTypeParams)")
    if params.model_config.get("extra") != "forbid":
        raise TypeError(
            f"{params.__name__} must forbid unknown parameters: subclass"
            " reports_pipeline.report_types.ReportTypeParams"
        )

    kinds = tuple(connection_kinds)
    if not kinds or not set(kinds) <= set(SQL_CONNECTION_KINDS):
        # run.query streams through a SQL connection's resource; other kinds have none.
        raise TypeError(
            f"connection_kinds {kinds} must be one or more of {', '.join(SQL_CONNECTION_KINDS)}"
        )

    def wrap(function: Callable) -> ReportType:
        return ReportType(
            fetch=function,
            params=params,
            connection_kinds=kinds,
            description=inspect.getdoc(function) or "",
        )

    return wrap
