"""Warehouse limits as Dagster concurrency pools: at most N queries on a connection at once.

Each report's fetch step belongs to the pool of its source connection (``pool:``, default the
connection's name). Dagster keeps a pool's limit in the instance, not in code, so the limits in
``connections.yaml`` (``max_concurrent``) are copied there by :func:`sync_pool_limits`: from the
``report_pool_limits`` sensor in the daemon, or once by hand with ``python -m
reports_pipeline.pools``. Loading the code never writes to the instance.
"""

from dagster import DagsterInstance

from reports_pipeline.spec.connections import ConnectionsFile


def pool_limits(connections: ConnectionsFile) -> dict[str, int]:
    """Each pool's limit; connections that share a pool get the smallest of their limits."""
    limits: dict[str, int] = {}
    for name, connection in connections.connections.items():
        limit = getattr(connection, "max_concurrent", None)
        if limit is None:
            continue
        pool = connections.pool_of(name)
        limits[pool] = min(limit, limits.get(pool, limit))
    return limits


def sync_pool_limits(instance: DagsterInstance, limits: dict[str, int]) -> dict[str, int]:
    """Set each pool's slots in the instance where they differ; returns what it changed.

    Idempotent and cheap when nothing changed (one read of the pool table). Pools the
    deployment no longer names are left alone: an operator may have set them in the UI.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return {}  # an in-memory instance (tests, `reports run` without DAGSTER_HOME)
    current = {pool.name: pool.limit for pool in storage.get_pool_limits()}
    changed = {pool: limit for pool, limit in limits.items() if current.get(pool) != limit}
    for pool, limit in changed.items():
        storage.set_concurrency_slots(pool, limit)
    return changed


def describe(changed: dict[str, int]) -> str:
    if not changed:
        return "pool limits already match connections.yaml"
    return "set " + ", ".join(f"{pool} to {limit}" for pool, limit in sorted(changed.items()))


def main() -> None:
    """``python -m reports_pipeline.pools``: copy the limits into the instance of DAGSTER_HOME."""
    from reports_pipeline import locations
    from reports_pipeline.spec.loader import load_connections

    connections, errors = load_connections(locations.connections_path())
    if errors:
        raise SystemExit("\n".join(str(error) for error in errors))
    with DagsterInstance.get() as instance:
        print(describe(sync_pool_limits(instance, pool_limits(connections))))


if __name__ == "__main__":
    main()
