"""The period a running job covers, read from its partition (or partition range)."""

from dagster import OpExecutionContext, TimeWindowPartitionsDefinition

from reports_pipeline.scheduling.cadence import Period, combined_period, once_period, period_for_key
from reports_pipeline.spec.report import Schedule


def period_of_run(
    schedule: Schedule,
    partitions_def: TimeWindowPartitionsDefinition | None,
    context: OpExecutionContext,
) -> Period:
    """One period, several consecutive ones (``first..last``), or a one-off report's period."""
    if partitions_def is None:
        return once_period(schedule)
    keys = context.partition_key_range
    return combined_period(
        period_for_key(partitions_def, keys.start), period_for_key(partitions_def, keys.end)
    )
