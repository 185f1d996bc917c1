"""The ``report_pool_limits`` sensor: keeps the instance's pool limits equal to connections.yaml.

It runs in the daemon, so a changed ``max_concurrent`` takes effect within a minute of the code
location reloading, and loading the code stays free of writes.
"""

from dagster import (
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from reports_pipeline.pools import describe, pool_limits, sync_pool_limits
from reports_pipeline.spec.connections import ConnectionsFile

POOL_LIMITS_SENSOR_NAME = "report_pool_limits"
_INTERVAL_SECONDS = 60


def build_pool_limits_sensor(connections: ConnectionsFile) -> SensorDefinition:
    limits = pool_limits(connections)

    @sensor(
        name=POOL_LIMITS_SENSOR_NAME,
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=_INTERVAL_SECONDS,
        description="Sets each warehouse pool's limit in the instance to the connection's "
        "max_concurrent in connections.yaml: "
        + (", ".join(f"{pool}={limit}" for pool, limit in sorted(limits.items())) or "none"),
    )
    def report_pool_limits(context: SensorEvaluationContext):
        return SkipReason(describe(sync_pool_limits(context.instance, limits)))

    return report_pool_limits
