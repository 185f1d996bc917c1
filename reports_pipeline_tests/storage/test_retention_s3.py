"""Retention in a real S3 endpoint (moto on 127.0.0.1): listing, pointers, batch deletion."""

from datetime import datetime, timedelta, timezone
from pathlib import PurePosixPath
from types import SimpleNamespace

import pytest

from reports_pipeline.delivery.errors import DeliveryError
from reports_pipeline.retention import plan_file_deletions, retention_days_of
from reports_pipeline_tests.s3_server import S3TestServer
from reports_pipeline_tests.storage.test_s3_files import s3_storage

RUNS = [f"{letter * 8}-0000-4000-8000-00000000000{i}" for i, letter in enumerate("abc")]


@pytest.fixture(scope="module")
def s3():
    with S3TestServer() as server:
        yield server


def store(storage, run_id: str, period: str, content: bytes):
    staged = storage.staging_path("sales", period, "csv", run_id)
    staged.write_bytes(content)
    return storage.store(staged, "sales", period, "csv", rows=1, run_id=run_id)


def keys(s3, bucket) -> set[str]:
    listed = s3.client().list_objects_v2(Bucket=bucket)
    return {item["Key"] for item in listed.get("Contents", [])}


def test_an_s3_listing_names_files_pointers_and_the_pointed_file(tmp_path, s3):
    bucket = s3.create_bucket()
    storage = s3_storage(s3, bucket, tmp_path)
    store(storage, RUNS[0], "2026-11-02", b"first\n")
    store(storage, RUNS[1], "2026-11-02", b"second\n")
    s3.client().put_object(Bucket=bucket, Key="elsewhere/not_ours.csv", Body=b"x")
    listing = storage.inventory()
    assert [(e.relative.parts[2], e.bytes, e.latest) for e in listing.files] == [
        ("aaaaaaaa", 6, False),
        ("bbbbbbbb", 7, True),
    ]
    assert listing.pointers == {PurePosixPath("sales/2026-11-02/latest")}
    assert all(e.stored_at.tzinfo is not None for e in listing.files)


def test_s3_retention_deletes_old_periods_objects_and_local_copies(tmp_path, s3):
    bucket = s3.create_bucket()
    storage = s3_storage(s3, bucket, tmp_path)
    store(storage, RUNS[0], "2026-10-01", b"old\n")
    kept = store(storage, RUNS[1], "2026-11-01", b"new\n")
    # A month from now both are past a 10-day limit: the newest period still stays.
    later = datetime.now(timezone.utc) + timedelta(days=30)
    specs = [SimpleNamespace(name="sales", retention_days=None)]
    plan = plan_file_deletions(storage.inventory(), retention_days_of(specs, 10), later)
    storage.delete(plan.paths)
    assert keys(s3, bucket) == {
        "reports/sales/2026-11-01/bbbbbbbb/sales_2026-11-01.csv",
        "reports/sales/2026-11-01/latest",
    }
    assert storage.find("sales", "2026-11-01") == kept.location
    assert storage.find("sales", "2026-10-01") is None
    assert not (tmp_path / "sales" / "2026-10-01").exists()  # the runs' local copy too


def test_deleting_more_than_one_batch(tmp_path, s3):
    bucket = s3.create_bucket()
    storage = s3_storage(s3, bucket, tmp_path)
    client = s3.client()
    many = [PurePosixPath(f"sales/2026-01-01/run{i:05d}/sales_2026-01-01.csv") for i in range(1005)]
    for relative in many:
        client.put_object(Bucket=bucket, Key=f"reports/{relative}", Body=b"")
    storage.delete(many)
    assert keys(s3, bucket) == set()


def test_an_unreachable_store_is_a_delivery_error_without_secrets(tmp_path, s3):
    storage = s3_storage(s3, "no-such-bucket-for-retention", tmp_path)
    with pytest.raises(DeliveryError) as raised:
        storage.inventory()
    assert s3.secret_access_key not in str(raised.value)
