"""Every stored report file in Dagster's catalog: one asset per report, partitioned like its job,
a materialization per stored file whose download link fetches that very file."""

import contextlib
import functools
import hashlib
import threading
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from dagster import AssetKey, AssetRecordsFilter

from reports_pipeline.assets import produced_by
from reports_pipeline.definitions import build_definitions, lazy_repository
from reports_pipeline_tests.report_files import (
    report_dict,
    s3_storage_section,
    write_report,
    write_test_connections,
)
from reports_pipeline_tests.s3_server import S3TestServer

QUERY = (
    "select id, customer, amount from invoices"
    " where issued_at >= :period_start and issued_at < :period_end order by id"
)
ASSET = AssetKey(["reports", "invoices"])


@contextlib.contextmanager
def serving(folder: Path):
    """A static file server for ``folder`` on 127.0.0.1, as a web server in front of the
    storage folder would be (``storage.public_base_url``)."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def write_project(tmp_path, storage: dict, **report_changes) -> tuple[list[Path], Path]:
    """The report folder and connections.yaml of one daily csv report, ``invoices``."""
    write_test_connections(
        tmp_path, {"outbox": {"kind": "outbox", "path": str(tmp_path / "outbox")}}, storage=storage
    )
    write_report(
        tmp_path / "reports",
        report_dict(
            **{
                "name": "invoices",
                "owner": "finance-lead@example.com",
                "team": "Finance Ops",
                "tags": {"domain": "finance", "note": "not a strict tag value!"},
                "description": "Invoices issued each day",
                "source": {"connection": "warehouse", "sql": QUERY},
                "schedule": {
                    "every": "day",
                    "timezone": "America/New_York",
                    "start": "2026-01-01",
                },
                "deliver": [{"email": {"to": ["finance@example.com"]}}],
                **report_changes,
            }
        ),
    )
    return [tmp_path / "reports"], tmp_path / "connections.yaml"


def materializations(instance, partition: str) -> list:
    """The period's materializations of the report's asset, oldest first."""
    found = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=ASSET, asset_partitions=[partition]), limit=100, ascending=True
    )
    return [record.asset_materialization for record in found.records]


def fetched(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.read()


def test_the_full_load_declares_each_report_as_an_asset_partitioned_like_its_job(tmp_path):
    reports, connections = write_project(tmp_path, {"path": str(tmp_path / "files")})
    repository = build_definitions(reports, connections).get_repository_def()
    node = repository.asset_graph.get(ASSET)
    assert node.partitions_def == repository.get_job("invoices").partitions_def
    assert node.partitions_def is not None
    assert node.owners == ["finance-lead@example.com", "team:Finance Ops"]
    assert node.group_name == "Finance_Ops"
    assert node.description == "Invoices issued each day"
    assert node.tags == {"domain": "finance", "dagster/kind/csv": ""}  # `note` is runs' only
    assert not node.is_executable  # the job's ops produce it: nothing else may


def test_a_stored_file_is_in_the_catalog_and_its_link_fetches_the_same_bytes(
    tmp_path, sqlite_instance
):
    files = tmp_path / "files"
    with serving(files) as base_url:
        storage = {"path": str(files), "public_base_url": base_url}
        job = build_definitions(*write_project(tmp_path, storage)).resolve_job_def("invoices")
        first = job.execute_in_process(partition_key="2026-11-02", instance=sqlite_instance)
        second = job.execute_in_process(partition_key="2026-11-02", instance=sqlite_instance)

        versions = materializations(sqlite_instance, "2026-11-02")
        assert len(versions) == 2  # every run of the period is a version of it
        for run, version in zip((first, second), versions, strict=True):
            metadata = version.metadata
            stored = Path(metadata["location"].value)
            assert stored.parent.name == run.run_id[:8]  # each version its own file
            content = fetched(metadata["download"].value)
            assert content == stored.read_bytes()
            assert hashlib.sha256(content).hexdigest() == metadata["sha256"].value
            assert metadata["bytes"].value == len(content)
            assert metadata["rows"].value == 3
            assert metadata["run"].value == run.run_id
            assert metadata["produced by"].value == "launched by hand"
        assert versions[0].metadata["fingerprint"] == versions[1].metadata["fingerprint"]
    assert sqlite_instance.get_latest_materialization_event(ASSET).run_id == second.run_id


@pytest.fixture(scope="module")
def s3():
    with S3TestServer() as server:
        yield server


def test_an_s3_stored_file_links_to_its_presigned_object(
    tmp_path, s3, sqlite_instance, monkeypatch
):
    monkeypatch.setenv("REPORTS_S3_SECRET", s3.secret_access_key)
    bucket = s3.create_bucket()
    storage = s3_storage_section(s3, bucket, tmp_path / "staging", prefix="archive/")
    job = build_definitions(*write_project(tmp_path, storage)).resolve_job_def("invoices")
    run = job.execute_in_process(partition_key="2026-11-02", instance=sqlite_instance)

    (version,) = materializations(sqlite_instance, "2026-11-02")
    key = f"archive/invoices/2026-11-02/{run.run_id[:8]}/invoices_2026-11-02.csv"
    assert version.metadata["location"].value == f"s3://{bucket}/{key}"
    uploaded = s3.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    assert fetched(version.metadata["download"].value) == uploaded
    assert s3.secret_access_key not in str(version.metadata)


def test_a_run_of_several_periods_is_a_version_of_each(tmp_path, sqlite_instance):
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    job = build_definitions(
        *write_project(tmp_path, {"path": str(tmp_path / "files")})
    ).resolve_job_def("invoices")
    job.execute_in_process(
        tags={
            ASSET_PARTITION_RANGE_START_TAG: "2026-11-01",
            ASSET_PARTITION_RANGE_END_TAG: "2026-11-02",
        },
        instance=sqlite_instance,
    )
    (first,) = materializations(sqlite_instance, "2026-11-01")
    (second,) = materializations(sqlite_instance, "2026-11-02")
    assert first.metadata == second.metadata  # one file covers both
    assert first.metadata["period"].value == "2026-11-01..2026-11-02"


def test_a_one_off_report_has_one_unpartitioned_version_per_run(tmp_path, sqlite_instance):
    schedule = {
        "every": "once",
        "run_at": "2026-11-03T00:00",
        "start": "2026-11-02",
        "timezone": "America/New_York",
    }
    defs = build_definitions(
        *write_project(tmp_path, {"path": str(tmp_path / "files")}, schedule=schedule)
    )
    assert defs.get_repository_def().asset_graph.get(ASSET).partitions_def is None
    defs.resolve_job_def("invoices").execute_in_process(instance=sqlite_instance)
    event = sqlite_instance.get_latest_materialization_event(ASSET)
    assert event.asset_materialization.partition is None
    assert Path(event.asset_materialization.metadata["location"].value).is_file()


def test_a_run_worker_records_the_file_without_building_the_catalog(tmp_path, sqlite_instance):
    reports, connections = write_project(tmp_path, {"path": str(tmp_path / "files")})
    repository = lazy_repository(reports, connections)
    run = repository.get_job("invoices").execute_in_process(
        partition_key="2026-11-02", instance=sqlite_instance
    )
    assert not repository._repository_data.full_load_done  # no asset specs were built
    (version,) = materializations(sqlite_instance, "2026-11-02")
    assert version.metadata["run"].value == run.run_id


def test_produced_by_names_what_started_the_run():
    assert produced_by({"dagster/schedule_name": "invoices_schedule"}) == (
        "schedule invoices_schedule"
    )
    assert produced_by({"dagster/backfill": "abcdefgh", "dagster/schedule_name": "x"}) == (
        "backfill abcdefgh"
    )
    assert produced_by({"dagster/sensor_name": "report_catch_up"}) == "sensor report_catch_up"
    assert produced_by({"dagster/parent_run_id": "0123456789"}) == "re-execution of run 01234567"
    assert produced_by({"user": "ana@example.com", "reports/force_delivery": "true"}) == (
        "launched by hand by ana@example.com, deliveries forced"
    )


def test_an_owner_dagster_refuses_as_asset_owner_still_has_the_report(tmp_path):
    # Valid e-mail, but Dagster's owner check allows top-level domains of at most 7 letters.
    reports, connections = write_project(
        tmp_path, {"path": str(tmp_path / "files")}, owner="ana@example.photography"
    )
    repository = build_definitions(reports, connections).get_repository_def()
    assert repository.asset_graph.get(ASSET).owners == ["team:Finance Ops"]
    assert repository.has_job("invoices")
