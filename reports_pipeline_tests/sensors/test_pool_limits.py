"""The pool-limits sensor copies connections.yaml's limits into the instance, then idles."""

from dagster import build_sensor_context

from reports_pipeline.sensors.pool_limits import build_pool_limits_sensor
from reports_pipeline.spec.loader import load_connections
from reports_pipeline_tests.report_files import write_connections


def test_the_sensor_sets_the_limits_once_and_says_what_it_did(tmp_path, sqlite_instance):
    path = write_connections(
        tmp_path,
        {
            "connections": {
                "warehouse": {"kind": "sql", "url": "sqlite://", "max_concurrent": 2},
                "demo_warehouse": {"kind": "demo", "pool": "demo", "max_concurrent": 6},
            }
        },
    )
    connections, errors = load_connections(path)
    assert errors == []
    sensor = build_pool_limits_sensor(connections)
    assert "demo=6, warehouse=2" in sensor.description

    first = sensor.evaluate_tick(build_sensor_context(instance=sqlite_instance))
    assert first.skip_message == "set demo to 6, warehouse to 2"
    limits = {p.name: p.limit for p in sqlite_instance.event_log_storage.get_pool_limits()}
    assert limits == {"demo": 6, "warehouse": 2}

    again = sensor.evaluate_tick(build_sensor_context(instance=sqlite_instance))
    assert again.skip_message == "pool limits already match connections.yaml"
