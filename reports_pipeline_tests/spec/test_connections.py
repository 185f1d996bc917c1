"""connections.yaml pools and run time limits, and report max_runtime: bad values name the file
and the field."""

from datetime import timedelta

import pytest

from reports_pipeline.spec.loader import load_project
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report


def load(tmp_path, report, connections=None):
    write_report(tmp_path / "reports", report, "test_report.yaml")
    conn_file = write_connections(tmp_path, connections) if connections is not None else None
    return load_project([tmp_path / "reports"], conn_file)


def test_a_report_max_runtime_is_read_as_a_duration(tmp_path):
    project = load(tmp_path, report_dict(max_runtime="45m"))
    assert project.errors == []
    assert project.reports[0].spec.max_runtime == timedelta(minutes=45)


def test_policy_max_runtime_defaults_to_two_hours_and_can_be_set(tmp_path):
    assert load(tmp_path, report_dict()).connections.policy.max_runtime == timedelta(hours=2)
    project = load(tmp_path, report_dict(), {"policy": {"max_runtime": "3h"}})
    assert project.errors == []
    assert project.connections.policy.max_runtime == timedelta(hours=3)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (-60, "greater than zero"),
        ("-5m", "is not a duration"),
        (0, "greater than zero"),
        ("20s", "too short for a run's time limit; use at least 1m"),
        ("8d", "at most 7d"),
        (10**400, "at most 7d"),
        ("99999999999999999999999d", "at most 7d"),
    ],
)
def test_bad_report_max_runtime_names_file_and_field(tmp_path, value, fragment):
    errors = [str(error) for error in load(tmp_path, report_dict(max_runtime=value)).errors]
    assert len(errors) == 1
    assert "test_report.yaml:" in errors[0]
    assert ": max_runtime: " in errors[0]
    assert fragment in errors[0]


@pytest.mark.parametrize(
    ("value", "fragment"), [(0, "greater than zero"), ("30d", "at most 7d"), (10**400, "7d")]
)
def test_bad_policy_max_runtime_names_file_and_field(tmp_path, value, fragment):
    errors = [
        str(error)
        for error in load(tmp_path, report_dict(), {"policy": {"max_runtime": value}}).errors
    ]
    assert any(
        "connections.yaml:" in e and "policy.max_runtime: " in e and fragment in e for e in errors
    ), errors


@pytest.mark.parametrize(
    ("settings", "field", "fragment"),
    [
        ({"max_concurrent": 0}, "max_concurrent", "greater than or equal to 1"),
        ({"max_concurrent": -3}, "max_concurrent", "greater than or equal to 1"),
        ({"max_concurrent": 5000}, "max_concurrent", "less than or equal to 1000"),
        ({"pool": "two words"}, "pool", "is not a pool name"),
    ],
)
def test_bad_pool_settings_name_file_and_field(tmp_path, settings, field, fragment):
    connections = {"connections": {"warehouse": {"kind": "sql", "url": "sqlite://", **settings}}}
    errors = [str(error) for error in load(tmp_path, report_dict(), connections).errors]
    assert any(
        "connections.yaml:" in e and f"connections.warehouse.{field}: " in e and fragment in e
        for e in errors
    ), errors


def test_a_connection_pool_is_its_pool_setting_else_its_name(tmp_path):
    connections = load(
        tmp_path,
        report_dict(),
        {
            "connections": {
                "warehouse": {"kind": "sql", "url": "sqlite://", "pool": "dwh"},
                "replica": {"kind": "sql", "url": "sqlite://"},
            }
        },
    ).connections
    assert connections.pool_of("warehouse") == "dwh"
    assert connections.pool_of("replica") == "replica"
    assert connections.pool_of("demo_warehouse") == "demo_warehouse"
