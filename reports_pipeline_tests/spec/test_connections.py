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
        ({"max_concurrent": 0}, "max_concurrent", "at least 1"),
        ({"max_concurrent": -3}, "max_concurrent", "at least 1"),
        ({"max_concurrent": 5000}, "max_concurrent", "at most 1,000"),
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


SECRET = {"env": "SOME_SECRET"}
CONNECTIONS_OF_EVERY_KIND = {
    "sql": {"kind": "sql", "url": "sqlite://"},
    "demo": {"kind": "demo"},
    "smtp": {"kind": "smtp", "host": "smtp.example.com", "from": "r@example.com"},
    "sendgrid": {"kind": "sendgrid", "api_key": SECRET, "from": "r@example.com"},
    "sftp": {"kind": "sftp", "host": "h", "username": "u", "password": SECRET, "host_key": "k"},
    "s3": {"kind": "s3", "bucket": "reports"},
    "webhook": {"kind": "webhook", "url": "https://hooks.example.com/in"},
    "slack": {"kind": "slack", "token": SECRET},
}
NUMBER_FIELDS = [
    ("sql", "max_concurrent"),
    ("demo", "max_concurrent"),
    ("smtp", "port"),
    ("smtp", "timeout"),
    ("sendgrid", "timeout"),
    ("sftp", "port"),
    ("sftp", "timeout"),
    ("s3", "link_expiry"),
    ("webhook", "timeout"),
    ("slack", "timeout"),
]
EDGE_VALUES = [99999999999, float("inf"), float("nan"), -1, 0, True, False]


def _connection_errors(tmp_path, kind: str, **settings) -> list[str]:
    connection = {**CONNECTIONS_OF_EVERY_KIND[kind], **settings}
    file = {"connections": {"edge": connection}}
    return [str(error) for error in load(tmp_path, report_dict(), file).errors]


@pytest.mark.parametrize(("kind", "field"), NUMBER_FIELDS)
@pytest.mark.parametrize("value", EDGE_VALUES, ids=repr)
def test_every_number_and_duration_of_a_connection_is_bounded(tmp_path, kind, field, value):
    errors = _connection_errors(tmp_path, kind, **{field: value})
    assert any("connections.yaml:" in e and f"connections.edge.{field}: " in e for e in errors), (
        errors
    )


@pytest.mark.parametrize(("kind", "field"), NUMBER_FIELDS)
def test_the_defaults_of_every_connection_kind_are_valid(tmp_path, kind, field):
    assert _connection_errors(tmp_path, kind) == []


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"url": "file:///etc/passwd"}, "must be https"),
        ({"url": "gopher://hooks.example.com:70/x"}, "must be https"),
        ({"url": "http://hooks.example.com/in"}, "or http with allow_http: true"),
        ({"url": "https://169.254.169.254/latest/meta-data"}, "allow_hosts: [169.254.169.254]"),
        ({"url": "https://127.0.0.1:8080/in"}, "loopback, private or link-local"),
        ({"url": "https://localhost/in"}, "loopback, private or link-local"),
        ({"url": "https://[::1]/in"}, "loopback, private or link-local"),
        ({"url": "https://10.1.2.3/in", "allow_hosts": ["10.2.0.0/16"]}, "allow_hosts: [10.1.2.3]"),
        ({"allow_hosts": ["not a host!"]}, "is not a host name, an IP address or a network"),
    ],
)
def test_a_webhook_url_must_be_https_and_public_unless_allowed(tmp_path, settings, fragment):
    errors = _connection_errors(tmp_path, "webhook", **settings)
    assert any("connections.edge" in e and fragment in e for e in errors), errors


@pytest.mark.parametrize(
    "settings",
    [
        {"url": "http://127.0.0.1:8080/in", "allow_http": True, "allow_hosts": ["127.0.0.1"]},
        {"url": "https://10.1.2.3/in", "allow_hosts": ["10.1.0.0/16"]},
        {"url": "https://hooks.internal/in", "allow_hosts": ["hooks.internal"]},
        {"url": {"env": "WEBHOOK_URL"}},
    ],
)
def test_an_allowed_private_webhook_is_valid(tmp_path, settings):
    assert _connection_errors(tmp_path, "webhook", **settings) == []


def test_a_slack_base_url_follows_the_same_rules(tmp_path):
    (error,) = _connection_errors(tmp_path, "slack", base_url="http://169.254.169.254/api/")
    assert "connections.edge" in error and "must be https" in error
    assert (
        _connection_errors(
            tmp_path,
            "slack",
            base_url="http://127.0.0.1:9/api/",
            allow_http=True,
            allow_hosts=["127.0.0.1"],
        )
        == []
    )


def test_s3_storage_takes_the_settings_of_an_s3_connection(tmp_path):
    storage = {
        "kind": "s3",
        "bucket": "acme-reports",
        "prefix": "reports",
        "region": "eu-west-1",
        "endpoint_url": "https://minio.example.com",
        "access_key_id": "AKIAEXAMPLE",
        "secret_access_key": {"env": "REPORTS_S3_SECRET"},
    }
    project = load(tmp_path, report_dict(), {"storage": storage})
    assert project.errors == []
    assert project.connections.storage.kind == "s3"
    assert project.connections.storage.prefix == "reports/"


def test_storage_without_a_kind_is_local(tmp_path):
    project = load(tmp_path, report_dict(), {"storage": {"path": str(tmp_path / "files")}})
    assert project.errors == []
    assert project.connections.storage.kind == "local"


@pytest.mark.parametrize(
    ("storage", "field", "fragment"),
    [
        ({"kind": "gcs"}, "storage.kind", "unknown storage kind 'gcs'; use one of local, s3"),
        ({"kind": "s3"}, "storage.bucket", ""),
        (
            {"kind": "s3", "bucket": "acme", "secret_access_key": "written-here"},
            "storage.secret_access_key",
            "a secret is never written in YAML",
        ),
        ({"kind": "s3", "bucket": "acme", "prefix": "/abs"}, "storage.prefix", "key prefix"),
        ({"kind": "s3", "bucket": "acme", "prefix": "a/../b"}, "storage.prefix", "key prefix"),
        ({"kind": "local", "bucket": "acme"}, "storage.bucket", ""),
    ],
)
def test_bad_storage_settings_name_file_and_field(tmp_path, storage, field, fragment):
    project = load(tmp_path, report_dict(), {"storage": storage})
    messages = [str(error) for error in project.errors]
    assert any(
        "connections.yaml:" in message and f": {field}: " in message and fragment in message
        for message in messages
    ), messages
    assert "written-here" not in " ".join(messages)
