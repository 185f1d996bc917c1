"""A report type's rows for one run, as the fetch step reads a SQL report's: record batches."""

from collections.abc import Iterator
from datetime import timedelta

import pyarrow as pa

from reports_pipeline.report_types.definition import ReportTypeRun
from reports_pipeline.report_types.registry import ReportTypeError, load_report_type
from reports_pipeline.warehouse.errors import QueryError, QueryTimeout


def report_type_batches(
    name: str,
    params: dict,
    *,
    warehouse,
    period,
    timezone: str,
    timeout: timedelta | None = None,
) -> Iterator[pa.RecordBatch]:
    """Run the type ``name`` for ``period`` with ``params``; yield at least one batch.

    Its queries go to ``warehouse`` (the fetch step's resource, so its pool and ``timeout``
    apply). ``QueryError`` and ``QueryTimeout`` pass through for the fetch step's retries; any
    other failure of the type, or a value that is not a batch, becomes a permanent
    ``QueryError`` naming the type, so it reads as a failed fetch, not a failed render.
    """
    try:
        kind = load_report_type(name)
        run = ReportTypeRun(
            params=kind.params.model_validate(params),
            period_start=period.start,
            period_end=period.end,
            period_key=period.key,
            timezone=timezone,
            _query=lambda sql, bound: warehouse.stream(sql, bound, timeout=timeout),
        )
        yielded = False
        for item in kind.fetch(run):
            for batch in _as_batches(name, item):
                yielded = True
                yield batch
    except (QueryError, QueryTimeout):
        raise
    except ReportTypeError as exc:
        raise QueryError(str(exc)) from None
    except Exception as exc:
        raise QueryError(f"report type '{name}' failed: {type(exc).__name__}: {exc}") from exc
    if not yielded:
        raise QueryError(
            f"report type '{name}' produced no record batch; with no rows, yield an empty"
            " batch that names the columns (pyarrow.RecordBatch.from_pylist([], schema=...))"
        )


def _as_batches(name: str, item) -> list[pa.RecordBatch]:
    if isinstance(item, pa.RecordBatch):
        return [item]
    if isinstance(item, pa.Table):
        return item.to_batches() or [pa.RecordBatch.from_pylist([], schema=item.schema)]
    raise TypeError(f"it yielded a {type(item).__name__}; a report type yields pyarrow.RecordBatch")
