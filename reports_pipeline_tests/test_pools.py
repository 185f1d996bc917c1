"""Warehouse pools: connections.yaml limits reach the instance, and a full pool holds steps back."""

import threading
import time

from dagster import DagsterEventType, DagsterInstance, execute_job

from reports_pipeline.pools import describe, pool_limits, sync_pool_limits
from reports_pipeline.spec.loader import load_connections
from reports_pipeline_tests.jobs.job_factory import reconstructable_report_job
from reports_pipeline_tests.jobs.warehouses import create_sqlite_warehouse
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report

QUERY = (
    "select id, customer from invoices"
    " where issued_at >= :period_start and issued_at < :period_end order by id"
)


def connections_file(tmp_path, warehouses: dict) -> object:
    path = write_connections(
        tmp_path,
        {
            "connections": {
                **warehouses,
                "outbox": {"kind": "outbox", "path": str(tmp_path / "outbox")},
            },
            "storage": {"path": str(tmp_path / "files")},
        },
    )
    connections, errors = load_connections(path)
    assert errors == []
    return connections


def limits_in(instance: DagsterInstance) -> dict[str, int]:
    return {pool.name: pool.limit for pool in instance.event_log_storage.get_pool_limits()}


def test_each_pool_gets_its_connections_limit_and_shared_pools_the_smallest(tmp_path):
    connections = connections_file(
        tmp_path,
        {
            "warehouse": {"kind": "sql", "url": "sqlite://", "max_concurrent": 3},
            "warehouse_eu": {"kind": "sql", "url": "sqlite://", "pool": "dwh", "max_concurrent": 5},
            "warehouse_us": {"kind": "sql", "url": "sqlite://", "pool": "dwh", "max_concurrent": 2},
            "analytics": {"kind": "sql", "url": "sqlite://"},
        },
    )
    # The demo warehouse has no limit unless one is set; sql connections default to 4.
    assert pool_limits(connections) == {"warehouse": 3, "dwh": 2, "analytics": 4}


def test_sync_sets_the_instance_limits_once_and_then_changes_nothing(tmp_path, sqlite_instance):
    connections = connections_file(
        tmp_path,
        {
            "warehouse": {"kind": "sql", "url": "sqlite://", "max_concurrent": 3},
            "replica": {"kind": "sql", "url": "sqlite://", "pool": "dwh_replica"},
        },
    )
    limits = pool_limits(connections)
    assert sync_pool_limits(sqlite_instance, limits) == {"warehouse": 3, "dwh_replica": 4}
    assert limits_in(sqlite_instance) == {"warehouse": 3, "dwh_replica": 4}

    assert sync_pool_limits(sqlite_instance, limits) == {}
    assert describe({}) == "pool limits already match connections.yaml"
    assert limits_in(sqlite_instance) == {"warehouse": 3, "dwh_replica": 4}

    # A limit changed in connections.yaml, or in the UI by hand, is set back to the file's.
    sqlite_instance.event_log_storage.set_concurrency_slots("warehouse", 9)
    assert sync_pool_limits(sqlite_instance, {**limits, "warehouse": 1}) == {"warehouse": 1}
    assert limits_in(sqlite_instance) == {"warehouse": 1, "dwh_replica": 4}
    assert sqlite_instance.event_log_storage.get_concurrency_info("warehouse").slot_count == 1


def wait_for(condition, what: str, limit: float = 120.0):
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def test_a_fetch_step_waits_while_its_pool_of_one_is_taken(tmp_path, sqlite_instance):
    connections = connections_file(
        tmp_path,
        {
            "warehouse": {
                "kind": "sql",
                "url": create_sqlite_warehouse(tmp_path / "wh.sqlite"),
                "pool": "dwh",
                "max_concurrent": 1,
            }
        },
    )
    write_report(
        tmp_path / "reports",
        report_dict(
            name="pooled",
            source={"connection": "warehouse", "sql": QUERY},
            schedule={"every": "day", "timezone": "UTC", "start": "2026-01-01"},
        ),
    )
    sync_pool_limits(sqlite_instance, pool_limits(connections))
    storage = sqlite_instance.event_log_storage
    # Another run's fetch step holds the pool's only slot.
    assert storage.claim_concurrency_slot("dwh", "other_run", "fetch_and_render").is_claimed

    job = reconstructable_report_job(tmp_path / "reports", tmp_path / "connections.yaml", "pooled")
    outcome = {}

    def run_report():
        with DagsterInstance.from_ref(sqlite_instance.get_ref()) as instance:
            with execute_job(
                job, instance, tags={"dagster/partition": "2026-11-02"}, raise_on_error=False
            ) as result:
                outcome["run_id"], outcome["success"] = result.run_id, result.success

    worker = threading.Thread(target=run_report)
    worker.start()
    try:
        wait_for(lambda: storage.get_concurrency_info("dwh").pending_run_ids, "a waiting step")
        (waiting_run,) = storage.get_concurrency_info("dwh").pending_run_ids
        started = sqlite_instance.all_logs(waiting_run, of_type=DagsterEventType.STEP_START)
        assert started == []  # the query has not run
        released_at = time.time()
    finally:
        storage.free_concurrency_slots_for_run("other_run")
    worker.join(120)
    assert not worker.is_alive()
    assert outcome["success"]
    (fetch_start,) = [
        record
        for record in sqlite_instance.all_logs(
            outcome["run_id"], of_type=DagsterEventType.STEP_START
        )
        if record.step_key == "fetch_and_render"
    ]
    assert fetch_start.timestamp >= released_at
    assert storage.get_concurrency_info("dwh").claimed_slots == []  # the run gave it back


def test_the_command_sets_the_limits_of_the_instance_in_dagster_home(
    tmp_path, monkeypatch, capsys
):
    from reports_pipeline.pools import main

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    connections_file(
        tmp_path, {"warehouse": {"kind": "sql", "url": "sqlite://", "max_concurrent": 2}}
    )
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("REPORTS_CONNECTIONS", str(tmp_path / "connections.yaml"))
    main()
    assert capsys.readouterr().out.strip() == "set warehouse to 2"
    with DagsterInstance.from_config(str(home)) as instance:
        assert limits_in(instance) == {"warehouse": 2}
    main()
    assert capsys.readouterr().out.strip() == "pool limits already match connections.yaml"
