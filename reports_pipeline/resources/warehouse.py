"""SQL connections as Dagster resources: the URL is resolved at run time (``EnvVar``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import ConfigurableResource

if TYPE_CHECKING:
    import pyarrow as pa


class SqlWarehouse(ConfigurableResource):
    """A warehouse reached through a SQLAlchemy URL (Postgres, SQLite, DuckDB)."""

    url: str

    def _engine_url(self) -> str:
        return self.url

    def engine_url(self) -> str:
        """The SQLAlchemy URL to connect with (the demo warehouse is generated if absent)."""
        return self._engine_url()

    def stream(
        self, sql: str, params: dict, timeout: timedelta | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Run ``sql`` with bound ``params`` and stream the result as Arrow record batches."""
        # SQLAlchemy and pyarrow are imported here, not at module level: the code location is
        # imported for every run and every workspace reload, and most of those never query.
        from reports_pipeline.warehouse.fetch import create_warehouse_engine, stream_record_batches

        engine = create_warehouse_engine(self._engine_url())
        try:
            yield from stream_record_batches(engine, sql, params, timeout=timeout)
        finally:
            engine.dispose()

    def check(self) -> str:
        """Connect and run ``select 1``."""
        batches = list(self.stream("select 1 as ok", {}))
        return f"query answered ({sum(b.num_rows for b in batches)} row)"


class DemoWarehouse(SqlWarehouse):
    """The embedded demo warehouse: a SQLite file generated on first use."""

    url: str = ""
    path: str

    def _engine_url(self) -> str:
        from reports_pipeline.warehouse.demo import demo_warehouse_url, ensure_demo_warehouse

        return demo_warehouse_url(ensure_demo_warehouse(Path(self.path)))
