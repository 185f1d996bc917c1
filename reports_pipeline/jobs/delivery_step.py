"""The deliver step of one target: exactly once per report, period, target and content."""

import time
import traceback
from dataclasses import replace
from pathlib import Path

from dagster import (
    Failure,
    In,
    MetadataValue,
    Nothing,
    OpDefinition,
    OpExecutionContext,
    Output,
    op,
)

from reports_pipeline.delivery.email_message import attachment_content_type
from reports_pipeline.delivery.errors import DeliveryError, TransientDeliveryError
from reports_pipeline.delivery.request import DeliveryRequest, Preview
from reports_pipeline.jobs.ledger import (
    FORCE_TAG,
    LedgerKey,
    decide,
    find_deliveries,
    previous_delivery,
    record_delivery,
    record_unchanged,
    target_id,
)
from reports_pipeline.jobs.retry import retry_policy
from reports_pipeline.jobs.send_if_changed import (
    changed_since,
    previous_period_key,
    unchanged_since,
)
from reports_pipeline.redaction import Redactor
from reports_pipeline.scheduling.run_period import period_of_run
from reports_pipeline.secret_values import secrets_in_scope
from reports_pipeline.spec.connections import ConnectionsFile
from reports_pipeline.spec.loader import LoadedReport
from reports_pipeline.spec.report import DeliveryTarget
from reports_pipeline.templating import PeriodContext, template_context


def target_connection(target: DeliveryTarget, connections: ConnectionsFile) -> str:
    settings = target.settings
    if target.channel == "email":
        return connections.mail_connection_for(settings.connection)
    return settings.connection


def _body(report: LoadedReport, target: DeliveryTarget) -> str | None:
    settings = target.settings
    if target.channel == "email" and settings.body_template:
        return (report.path.parent / settings.body_template).read_text(encoding="utf-8")
    return getattr(settings, "body", None)


def build_delivery_op(
    report: LoadedReport,
    index: int,
    target: DeliveryTarget,
    connections: ConnectionsFile,
    partitions_def,
    link_source: tuple[str, object] | None,
) -> OpDefinition:
    """A step delivering the stored report to one target, with the report's retry policy.

    ``link_source`` is the ``(resource key, s3 target)`` whose presigned URL links large files
    when storage has no public URL; the step then waits for that upload (its ``after`` input).
    """
    spec = report.spec
    channel = target.channel
    resource_key = target_connection(target, connections)
    identity = target_id(index, channel, target.settings.model_dump(mode="json"))
    storage = connections.storage
    max_bytes = int(connections.policy.max_attachment_mb * 1024 * 1024)
    keys = {resource_key} | ({link_source[0]} if link_source else set())

    @op(
        name=f"{spec.name}__deliver_{index + 1}_{channel}",
        required_resource_keys=keys,
        ins={"stored": In(dict), "after": In(Nothing)},
        retry_policy=retry_policy(spec.retry or connections.policy.retry),
        description=f"Deliver to {channel} through '{resource_key}', once per period and content.",
        tags={"reports/channel": channel},
    )
    def deliver(context: OpExecutionContext, stored: dict):
        attempt = context.retry_number + 1
        if spec.send_if == "rows" and stored["rows"] == 0:
            context.log.info("no rows in this period and send_if is rows: nothing sent")
            yield Output(None, metadata={"status": "skipped", "reason": "no rows (send_if: rows)"})
            return
        period = period_of_run(spec.schedule, partitions_def, context)
        # A run persisted before fingerprints were kept, now re-executed, has only the file's
        # sha256: keyed by it, the step finds what that run's ledger entries recorded.
        fingerprint = stored.get("fingerprint") or stored["sha256"]
        key = LedgerKey(spec.name, period.key, identity, fingerprint)
        forced = context.run.tags.get(FORCE_TAG, "").lower() == "true"
        found = find_deliveries(context.instance, key, stored["sha256"])
        decision = decide(key, *found, forced=forced)
        if not decision.send:
            context.log.info(
                f"{decision.reason}: not sent again (tag the run {FORCE_TAG}=true to send it"
                " again)"
            )
            yield Output(
                None,
                metadata={
                    "status": decision.status,
                    "note": f"{decision.reason}, not sent again",
                    "delivered_by_run": decision.earlier["run_id"],
                    "delivered_at": decision.earlier["at"],
                    "fingerprint": key.fingerprint,
                },
            )
            return
        # send_if: changed asks only before a period's first delivery to the target: new data
        # for a delivered period is a correction, sent by the rules above.
        if spec.send_if == "changed" and decision.earlier is None and not forced:
            before = previous_period_key(partitions_def, period)
            previous = previous_delivery(context.instance, key, period.start, before)
            unchanged = unchanged_since(key.fingerprint, previous)
            if unchanged:
                record_unchanged(context.instance, key, previous, run_id=context.run_id)
                context.log.info(
                    f"not sent: {unchanged} and send_if is changed (tag the run"
                    f" {FORCE_TAG}=true to send it)"
                )
                yield Output(
                    None,
                    metadata={
                        "status": "skipped",
                        "reason": unchanged,
                        "note": f"not sent: {unchanged} (send_if: changed)",
                        "unchanged_since_period": previous["period"],
                        "unchanged_since_run": previous["run_id"],
                        "fingerprint": key.fingerprint,
                    },
                )
                return
            if previous:
                decision = replace(decision, reason=changed_since(previous), earlier=previous)
        if decision.reason:
            context.log.info(f"{channel}: {decision.reason}: sending")
        # Every text from here on may quote a server's answer or a library's view of the
        # request: it is scrubbed of the deployment's secrets before Dagster stores or logs it.
        redactor = Redactor(secrets_in_scope(connections.connections.values()))
        where = f"deliver[{index}].{channel} via '{resource_key}' (attempt {attempt})"
        started = time.monotonic()
        try:
            request = replace(
                _request(context, report, stored, period, max_bytes),
                delivery_id=decision.delivery_id,
            )
            if link_source and not storage.public_base_url:
                s3_key, s3_target = link_source
                request = _with_link(request, getattr(context.resources, s3_key), s3_target)
            elif storage.public_base_url:
                request = _with_public_link(request, storage.public_base_url, stored, storage)
            elif stored.get("download_url"):  # S3 storage: a presigned link to the stored file
                request = replace(request, download_url=stored["download_url"])
            receipt = getattr(context.resources, resource_key).deliver(
                request,
                target.settings,
                **({"body": _body(report, target)} if channel == "email" else {}),
            )
        except Exception as exc:
            # `from None` throughout: the original, secrets and all, must not be chained into
            # the error Dagster stores in the event log.
            raise _clean_error(exc, redactor, where, attempt, context) from None
        record_delivery(
            context.instance,
            key,
            decision,
            run_id=context.run_id,
            summary=redactor.text(receipt.summary),
            sha256=stored["sha256"],
            period_start=period.start,
        )
        context.log.info(redactor.text(f"{channel}: {receipt.summary}"))
        earlier = decision.earlier
        yield Output(
            None,
            metadata={
                "status": decision.status,
                **({"reason": decision.reason} if decision.reason else {}),
                **(
                    {"previous_run": earlier["run_id"], "previous_at": earlier["at"]}
                    if earlier
                    else {}
                ),
                "fingerprint": key.fingerprint,
                "sha256": stored["sha256"],
                "attempt": attempt,
                "seconds": round(time.monotonic() - started, 3),
                "connection": resource_key,
                "answer": MetadataValue.json(redactor.value(receipt.details)),
            },
        )

    return deliver


def _clean_error(
    exc: Exception, redactor: Redactor, where: str, attempt: int, context: OpExecutionContext
) -> Exception:
    """What the step raises instead of ``exc``: the same outcome, with scrubbed text only.

    A refusal fails the step at once; a transient error is retried by the step's policy; any
    other error (a library's own, a bug) is retried too, its scrubbed traceback kept in the
    failure's metadata for whoever debugs it.
    """
    if isinstance(exc, DeliveryError):
        error = redactor.text(str(exc))
        if exc.permanent:
            return Failure(
                description=f"{where} failed: {error}",
                metadata={"status": "failed", "attempt": attempt, "error": error},
                allow_retries=False,
            )
        context.log.warning(f"{where}: {error}; will retry if attempts remain")
        return TransientDeliveryError(error)
    error = redactor.text(f"{type(exc).__name__}: {exc}")
    trace = "".join(traceback.format_exception(exc))
    return Failure(
        description=f"{where} failed: {error}",
        metadata={
            "status": "failed",
            "attempt": attempt,
            "error": error,
            "traceback": MetadataValue.text(redactor.text(trace, limit=20_000)),
        },
    )


def _request(context, report, stored, period, max_bytes) -> DeliveryRequest:
    spec = report.spec
    period_context = PeriodContext(start=period.start, end=period.end, key=period.key)
    preview = stored.get("preview")
    path = Path(stored["path"])
    return DeliveryRequest(
        report=spec.name,
        title=spec.display_title,
        period=period_context,
        file=path,
        file_name=path.name,
        content_type=attachment_content_type(path.name),
        sha256=stored["sha256"],
        bytes=stored["bytes"],
        rows=stored["rows"],
        variables=template_context(
            name=spec.name,
            title=spec.display_title,
            owner=str(spec.owner),
            period=period_context,
            rows=stored["rows"],
            ext=spec.extension,
            format=spec.format,
            run_id=context.run_id,
            params=spec.source.params,
        ),
        preview=Preview(**preview) if preview else None,
        max_attachment_bytes=max_bytes,
    )


def _with_link(request: DeliveryRequest, s3, s3_target) -> DeliveryRequest:
    return replace(request, download_url=s3.download_url(request, s3_target))


def _with_public_link(
    request: DeliveryRequest, base_url: str, stored: dict, storage
) -> DeliveryRequest:
    from reports_pipeline.spec.values import resolve_setting

    root = Path(resolve_setting(storage.path)).resolve()
    relative = Path(stored["path"]).resolve().relative_to(root).as_posix()
    return replace(request, download_url=f"{base_url.rstrip('/')}/{relative}")
