"""A demo warehouse and a deployment around it, for runs of report-type reports."""

import sys
from pathlib import Path

import pytest

from reports_pipeline.report_types.registry import forget_installed_types
from reports_pipeline.warehouse.demo import ensure_demo_warehouse
from reports_pipeline_tests.report_files import write_connections


@pytest.fixture(scope="session")
def demo_warehouse_file(tmp_path_factory) -> Path:
    """The demo warehouse, generated once for these tests (read only by them)."""
    return ensure_demo_warehouse(tmp_path_factory.mktemp("demo") / "demo_warehouse.sqlite")


@pytest.fixture
def demo_deployment(tmp_path, demo_warehouse_file):
    """connections.yaml over the demo warehouse, e-mail to ``tmp_path/outbox``, files stored
    under ``tmp_path/files``; extra connections may be passed in."""

    def write(**connections) -> Path:
        return write_connections(
            tmp_path,
            {
                "connections": {
                    "demo_warehouse": {"kind": "demo", "path": str(demo_warehouse_file)},
                    "outbox": {"kind": "outbox", "path": str(tmp_path / "outbox")},
                    **connections,
                },
                "storage": {"path": str(tmp_path / "files")},
            },
        )

    return write


THIRD_PARTY_SITE = Path(__file__).parent / "third_party" / "site"
"""A folder laid out as pip installs a package: ``acme_report_types`` and its ``*.dist-info``,
whose ``entry_points.txt`` registers the type ``audit_actions``."""


@pytest.fixture
def acme_installed(monkeypatch):
    """``acme_report_types`` installed for one test: on sys.path, found by importlib.metadata;
    afterwards the registry forgets it and the module is unloaded."""
    monkeypatch.syspath_prepend(str(THIRD_PARTY_SITE))
    forget_installed_types()
    yield THIRD_PARTY_SITE
    forget_installed_types()
    sys.modules.pop("acme_report_types", None)
