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
    job,
    op,
)

from reports_pipeline.assets import stored_file_materializations
from reports_pipeline.jobs.delivery_step import build_delivery_op
from reports_pipeline.jobs.executor import report_executor
from reports_pipeline.jobs.fetch_retry import fetch_failure
from reports_pipeline.jobs.retry import retry_policy
from reports_pipeline.jobs.run_limits import max_runtime_tags
from reports_pipeline.render import ReportDocument, render_file
from reports_pipeline.render.fingerprint import DataFingerprintTap, content_fingerprint
from reports_pipeline.render.preview import PreviewTap
from reports_pipeline.report_page import report_job_metadata, report_page
from reports_pipeline.resources.storage import STORAGE_RESOURCE_KEY
from reports_pipeline.scheduling.run_period import period_of_run
from reports_pipeline.spec.connections import DEMO_WAREHOUSE, ConnectionsFile
from reports_pipeline.spec.loader import LoadedReport
from reports_pipeline.spec.report import ReportSpec

REPORT_TAG = "reports/name"
# The file a run's report came from: when a new file claims a name already deployed, the file
# that ran last under that name keeps it (reports_pipeline.definitions).
REPORT_FILE_TAG = "reports/file"


def report_run_tags(spec: ReportSpec) -> dict[str, str]:
    """Tags copied onto every run of a report (the spec's own tags plus who owns it).

    A partitioned report's runs also name its partition set, as runs launched from the UI's
    Partitions tab do: the tab counts only runs with that tag, and ``dagster job launch`` with a
    ``dagster/partition`` tag would otherwise leave it out.
    """
    from dagster._core.remote_representation.external_data import (
        partition_set_snap_name_for_job_name,
    )
    from dagster._core.storage.tags import PARTITION_SET_TAG

    tags = {**spec.tags, REPORT_TAG: spec.name, "reports/owner": str(spec.owner)}
    if spec.schedule.every != "once":
        tags[PARTITION_SET_TAG] = partition_set_snap_name_for_job_name(spec.name)
    return tags


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


def _secret_scrubber(connections: ConnectionsFile, key: str):
    """Takes the connection's secrets (in every form) and credential-like text out of a message:
    a driver's error may quote a URL or a server's answer, and Dagster stores what a step says."""
    from reports_pipeline.redaction import Redactor
    from reports_pipeline.secret_values import secrets_in_scope

    connection = connections.connections.get(key)
    return Redactor(secrets_in_scope([connection] if connection else [])).text


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


def _content_fingerprint(report: LoadedReport, data_sha256: str) -> str:
    spec = report.spec
    template = getattr(spec.options, "template", None)
    return content_fingerprint(
        data_sha256,
        format=spec.format,
        options=spec.options,
        template=report.path.parent / template if template else None,
        title=spec.display_title,
        description=spec.description,
    )


def _source_batches(spec: ReportSpec, warehouse, period):
    """The period's rows as record batches: the query's, or the report type's."""
    source = spec.source
    if source.report_type:
        from reports_pipeline.report_types.batches import report_type_batches

        return report_type_batches(
            source.report_type,
            source.params,
            warehouse=warehouse,
            period=period,
            timezone=spec.timezone,
            timeout=source.timeout,
        )
    params = {**source.params, "period_start": period.start, "period_end": period.end}
    return warehouse.stream(source.sql, params, timeout=source.timeout)


def build_report_job(
    report: LoadedReport, connections: ConnectionsFile, partitions_def
) -> JobDefinition:
    """The job named exactly ``spec.name``, partitioned by the report's periods."""
    spec = report.spec
    source_key = spec.source.connection or DEMO_WAREHOUSE
    fetch_retries = retry_policy(spec.retry or connections.policy.retry)

    @op(
        name=op_definition_name(spec.name, "fetch_and_render"),
        required_resource_keys={source_key, STORAGE_RESOURCE_KEY},
        out=Out(dict),
        retry_policy=fetch_retries,  # transient query failures only: see fetch_retry
        # At most the connection's max_concurrent of these steps query it at once, across all
        # runs (the limit is set in the instance: reports_pipeline.pools).
        pool=connections.pool_of(source_key),
        description=f"Run the query of {spec.name} for one period and render {spec.format}.",
    )
    def fetch_and_render(context: OpExecutionContext) -> dict:
        # Fetching and rendering share one step because rows stream from the cursor straight
        # into the file: passing them between steps would hold the whole result in memory.
        period = period_of_run(spec.schedule, partitions_def, context)
        storage = getattr(context.resources, STORAGE_RESOURCE_KEY)
        warehouse = getattr(context.resources, source_key)
        staged = storage.staging_path(spec.name, period.key, spec.extension, context.run_id)
        # Imported here: SQLAlchemy is only needed by runs, not by every load of the code.
        from reports_pipeline.warehouse.fetch import QueryError, QueryTimeout

        try:
            batches = PreviewTap(_source_batches(spec, warehouse, period))
            data = DataFingerprintTap(batches)  # hashes the rows as they stream past
            result = render_file(spec.format, data, staged, spec.options, _document(report, period))
        except (QueryError, QueryTimeout) as exc:
            staged.unlink(missing_ok=True)  # no attempt leaves its staged file behind
            failed = fetch_failure(
                exc,
                where=f"{spec.name} (connection '{source_key}')",
                attempt=context.retry_number + 1,
                policy=fetch_retries,
                retry_on_timeout=spec.source.retry_on_timeout,
                scrub=_secret_scrubber(connections, source_key),
            )
            if failed.note:
                context.log.warning(failed.note)
            raise failed.failure from None
        except Exception as exc:  # a template, a chart column, a value the format cannot hold
            staged.unlink(missing_ok=True)
            raise Failure(
                description=_secret_scrubber(connections, source_key)(
                    f"{spec.name}: rendering {spec.format} failed: {exc}"
                ),
                allow_retries=False,
            ) from None
        context.log.info(
            f"{result.rows} rows for {period.start.isoformat()} – {period.end.isoformat()}"
        )
        _check_rows(spec, result.rows)
        return {
            "staged": str(staged),
            "rows": result.rows,
            "period": period.key,
            "preview": batches.as_dict(),
            # What the ledger knows a delivery by: the rendered bytes differ on every run for
            # most formats (creation times), the data and settings do not.
            "fingerprint": _content_fingerprint(report, data.hexdigest()),
        }

    @op(
        name=op_definition_name(spec.name, "persist"),
        required_resource_keys={STORAGE_RESOURCE_KEY},
        out=Out(dict),
        # An S3 store that is unreachable or throttling gets the report's retries; a refusal
        # (missing bucket, denied credentials) fails at once.
        retry_policy=fetch_retries,
        description="Store the rendered file beside the period's earlier ones, as its latest,"
        f" and record it in the catalog as reports/{spec.name}.",
    )
    def persist(context: OpExecutionContext, rendered: dict):
        from reports_pipeline.delivery.errors import DeliveryError

        storage = getattr(context.resources, STORAGE_RESOURCE_KEY)
        try:
            stored = storage.store(
                Path(rendered["staged"]),
                spec.name,
                rendered["period"],
                spec.extension,
                rendered["rows"],
                run_id=context.run_id,  # each run keeps its own file: earlier ones stay
            )
        except DeliveryError as exc:  # worded without secrets by reports_pipeline.delivery.s3
            raise Failure(
                description=f"{spec.name}: storing the file failed: {exc}",
                allow_retries=not exc.permanent,
            ) from None
        # The file in Dagster's catalog: one materialization of reports/<name> per period.
        yield from stored_file_materializations(
            spec.name,
            stored,
            period=rendered["period"],
            partition_keys=context.partition_keys if partitions_def is not None else [None],
            fingerprint=rendered["fingerprint"],
            run_id=context.run_id,
            run_tags=context.run.tags,
        )
        yield Output(
            {
                **asdict(stored),
                "preview": rendered.get("preview"),
                "fingerprint": rendered["fingerprint"],
            },
            metadata={
                "rows": stored.rows,
                "bytes": stored.bytes,
                "path": MetadataValue.path(stored.path),
                "location": stored.location,  # the path, or s3://bucket/key
                **(
                    {"download_url": MetadataValue.url(stored.download_url)}
                    if stored.download_url
                    else {}
                ),
                "sha256": stored.sha256,  # of the file: integrity, not identity
                "fingerprint": rendered["fingerprint"],  # of the content: what the ledger keys
                "period": rendered["period"],
            },
        )

    # Large files go out as links: to storage.public_base_url if there is one, else to the
    # report's first s3 target, whose upload the linking steps then wait for.
    s3_index = next((i for i, t in enumerate(spec.deliver) if t.channel == "s3"), None)
    link_source = None
    if s3_index is not None and not connections.storage.public_base_url:
        s3_target = spec.deliver[s3_index].s3
        link_source = (s3_target.connection, s3_target)
    steps = []
    for index, target in enumerate(spec.deliver):
        links = link_source if target.channel in ("email", "slack") else None
        deliver = build_delivery_op(report, index, target, connections, partitions_def, links)
        steps.append((f"deliver_{index + 1}_{target.channel}", deliver, links is not None))

    @job(
        name=spec.name,
        description=report_page(report, connections),  # the job page shows the whole report
        partitions_def=partitions_def,
        executor_def=report_executor(),  # in the run's process, or Celery workers
        tags={
            **report_run_tags(spec),
            REPORT_FILE_TAG: report.shown_as,
            **max_runtime_tags(spec.max_runtime or connections.policy.max_runtime),
        },
        metadata=report_job_metadata(report, connections),
    )
    def report_job():
        stored = persist.alias("persist")(fetch_and_render.alias("fetch_and_render")())
        uploaded = None
        if s3_index is not None:
            name, deliver, _ = steps[s3_index]
            uploaded = deliver.alias(name)(stored=stored)
        for index, (name, deliver, waits_for_upload) in enumerate(steps):
            if index == s3_index:
                continue
            if waits_for_upload:
                deliver.alias(name)(stored=stored, after=uploaded)
            else:
                deliver.alias(name)(stored=stored)

    return report_job
