import socket
import urllib.parse
import urllib.request

import pytest

from reports_pipeline.delivery.errors import PermanentDeliveryError, TransientDeliveryError
from reports_pipeline.delivery.s3 import S3Settings, check_s3, presigned_url, upload_to_s3
from reports_pipeline_tests.s3_server import S3ErrorServer, S3TestServer

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def s3_server():
    with S3TestServer() as server:
        yield server


@pytest.fixture
def bucket(s3_server):
    return s3_server.create_bucket()


@pytest.fixture
def report(tmp_path):
    path = tmp_path / "report.csv"
    path.write_bytes(b"region,sales\n" + b"north,1\n" * 10_000)
    return path


def _head(s3_server, bucket, key):
    return s3_server.client().head_object(Bucket=bucket, Key=key)


def test_upload_stores_the_bytes_under_the_key_with_the_content_type(s3_server, bucket, report):
    receipt = upload_to_s3(
        report, "reports/sales/2026-11.csv", s3_server.settings(bucket), content_type="text/csv"
    )

    stored = s3_server.client().get_object(Bucket=bucket, Key="reports/sales/2026-11.csv")
    assert stored["Body"].read() == report.read_bytes()
    assert stored["ContentType"] == "text/csv"
    assert receipt.details == {
        "bucket": bucket,
        "key": "reports/sales/2026-11.csv",
        "etag": stored["ETag"].strip('"'),
        "version_id": None,
        "bytes": report.stat().st_size,
    }
    assert f"s3://{bucket}/reports/sales/2026-11.csv" in receipt.summary


def test_a_key_with_a_dot_dot_part_is_refused(s3_server, bucket, report):
    with pytest.raises(PermanentDeliveryError, match="contains '..' once rendered: refused"):
        upload_to_s3(
            report, "reports/../x.csv", s3_server.settings(bucket), content_type="text/csv"
        )


def test_receipt_has_the_version_id_in_a_versioned_bucket(s3_server, report):
    bucket = s3_server.create_bucket(versioned=True)

    receipt = upload_to_s3(report, "r.csv", s3_server.settings(bucket), content_type="text/csv")

    assert receipt.details["version_id"] == _head(s3_server, bucket, "r.csv")["VersionId"]


def test_server_side_encryption_aes256_is_requested(s3_server, bucket, report):
    settings = s3_server.settings(bucket, server_side_encryption="AES256")

    upload_to_s3(report, "r.csv", settings, content_type="text/csv")

    assert _head(s3_server, bucket, "r.csv")["ServerSideEncryption"] == "AES256"


def test_kms_key_id_implies_aws_kms_encryption(s3_server, bucket, report):
    settings = s3_server.settings(bucket, kms_key_id="alias/reports")

    upload_to_s3(report, "r.csv", settings, content_type="text/csv")

    head = _head(s3_server, bucket, "r.csv")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith("alias/reports")


@pytest.mark.parametrize(
    ("encryption", "kms_key_id"), [("aes256", None), ("AES256", "alias/reports")]
)
def test_impossible_encryption_settings_are_permanent(
    s3_server, bucket, report, encryption, kms_key_id
):
    settings = s3_server.settings(bucket, server_side_encryption=encryption, kms_key_id=kms_key_id)

    with pytest.raises(PermanentDeliveryError):
        upload_to_s3(report, "r.csv", settings, content_type="text/csv")


def test_large_files_go_up_in_parts(s3_server, bucket, tmp_path):
    large = tmp_path / "large.bin"
    large.write_bytes(bytes(range(256)) * (11 * MIB // 256))  # 11 MiB: parts of 5, 5 and 1
    settings = s3_server.settings(bucket, multipart_threshold=5 * MIB)

    receipt = upload_to_s3(large, "large.bin", settings, content_type="application/octet-stream")

    assert receipt.details["etag"].endswith("-3")
    stored = s3_server.client().get_object(Bucket=bucket, Key="large.bin")
    assert stored["ETag"].strip('"') == receipt.details["etag"]
    assert stored["Body"].read() == large.read_bytes()
    assert receipt.details["bytes"] == 11 * MIB


def test_presigned_url_downloads_the_object_without_credentials(s3_server, bucket, report):
    settings = s3_server.settings(bucket)
    upload_to_s3(report, "reports/r.csv", settings, content_type="text/csv")

    url = presigned_url("reports/r.csv", settings, expires_in=600)

    parsed = urllib.parse.urlsplit(url)
    assert parsed.hostname == "127.0.0.1"
    assert urllib.parse.parse_qs(parsed.query)["X-Amz-Expires"] == ["600"]
    assert s3_server.secret_access_key not in url
    with urllib.request.urlopen(url, timeout=60) as response:
        assert response.read() == report.read_bytes()


@pytest.mark.parametrize("expires_in", [0, 7 * 24 * 3600 + 1])
def test_presigned_url_expiry_must_be_within_seven_days(s3_server, bucket, expires_in):
    with pytest.raises(PermanentDeliveryError, match="between 1 second and 7 days"):
        presigned_url("r.csv", s3_server.settings(bucket), expires_in)


def test_missing_bucket_is_permanent_and_names_it_not_the_secret(s3_server, report):
    settings = s3_server.settings("no-such-bucket-for-reports")

    with pytest.raises(PermanentDeliveryError) as caught:
        upload_to_s3(report, "r.csv", settings, content_type="text/csv")

    assert "no-such-bucket-for-reports" in str(caught.value)
    assert "NoSuchBucket" in str(caught.value)
    for text in (str(caught.value), repr(caught.value), repr(settings)):
        assert s3_server.secret_access_key not in text
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_stopped_server_is_transient(report):
    server = S3TestServer().start()
    settings = server.settings("any-bucket")
    server.stop()

    with pytest.raises(TransientDeliveryError, match="cannot reach S3 bucket any-bucket"):
        upload_to_s3(report, "r.csv", settings, content_type="text/csv")


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (503, "SlowDown", TransientDeliveryError),
        (500, "InternalError", TransientDeliveryError),
        (403, "AccessDenied", PermanentDeliveryError),
        (403, "InvalidAccessKeyId", PermanentDeliveryError),
        (403, "SignatureDoesNotMatch", PermanentDeliveryError),
        (404, "NoSuchBucket", PermanentDeliveryError),
    ],
)
def test_s3_errors_are_classified(report, status, code, error):
    with S3ErrorServer(status, code) as server:
        settings = server.settings("acme-reports")

        with pytest.raises(error) as caught:
            upload_to_s3(report, "r.csv", settings, content_type="text/csv")

    assert f"bucket acme-reports at {server.endpoint_url}" in str(caught.value)
    assert code in str(caught.value)


def test_transient_errors_are_retried_once_then_left_to_the_step(report):
    with S3ErrorServer(503, "SlowDown") as server:
        settings = server.settings("acme-reports")

        with pytest.raises(TransientDeliveryError):
            upload_to_s3(report, "r.csv", settings, content_type="text/csv")

    assert server.requests == ["PUT /acme-reports/r.csv"] * 2


def test_failing_multipart_upload_is_classified_too(tmp_path):
    large = tmp_path / "large.bin"
    large.write_bytes(b"x" * (6 * MIB))
    with S3ErrorServer(403, "AccessDenied") as server:
        settings = server.settings("acme-reports", multipart_threshold=5 * MIB)

        with pytest.raises(PermanentDeliveryError, match="AccessDenied"):
            upload_to_s3(large, "large.bin", settings, content_type="application/octet-stream")


def test_session_token_echoed_by_a_server_is_scrubbed(report):
    token = "session-token-that-must-not-leak"
    with S3ErrorServer(400, "InvalidToken", message=f"bad token {token}") as server:
        settings = server.settings("acme-reports", session_token=token)

        with pytest.raises(PermanentDeliveryError) as caught:
            upload_to_s3(report, "r.csv", settings, content_type="text/csv")

    assert token not in str(caught.value)
    assert token not in repr(settings)


def test_access_key_without_secret_is_a_settings_error(s3_server, bucket, report):
    settings = s3_server.settings(bucket, secret_access_key=None)

    with pytest.raises(PermanentDeliveryError, match="go together"):
        upload_to_s3(report, "r.csv", settings, content_type="text/csv")


def test_missing_local_file_is_permanent(s3_server, bucket, tmp_path):
    with pytest.raises(PermanentDeliveryError, match="cannot read"):
        upload_to_s3(
            tmp_path / "missing.csv", "r.csv", s3_server.settings(bucket), content_type="text/csv"
        )


def test_check_s3_writes_and_deletes_a_probe(s3_server, bucket):
    description = check_s3(s3_server.settings(bucket))

    assert description.startswith(f"S3 bucket {bucket} at {s3_server.endpoint_url}: writable")
    assert "\n" not in description
    assert s3_server.client().list_objects_v2(Bucket=bucket).get("Contents", []) == []


def test_check_s3_probes_under_a_prefix(s3_server, bucket):
    check_s3(s3_server.settings(bucket), prefix="reports/")

    assert s3_server.client().list_objects_v2(Bucket=bucket).get("Contents", []) == []


def test_check_s3_reports_a_missing_bucket(s3_server):
    with pytest.raises(PermanentDeliveryError, match="NoSuchBucket"):
        check_s3(s3_server.settings("no-such-bucket-for-reports"))


def test_endpoint_that_never_answers_is_transient(report):
    with socket.socket() as silent:  # accepts TCP connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings = S3Settings(
            bucket="acme-reports",
            endpoint_url=f"http://127.0.0.1:{silent.getsockname()[1]}",
            access_key_id="AKIATEST",
            secret_access_key="test-secret",
            region="us-east-1",
            timeout=0.3,
        )

        with pytest.raises(TransientDeliveryError, match="cannot reach S3"):
            upload_to_s3(report, "r.csv", settings, content_type="text/csv")
