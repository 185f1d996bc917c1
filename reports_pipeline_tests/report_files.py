"""Report files written by tests: a valid base report that each test varies."""

from pathlib import Path

import yaml

BASE_REPORT = {
    "name": "test_report",
    "owner": "owner@example.com",
    "source": {"sql": "select 1 as one"},
    "schedule": {"every": "day", "at": "09:00", "timezone": "America/New_York"},
    "format": "csv",
    "deliver": [{"email": {"to": ["someone@example.com"]}}],
}


def report_dict(**changes) -> dict:
    """The base report with top-level fields replaced (``None`` removes a field)."""
    report = {**BASE_REPORT, **changes}
    return {key: value for key, value in report.items() if value is not None}


def write_report(folder: Path, report: dict | str, file_name: str | None = None) -> Path:
    """Write a report (a dict, or raw YAML text) into ``folder`` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    text = report if isinstance(report, str) else yaml.safe_dump(report, sort_keys=False)
    name = file_name or (f"{report['name']}.yaml" if isinstance(report, dict) else "report.yaml")
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def write_connections(folder: Path, connections: dict | str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "connections.yaml"
    text = (
        connections
        if isinstance(connections, str)
        else yaml.safe_dump(connections, sort_keys=False)
    )
    path.write_text(text, encoding="utf-8")
    return path



LOOPBACK_ENDPOINT = {"allow_http": True, "allow_hosts": ["127.0.0.1"]}
"""Settings that let a webhook or Slack connection reach a test server on 127.0.0.1 over
plain http: without them both are refused, as in any deployment."""


def smtp_connection(server) -> dict:
    """A ``kind: smtp`` connection to a test SMTP server (plain, no login)."""
    return {"kind": "smtp", "host": server.host, "port": server.port, "from": "reports@example.com"}


def s3_storage_section(server, bucket: str, staging: Path, **changes) -> dict:
    """A ``kind: s3`` storage section on a test S3 server, under ``reports/`` (``changes``
    override any field); its secret key is read from ``REPORTS_S3_SECRET``, which the test sets."""
    return {
        "kind": "s3",
        "bucket": bucket,
        "prefix": "reports/",
        "region": server.region,
        "endpoint_url": server.endpoint_url,
        "access_key_id": server.access_key_id,
        "secret_access_key": {"env": "REPORTS_S3_SECRET"},
        "path": str(staging),
        **changes,
    }


def write_test_connections(folder: Path, connections: dict | None = None, **sections) -> Path:
    """connections.yaml with a SQLite warehouse of test invoices (``folder/wh.sqlite``) named
    ``warehouse`` beside ``connections``, report files stored under ``folder/files``, and
    further top-level ``sections`` (``policy=...``)."""
    from reports_pipeline_tests.jobs.warehouses import create_sqlite_warehouse

    warehouse = {"kind": "sql", "url": create_sqlite_warehouse(folder / "wh.sqlite")}
    return write_connections(
        folder,
        {
            "connections": {"warehouse": warehouse, **(connections or {})},
            "storage": {"path": str(folder / "files")},
            **sections,
        },
    )
