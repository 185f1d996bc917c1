"""Report files in a real S3 endpoint (moto in server mode on 127.0.0.1)."""

import urllib.request
from pathlib import Path

import pytest

from reports_pipeline.delivery.errors import PermanentDeliveryError
from reports_pipeline.resources.storage import S3ReportStorage
from reports_pipeline_tests.s3_server import S3TestServer

FIRST_RUN = "aaaaaaaa-0000-4000-8000-000000000001"
SECOND_RUN = "bbbbbbbb-0000-4000-8000-000000000002"


@pytest.fixture(scope="module")
def s3():
    with S3TestServer() as server:
        yield server


def s3_storage(server, bucket, folder: Path, **extra) -> S3ReportStorage:
    return S3ReportStorage(
        bucket=bucket,
        prefix="reports/",
        path=str(folder),
        region=server.region,
        endpoint_url=server.endpoint_url,
        access_key_id=server.access_key_id,
        secret_access_key=server.secret_access_key,
        **extra,
    )


def store(storage, run_id: str, content: bytes, period="2026-11-02"):
    staged = storage.staging_path("sales", period, "csv", run_id)
    staged.write_bytes(content)
    return storage.store(staged, "sales", period, "csv", rows=1, run_id=run_id)


def test_store_uploads_under_the_prefix_and_keeps_a_local_copy(tmp_path, s3):
    bucket = s3.create_bucket()
    stored = store(s3_storage(s3, bucket, tmp_path), FIRST_RUN, b"a,b\n1,2\n")
    key = "reports/sales/2026-11-02/aaaaaaaa/sales_2026-11-02.csv"
    assert stored.location == f"s3://{bucket}/{key}"
    uploaded = s3.client().get_object(Bucket=bucket, Key=key)
    assert uploaded["Body"].read() == b"a,b\n1,2\n"
    assert uploaded["ContentType"].startswith("text/csv")
    assert Path(stored.path).read_bytes() == b"a,b\n1,2\n"  # what delivery steps read
    assert not list((tmp_path / ".staging").iterdir())


def test_re_running_a_period_keeps_both_and_the_latest_is_the_last(tmp_path, s3):
    bucket = s3.create_bucket()
    storage = s3_storage(s3, bucket, tmp_path)
    first = store(storage, FIRST_RUN, b"first\n")
    second = store(storage, SECOND_RUN, b"second\n")
    assert first.location != second.location
    assert storage.find("sales", "2026-11-02") == second.location
    assert storage.find("sales", "2026-11-02", FIRST_RUN[:8]) == first.location
    assert storage.find("sales", "2026-11-02", "cccccccc") is None
    assert storage.find("sales", "2026-11-03") is None
    storage.download(first.location, tmp_path / "out" / "first.csv")
    assert (tmp_path / "out" / "first.csv").read_bytes() == b"first\n"


def test_the_presigned_link_downloads_the_stored_bytes(tmp_path, s3):
    bucket = s3.create_bucket()
    stored = store(s3_storage(s3, bucket, tmp_path), FIRST_RUN, b"x,y\n3,4\n")
    with urllib.request.urlopen(stored.download_url, timeout=30) as answer:
        assert answer.read() == b"x,y\n3,4\n"


def test_a_public_base_url_is_preferred_to_a_presigned_link(tmp_path, s3):
    bucket = s3.create_bucket()
    storage = s3_storage(s3, bucket, tmp_path, public_base_url="https://files.example.com")
    stored = store(storage, FIRST_RUN, b"x\n")
    assert stored.download_url == (
        "https://files.example.com/sales/2026-11-02/aaaaaaaa/sales_2026-11-02.csv"
    )


def test_large_files_go_up_in_parts_and_come_back_whole(tmp_path, s3):
    bucket = s3.create_bucket()
    storage = s3_storage(s3, bucket, tmp_path)
    content = bytes(range(256)) * (9 * 4096 + 7)  # over the 8 MiB multipart threshold
    stored = store(storage, FIRST_RUN, content)
    head = s3.client().head_object(Bucket=bucket, Key=stored.location.split("/", 3)[3])
    assert "-" in head["ETag"]  # a multipart upload's ETag names its part count
    storage.download(storage.find("sales", "2026-11-02"), tmp_path / "back.csv")
    assert (tmp_path / "back.csv").read_bytes() == content


def test_periods_lists_the_stored_periods(tmp_path, s3):
    bucket = s3.create_bucket()
    storage = s3_storage(s3, bucket, tmp_path)
    assert storage.periods("sales") == []
    store(storage, FIRST_RUN, b"x\n", period="2026-11-03")
    store(storage, FIRST_RUN, b"x\n", period="2026-11-02")
    assert storage.periods("sales") == ["2026-11-02", "2026-11-03"]


def test_a_missing_bucket_is_a_clear_error_that_keeps_the_staged_file(tmp_path, s3):
    storage = s3_storage(s3, "no-such-bucket-here", tmp_path)
    staged = storage.staging_path("sales", "2026-11-02", "csv", FIRST_RUN)
    staged.write_bytes(b"x\n")
    with pytest.raises(PermanentDeliveryError, match="NoSuchBucket"):
        storage.store(staged, "sales", "2026-11-02", "csv", rows=1, run_id=FIRST_RUN)
    assert staged.exists()  # a re-execution of the step can store it again
