"""Whole runs delivering to a real SFTP server and an S3 endpoint (moto) on 127.0.0.1."""

import urllib.request

import pytest

from reports_pipeline_tests.jobs.test_channels import run_report, stored_file
from reports_pipeline_tests.s3_server import S3TestServer
from reports_pipeline_tests.sftp_server import SftpTestServer

SFTP_PASSWORD = "sftp-secret-pw-71"


@pytest.fixture
def sftp():
    with SftpTestServer(username="reports", password=SFTP_PASSWORD) as server:
        yield server


@pytest.fixture(scope="module")
def s3():
    with S3TestServer() as server:
        yield server


def sftp_connection(server):
    return {
        "partner": {
            "kind": "sftp",
            "host": server.host,
            "port": server.port,
            "username": server.username,
            "password": {"env": "PARTNER_PASSWORD"},
            "host_key": server.host_key,
            "timeout": 10,
        }
    }


def s3_connection(server, bucket):
    return {
        "archive": {
            "kind": "s3",
            "bucket": bucket,
            "region": server.region,
            "endpoint_url": server.endpoint_url,
            "access_key_id": server.access_key_id,
            "secret_access_key": {"env": "ARCHIVE_SECRET"},
        }
    }


def test_sftp_upload_lands_at_the_templated_path(tmp_path, sftp, monkeypatch):
    monkeypatch.setenv("PARTNER_PASSWORD", SFTP_PASSWORD)
    result, instance = run_report(
        tmp_path,
        sftp_connection(sftp),
        [
            {
                "sftp": {
                    "connection": "partner",
                    "path": "/outbound/{{ name }}/{{ period.start | date('%Y%m%d') }}.{{ ext }}",
                }
            }
        ],
    )
    assert result.success
    uploaded = sftp.path("/outbound/channels/20261102.csv")
    assert uploaded.read_bytes() == open(stored_file(result)["path"].value, "rb").read()
    assert not [f for f in sftp.files() if f.endswith(".part")]
    logs = " ".join(str(record) for record in instance.all_logs(result.run_id))
    assert SFTP_PASSWORD not in logs


def test_sftp_unknown_host_key_is_refused_and_nothing_is_written(tmp_path, sftp, monkeypatch):
    monkeypatch.setenv("PARTNER_PASSWORD", SFTP_PASSWORD)
    connection = sftp_connection(sftp)
    connection["partner"]["host_key"] = (
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    )
    result, _ = run_report(tmp_path, connection, [{"sftp": {"connection": "partner"}}], attempts=3)
    assert not result.success
    assert sftp.files() == []


def test_s3_upload_and_a_link_instead_of_a_large_attachment(tmp_path, s3, smtp_server, monkeypatch):
    monkeypatch.setenv("ARCHIVE_SECRET", s3.secret_access_key)
    bucket = s3.create_bucket()
    result, _ = run_report(
        tmp_path,
        {
            **s3_connection(s3, bucket),
            "mail": {
                "kind": "smtp",
                "host": smtp_server.host,
                "port": smtp_server.port,
                "from": "reports@example.com",
            },
        },
        [
            {"email": {"to": ["cfo@example.com"], "attach": "link"}},
            {
                "s3": {
                    "connection": "archive",
                    "key": "reports/{{ name }}/{{ period.key }}.{{ ext }}",
                }
            },
        ],
    )
    assert result.success
    stored = open(stored_file(result)["path"].value, "rb").read()
    body = s3.client().get_object(Bucket=bucket, Key="reports/channels/2026-11-02.csv")
    assert body["Body"].read() == stored
    assert body["ContentType"].startswith("text/csv")
    (message,) = smtp_server.wait_for_messages(1)
    parsed = message.parsed()
    assert list(parsed.iter_attachments()) == []
    text = parsed.get_body(preferencelist=("plain",)).get_content()
    link = next(word for word in text.split() if word.startswith("http://127.0.0.1"))
    with urllib.request.urlopen(link, timeout=60) as response:
        assert response.read() == stored
