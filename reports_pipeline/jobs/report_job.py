"""One Dagster job per report: fetch_and_render → persist → one deliver step per target."""

from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from dagster import (
    Failure,
    JobDefinition,
    MetadataValue,
    OpExecutionContext,
    Out,
    Output,
    in_process_executor,
    job,
    op,
)

from reports_pipeline.jobs.email_delivery import build_email_delivery_op
from reports_pipeline.render import ReportDocument, render_file
from reports_pipeline.resources.storage import STORAGE_RESOURCE_KEY
from reports_pipeline.scheduling.run_period import period_of_run
from reports_pipeline.spec.connections import DEMO_WAREHOUSE, ConnectionsFile
from reports_pipeline.spec.loader import LoadedReport
from reports_pipeline.spec.report import ReportSpec

REPORT_TAG = "reports/name"


def report_run_tags(spec: ReportSpec) -> dict[str, str]:
    """Tags copied onto every run of a report (the spec's own tags plus who owns it)."""
    return {**spec.tags, REPORT_TAG: spec.name, "reports/owner": str(spec.owner)}


def op_definition_name(report_name: str, step: str) -> str:
    """Dagster wants op definition names unique across the code location, so each report's ops
    are prefixed with its name; in the job they keep the short step names (``persist``)."""
    return f"{report_name}__{step}"


def _check_rows(spec: ReportSpec, rows: int) -> None:
    checks = spec.checks
    if checks.min_rows is not None and rows < checks.min_rows:
        raise Failure(
            description=f"check failed: {rows} rows, fewer than checks.min_rows={checks.min_rows};"
            " nothing was delivered",
            allow_retries=False,
        )
    if checks.max_rows is not None and rows > checks.max_rows:
        raise Failure(
            description=f"check failed: {rows} rows, more than checks.max_rows={checks.max_rows};"
            " nothing was delivered",
            allow_retries=False,
        )


def _document(report: LoadedReport, period) -> ReportDocument:
    spec = report.spec
    return ReportDocument(
        name=spec.name,
        title=spec.display_title,
        description=spec.description,
        period_key=period.key,
        period_start=period.start,
        period_end=period.end,
        generated_at=datetime.now(ZoneInfo(spec.timezone)),
        template_dir=report.path.parent,
    )


def build_report_job(
    report: LoadedReport, connections: ConnectionsFile, partitions_def
) -> JobDefinition:
    """The job named exactly ``spec.name``, partitioned by the report's periods."""
    spec = report.spec
    source_key = spec.source.connection or DEMO_WAREHOUSE

    @op(
        name=op_definition_name(spec.name, "fetch_and_render"),
        required_resource_keys={source_key, STORAGE_RESOURCE_KEY},
        out=Out(dict),
        description=f"Run the query of {spec.name} for one period and render {spec.format}.",
    )
    def fetch_and_render(context: OpExecutionContext) -> dict:
        # Fetching and rendering share one step because rows stream from the cursor straight
        # into the file: passing them between steps would hold the whole result in memory.
        period = period_of_run(spec.schedule, partitions_def, context)
        storage = getattr(context.resources, STORAGE_RESOURCE_KEY)
        warehouse = getattr(context.resources, source_key)
        staged = storage.staging_path(spec.name, period.key, spec.extension, context.run_id)
        params = {**spec.source.params, "period_start": period.start, "period_end": period.end}
        try:
            batches = warehouse.stream(spec.source.sql, params, timeout=spec.source.timeout)
            result = render_file(
                spec.format, batches, staged, spec.options, _document(report, period)
            )
        except Exception as exc:
            staged.unlink(missing_ok=True)
            raise Failure(
                description=f"{spec.name}: the query on connection '{source_key}' failed: {exc}",
                allow_retries=True,
            ) from None
        context.log.info(
            f"{result.rows} rows for {period.start.isoformat()} – {period.end.isoformat()}"
        )
        _check_rows(spec, result.rows)
        return {"staged": str(staged), "rows": result.rows, "period": period.key}

    @op(
        name=op_definition_name(spec.name, "persist"),
        required_resource_keys={STORAGE_RESOURCE_KEY},
        out=Out(dict),
        description="Store the rendered file at its path for this report and period.",
    )
    def persist(context: OpExecutionContext, rendered: dict):
        storage = getattr(context.resources, STORAGE_RESOURCE_KEY)
        stored = storage.store(
            Path(rendered["staged"]),
            spec.name,
            rendered["period"],
            spec.extension,
            rendered["rows"],
        )
        yield Output(
            asdict(stored),
            metadata={
                "rows": stored.rows,
                "bytes": stored.bytes,
                "path": MetadataValue.path(stored.path),
                "sha256": stored.sha256,
                "period": rendered["period"],
            },
        )

    deliver_ops = [
        (
            f"deliver_{index + 1}_{target.channel}",
            build_email_delivery_op(report, index, target.settings, connections, partitions_def),
        )
        for index, target in enumerate(spec.deliver)
    ]

    @job(
        name=spec.name,
        description=spec.description or spec.display_title,
        partitions_def=partitions_def,
        executor_def=in_process_executor,
        tags=report_run_tags(spec),
        metadata={"report file": report.shown_as, "owner": str(spec.owner)},
    )
    def report_job():
        stored = persist.alias("persist")(fetch_and_render.alias("fetch_and_render")())
        for step_name, deliver in deliver_ops:
            deliver.alias(step_name)(stored)

    return report_job
