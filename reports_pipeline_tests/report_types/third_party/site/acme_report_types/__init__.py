"""A team's own report type, packaged apart from reports_pipeline as any installed package is.

Its ``acme_report_types-1.0.dist-info/entry_points.txt`` registers ``audit_actions`` in the
``reports_pipeline.report_types`` group, as ``pip install`` would write it from the
``entry_points`` of the package's setup.py or pyproject.toml.
"""

from pydantic import Field

from reports_pipeline.report_types import ReportTypeParams, ReportTypeRun, report_type


class AuditActionsParams(ReportTypeParams):
    actions: list[str] = Field(min_length=1, description="Actions to count, e.g. [grant, revoke].")
    min_events: int = Field(default=1, ge=1, description="Leave out actors with fewer events.")


@report_type(params=AuditActionsParams)
def audit_actions(run: ReportTypeRun[AuditActionsParams]):
    """Audit events of the period per actor and action, for the chosen actions."""
    import pyarrow as pa

    names = {f"action_{index}": action for index, action in enumerate(run.params.actions)}
    sql = (
        "select actor, action, count(*) as events from audit_events"
        " where occurred_at >= :period_start and occurred_at < :period_end"
        f" and action in ({', '.join(':' + name for name in names)})"
        " group by actor, action having count(*) >= :min_events order by actor, action"
    )
    schema = pa.schema([("actor", pa.string()), ("action", pa.string()), ("events", pa.int64())])
    rows = []
    for batch in run.query(sql, min_events=run.params.min_events, **names):
        rows.extend(batch.to_pylist())
    yield pa.RecordBatch.from_pylist(rows, schema=schema)
