import hashlib
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from reports_pipeline.warehouse.demo import demo_warehouse_url, ensure_demo_warehouse
from reports_pipeline.warehouse.fetch import create_warehouse_engine, stream_record_batches

TABLES = {
    "invoices": "id",
    "product_usage": "day, account, feature",
    "audit_events": "id",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return ensure_demo_warehouse(tmp_path_factory.mktemp("demo") / "warehouse.db")


def _checksums(path: Path) -> dict[str, str]:
    checksums = {}
    with closing(sqlite3.connect(path)) as connection:
        for table, key in TABLES.items():
            rows = connection.execute(f"select * from {table} order by {key}").fetchall()
            checksums[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return checksums


def _count(path: Path, sql: str) -> int:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(sql).fetchone()[0]


def test_generation_is_deterministic(demo, tmp_path):
    again = ensure_demo_warehouse(tmp_path / "again.db")

    assert _checksums(again) == _checksums(demo)


def test_the_warehouse_holds_at_least_100000_rows(demo):
    total = sum(_count(demo, f"select count(*) from {table}") for table in TABLES)

    assert total >= 100_000


def test_every_day_from_2025_to_2027_has_data_in_every_table(demo):
    days = {
        "invoices": "select count(distinct substr(issued_at, 1, 10)) from invoices",
        "product_usage": "select count(distinct day) from product_usage",
        "audit_events": "select count(distinct substr(occurred_at, 1, 10)) from audit_events",
    }

    assert {table: _count(demo, sql) for table, sql in days.items()} == dict.fromkeys(days, 1095)


def test_timestamps_are_utc_text(demo):
    sql = (
        "select count(*) from invoices where issued_at"
        " not glob '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]'"
    )

    assert _count(demo, sql) == 0


def test_some_customer_names_are_not_ascii(demo):
    with closing(sqlite3.connect(demo)) as connection:
        customers = {row[0] for row in connection.execute("select distinct customer from invoices")}

    assert {"Müller GmbH", "Café Lumière", "東京商事"} <= customers


def test_an_existing_warehouse_is_returned_as_it_is(tmp_path):
    path = tmp_path / "warehouse.db"
    path.write_bytes(b"already here")

    assert ensure_demo_warehouse(path) == path
    assert path.read_bytes() == b"already here"


def test_missing_parent_folders_are_created(tmp_path):
    path = ensure_demo_warehouse(tmp_path / "a" / "b" / "warehouse.db")

    assert _count(path, "select count(*) from invoices") > 0


def test_concurrent_callers_both_end_with_a_complete_warehouse(tmp_path):
    path = tmp_path / "warehouse.db"
    start = threading.Barrier(2)
    results: list[tuple[Path, int]] = []
    errors: list[BaseException] = []

    def build() -> None:
        start.wait()
        try:
            built = ensure_demo_warehouse(path)
            results.append((built, _count(built, "select count(*) from audit_events")))
        except BaseException as error:  # reported by the asserts in the test's own thread
            errors.append(error)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert results == [(path, 40_000), (path, 40_000)]
    assert _count(path, "pragma integrity_check") == "ok"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["warehouse.db"]


def test_the_url_is_absolute_and_reports_can_query_it(demo, monkeypatch):
    monkeypatch.chdir(demo.parent.parent)
    url = demo_warehouse_url(Path(demo.parent.name) / demo.name)
    sql = "select count(*) as n from invoices where status = :status"

    (batch,) = stream_record_batches(create_warehouse_engine(url), sql, {"status": "paid"})

    assert url == f"sqlite:///{demo.resolve()}"
    assert batch.to_pylist()[0]["n"] > 0
