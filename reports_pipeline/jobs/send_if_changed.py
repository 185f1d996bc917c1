"""``send_if: changed``: a period is sent to a target only if its data differs from what that
target last got for an earlier period (REPORT_SPEC.md, "send_if").

Per target, not per report: a target whose delivery failed last period compares with what it
did get, so it is not left without the data the other targets have. The first period, a
one-off report's period and a period with nothing delivered before it are sent.
"""

from dagster import TimeWindowPartitionsDefinition

from reports_pipeline.scheduling.cadence import Period


def previous_period_key(
    partitions_def: TimeWindowPartitionsDefinition | None, period: Period
) -> str | None:
    """The key of the period just before ``period`` (before its first, for a range of periods).

    Not bounded by the report's ``start``: periods delivered before a later ``start`` still
    say what the recipients have.
    """
    if partitions_def is None:
        return None  # a one-off report has no earlier period
    window = partitions_def.get_prev_partition_window(period.start, respect_bounds=False)
    if window is None:
        return None
    return partitions_def.get_partition_key_for_timestamp(window.start.timestamp())


def unchanged_since(fingerprint: str, previous: dict | None) -> str | None:
    """Why the period is not sent, if ``previous`` (a ledger entry) had the same content."""
    if previous is None or previous.get("fingerprint") != fingerprint:
        return None
    return f"data unchanged since period {previous['period']} ({_delivered_by(previous)})"


def changed_since(previous: dict) -> str:
    """Why the period is sent although an earlier period was delivered: its data differs."""
    return f"data changed since period {previous['period']} ({_delivered_by(previous)})"


def _delivered_by(entry: dict) -> str:
    return f"delivered by run {entry['run_id']} at {entry['at']}"
