"""A report type's output as the fetch step reads it, and its failures as fetch failures."""

from datetime import datetime, timezone

import pyarrow as pa
import pytest

from reports_pipeline.report_types import ReportTypeParams, report_type
from reports_pipeline.report_types import batches as batches_module
from reports_pipeline.report_types.batches import report_type_batches
from reports_pipeline.scheduling.cadence import Period
from reports_pipeline.warehouse.errors import QueryError, QueryTimeout

OCTOBER = Period(
    key="2026-10-01",
    start=datetime(2026, 10, 1, tzinfo=timezone.utc),
    end=datetime(2026, 11, 1, tzinfo=timezone.utc),
)


class Recorder:
    """A warehouse that records each query and answers with one batch."""

    def __init__(self, error: Exception | None = None):
        self.calls = []
        self.error = error

    def stream(self, sql, params, timeout=None):
        self.calls.append((sql, params, timeout))
        if self.error:
            raise self.error
        yield pa.RecordBatch.from_pylist([{"n": 1}])


def run(monkeypatch, fetch, warehouse=None, **kwargs):
    kind = report_type(params=ReportTypeParams)(fetch)
    monkeypatch.setattr(batches_module, "load_report_type", lambda name: kind)
    return list(
        report_type_batches(
            "t", {}, warehouse=warehouse or Recorder(), period=OCTOBER, timezone="UTC", **kwargs
        )
    )


def test_queries_get_the_period_and_the_source_timeout(monkeypatch):
    from datetime import timedelta

    warehouse = Recorder()
    out = run(
        monkeypatch,
        lambda r: r.query("select :x", x=2),
        warehouse,
        timeout=timedelta(seconds=5),
    )
    assert [batch.to_pylist() for batch in out] == [[{"n": 1}]]
    ((sql, params, timeout),) = warehouse.calls
    assert params == {"x": 2, "period_start": OCTOBER.start, "period_end": OCTOBER.end}
    assert timeout == timedelta(seconds=5)


def test_a_table_is_read_as_its_batches(monkeypatch):
    table = pa.table({"a": [1, 2, 3]})
    out = run(monkeypatch, lambda r: [table])
    assert pa.Table.from_batches(out).to_pydict() == {"a": [1, 2, 3]}


def test_an_empty_table_still_names_its_columns(monkeypatch):
    out = run(monkeypatch, lambda r: [pa.table({"a": pa.array([], pa.int64())})])
    assert [batch.schema.names for batch in out] == [["a"]]


def test_no_batch_at_all_says_what_to_yield(monkeypatch):
    with pytest.raises(QueryError, match="produced no record batch; with no rows, yield an empty"):
        run(monkeypatch, lambda r: [])


def test_a_value_that_is_not_a_batch_is_a_permanent_query_error(monkeypatch):
    with pytest.raises(QueryError, match="report type 't' failed: TypeError: it yielded a dict"):
        run(monkeypatch, lambda r: [{"a": 1}])


def test_a_bug_in_the_type_is_a_permanent_query_error(monkeypatch):
    def broken(r):
        raise ZeroDivisionError("division by zero")

    with pytest.raises(QueryError, match="failed: ZeroDivisionError: division by zero") as caught:
        run(monkeypatch, broken)
    assert caught.value.transient is None


@pytest.mark.parametrize(
    "error", [QueryError("connection refused", "connection refused by db:5432"), QueryTimeout("x")]
)
def test_query_failures_pass_through_for_the_fetch_retries(monkeypatch, error):
    with pytest.raises(type(error)) as caught:
        run(monkeypatch, lambda r: r.query("select 1"), Recorder(error))
    assert caught.value is error
