"""Relative paths in connections.yaml mean beside that file; from the environment, the process's
working directory."""

from pathlib import Path

import pytest

from reports_pipeline.resources.connections import build_resources
from reports_pipeline.spec.loader import load_connections
from reports_pipeline.spec.relative_paths import anchored_path, anchored_url
from reports_pipeline.spec.values import EnvRef, resolve_setting
from reports_pipeline_tests.report_files import write_connections

FOLDER = Path("/srv/reports")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("./var/outbox", "/srv/reports/var/outbox"),
        ("../var/outbox", "/srv/var/outbox"),
        ("files", "/srv/reports/files"),
        ("/data/files", "/data/files"),
        ("", ""),
    ],
)
def test_a_relative_path_is_joined_to_the_folder(text, expected):
    assert anchored_path(text, FOLDER) == expected


def test_a_path_from_home_stays_in_home():
    assert anchored_path("~/files", FOLDER) == str(Path.home() / "files")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///wh.sqlite", "sqlite:////srv/reports/wh.sqlite"),
        (
            "sqlite+pysqlite:///../wh.sqlite?timeout=5",
            "sqlite+pysqlite:////srv/wh.sqlite?timeout=5",
        ),
        ("duckdb:///data/wh.duckdb", "duckdb:////srv/reports/data/wh.duckdb"),
        ("sqlite:////abs/wh.sqlite", "sqlite:////abs/wh.sqlite"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("sqlite://", "sqlite://"),
        ("duckdb:///:memory:", "duckdb:///:memory:"),
        ("postgresql://reader@db/warehouse", "postgresql://reader@db/warehouse"),
    ],
)
def test_a_relative_database_file_is_joined_to_the_folder(url, expected):
    assert anchored_url(url, FOLDER) == expected


def _every_path_field() -> dict:
    return {
        "connections": {
            "demo_warehouse": {"kind": "demo", "path": "./var/demo.sqlite"},
            "outbox": {"kind": "outbox", "path": {"env": "TEST_UNSET_OUTBOX", "default": "out"}},
            "lite": {"kind": "sql", "url": "sqlite:///wh.sqlite"},
            "duck": {"kind": "sql", "url": {"env": "TEST_UNSET_URL", "default": "duckdb:///w.db"}},
            "mail": {
                "kind": "smtp",
                "host": "smtp.example.com",
                "from": "reports@example.com",
                "ca_file": "certs/ca.pem",
            },
            "partner": {
                "kind": "sftp",
                "host": "sftp.example.com",
                "username": "acme",
                "password": {"env": "TEST_SFTP_PASSWORD"},
                "known_hosts": "../ssh/known_hosts",
            },
        },
        "storage": {"kind": "local", "path": "./files"},
    }


def test_every_path_written_in_the_file_is_beside_the_file(tmp_path, monkeypatch):
    folder = tmp_path / "deploy"
    file = write_connections(folder, _every_path_field())
    monkeypatch.chdir(tmp_path)  # anywhere but the file's folder
    monkeypatch.delenv("TEST_UNSET_OUTBOX", raising=False)
    monkeypatch.delenv("TEST_UNSET_URL", raising=False)

    settings, errors = load_connections(file)

    assert errors == []
    connections = settings.connections
    assert connections["demo_warehouse"].path == str(folder / "var/demo.sqlite")
    assert resolve_setting(connections["outbox"].path) == str(folder / "out")
    assert connections["lite"].url == f"sqlite:///{folder}/wh.sqlite"
    assert resolve_setting(connections["duck"].url) == f"duckdb:///{folder}/w.db"
    assert connections["mail"].ca_file == str(folder / "certs/ca.pem")
    assert connections["partner"].known_hosts == str(tmp_path / "ssh/known_hosts")
    assert settings.storage.path == str(folder / "files")


def test_a_relative_s3_staging_folder_is_beside_the_file(tmp_path, monkeypatch):
    storage = {"kind": "s3", "bucket": "acme-reports", "path": "staging"}
    file = write_connections(tmp_path, {"storage": storage})
    monkeypatch.chdir("/")
    settings, errors = load_connections(file)
    assert errors == []
    assert settings.storage.path == str(tmp_path / "staging")


def test_the_built_in_outbox_and_demo_warehouse_are_beside_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    monkeypatch.delenv("REPORTS_OUTBOX", raising=False)
    monkeypatch.delenv("REPORTS_DEMO_WAREHOUSE", raising=False)
    settings, errors = load_connections(write_connections(tmp_path, {"connections": {}}))
    assert errors == []
    assert resolve_setting(settings.connections["outbox"].path) == str(tmp_path / "var/outbox")
    assert resolve_setting(settings.connections["demo_warehouse"].path) == str(
        tmp_path / "var/demo_warehouse.sqlite"
    )


def test_a_relative_path_from_the_environment_is_in_the_working_directory(tmp_path, monkeypatch):
    file = write_connections(
        tmp_path / "deploy",
        {"connections": {"outbox": {"kind": "outbox", "path": {"env": "TEST_OUTBOX"}}}},
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("TEST_OUTBOX", "sent")

    settings, errors = load_connections(file)
    outbox = build_resources(settings)["outbox"]

    assert errors == []
    assert settings.connections["outbox"].path == EnvRef(env="TEST_OUTBOX")
    assert Path(outbox.path).resolve() == elsewhere / "sent"


def test_the_shipped_file_uses_the_repository_var_folder_from_anywhere(monkeypatch):
    from reports_pipeline import locations

    monkeypatch.chdir("/")
    for name in ("REPORTS_DEMO_WAREHOUSE", "REPORTS_OUTBOX", "REPORTS_STORAGE"):
        monkeypatch.delenv(name, raising=False)
    settings, errors = load_connections(locations.PACKAGE_DIR / "connections.yaml")
    var = locations.PACKAGE_DIR.parent / "var"
    assert errors == []
    assert resolve_setting(settings.connections["demo_warehouse"].path) == str(
        var / "demo_warehouse.sqlite"
    )
    assert resolve_setting(settings.connections["outbox"].path) == str(var / "outbox")
    assert resolve_setting(settings.storage.path) == str(var / "report_files")
