"""A demo warehouse and a deployment around it, for runs of report-type reports."""

from pathlib import Path

import pytest

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
