"""Each report's files as a Dagster asset, ``reports/<name>``: its Catalog page is the archive.

The asset is declared only (no function computes it): the report's job stays the mission's
shape, and its ``persist`` step records a materialization of the period each time it stores a
file. One small spec per report: the full load builds thousands of them (README, "Scale").
"""

import re
from collections.abc import Mapping, Sequence

from dagster import AssetKey, AssetMaterialization, AssetSpec, MetadataValue, PartitionsDefinition

from reports_pipeline.jobs.ledger import FORCE_TAG
from reports_pipeline.spec.report import ReportSpec
from reports_pipeline.storage.local_files import StoredFile

ASSET_KEY_PREFIX = "reports"
UNGROUPED = "reports"  # the group of reports without a team


def report_asset_key(name: str) -> AssetKey:
    return AssetKey([ASSET_KEY_PREFIX, name])


def report_group(spec: ReportSpec) -> str:
    """The report's team as a Dagster group name (letters, digits and _ only)."""
    team = re.sub(r"[^A-Za-z0-9_]+", "_", spec.team or "").strip("_")
    return team or UNGROUPED


def report_owners(spec: ReportSpec) -> list[str]:
    """The owner's address and the team, as far as Dagster accepts them as asset owners.

    Dagster's check of an address is stricter than the spec's (no Unicode, top-level domains of
    at most 7 letters): an owner it refuses is still the report's owner, only not shown here.
    """
    from dagster._core.definitions.utils import is_valid_owner  # no public form of the check

    candidates = [str(spec.owner), *([f"team:{spec.team}"] if spec.team else [])]
    return [owner for owner in candidates if is_valid_owner(owner)]


def _asset_tags(tags: Mapping[str, str]) -> dict[str, str]:
    # Asset tags are stricter than run tags (values of at most 63 of [A-Za-z0-9_.-], one `/`
    # in a key): a tag outside that stays on the report's runs only.
    from dagster._utils.tags import is_valid_strict_tag_value, is_valid_tag_key

    return {k: v for k, v in tags.items() if is_valid_tag_key(k) and is_valid_strict_tag_value(v)}


def report_asset_spec(spec: ReportSpec, partitions_def: PartitionsDefinition | None) -> AssetSpec:
    """The catalog entry of a report's files, partitioned like its job."""
    return AssetSpec(
        report_asset_key(spec.name),
        description=spec.description or spec.display_title,
        group_name=report_group(spec),
        owners=report_owners(spec),
        tags=_asset_tags(spec.tags),
        kinds={spec.format},
        partitions_def=partitions_def,
    )


def produced_by(run_tags: Mapping[str, str]) -> str:
    """What started the run that stored a file, in words: the catalog's "who/what produced it"."""
    from dagster._core.storage.tags import (
        BACKFILL_ID_TAG,
        PARENT_RUN_ID_TAG,
        SCHEDULE_NAME_TAG,
        SENSOR_NAME_TAG,
        USER_TAG,
    )

    if BACKFILL_ID_TAG in run_tags:
        cause = f"backfill {run_tags[BACKFILL_ID_TAG]}"
    elif SCHEDULE_NAME_TAG in run_tags:
        cause = f"schedule {run_tags[SCHEDULE_NAME_TAG]}"
    elif SENSOR_NAME_TAG in run_tags:
        cause = f"sensor {run_tags[SENSOR_NAME_TAG]}"
    elif PARENT_RUN_ID_TAG in run_tags:
        cause = f"re-execution of run {run_tags[PARENT_RUN_ID_TAG][:8]}"
    else:
        cause = "launched by hand"
    if run_tags.get(USER_TAG):
        cause += f" by {run_tags[USER_TAG]}"
    if run_tags.get(FORCE_TAG, "").lower() == "true":
        cause += ", deliveries forced"
    return cause


def stored_file_materializations(
    name: str,
    stored: StoredFile,
    *,
    period: str,
    partition_keys: Sequence[str | None],
    fingerprint: str,
    run_id: str,
    run_tags: Mapping[str, str],
) -> list[AssetMaterialization]:
    """One materialization of ``reports/<name>`` per period the stored file covers.

    A run of several periods (a range) stores one file for all of them, so each of its periods
    links to that file. ``partition_keys`` is ``[None]`` for an unpartitioned (one-off) report.
    """
    link = stored.download_url
    metadata = {
        "rows": stored.rows,
        "bytes": stored.bytes,
        "sha256": stored.sha256,  # of the file: what a download must match
        "fingerprint": fingerprint,  # of the content: equal for the same data and settings
        "location": stored.location,  # the path, or s3://bucket/key
        # A presigned link expires (storage.link_expiry): the location stays valid after it.
        "download": MetadataValue.url(link) if link else MetadataValue.path(stored.path),
        "period": period,
        "run": MetadataValue.dagster_run(run_id),
        "produced by": produced_by(run_tags),
    }
    return [
        AssetMaterialization(
            asset_key=report_asset_key(name),
            partition=key,
            description=f"{name} {period}: {stored.rows} rows, {stored.bytes} bytes",
            metadata=metadata,
        )
        for key in partition_keys
    ]
