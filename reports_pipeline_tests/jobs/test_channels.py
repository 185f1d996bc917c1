"""Whole runs delivering to webhook, Slack and SendGrid endpoints served on 127.0.0.1."""

import hashlib
import hmac
import json

import pytest
from dagster import DagsterEventType, DagsterInstance

from reports_pipeline.definitions import build_definitions
from reports_pipeline_tests.delivery.test_sendgrid import API_KEY as SENDGRID_API_KEY
from reports_pipeline_tests.delivery.test_sendgrid import sendgrid  # noqa: F401 (fixture)
from reports_pipeline_tests.delivery.test_slack import FINANCE_ID, TOKEN, FakeSlack
from reports_pipeline_tests.http_server import RecordingHttpServer
from reports_pipeline_tests.report_files import (
    LOOPBACK_ENDPOINT,
    report_dict,
    write_report,
    write_test_connections,
)

HOOK_TOKEN = "hook-bearer-token-5e1f"
HOOK_SECRET = "hook-signing-secret-9a7c"
QUERY = (
    "select id, customer from invoices"
    " where issued_at >= :period_start and issued_at < :period_end order by id"
)


@pytest.fixture
def http():
    with RecordingHttpServer() as server:
        yield server


@pytest.fixture
def secrets(monkeypatch):
    monkeypatch.setenv("HOOK_TOKEN", HOOK_TOKEN)
    monkeypatch.setenv("HOOK_SECRET", HOOK_SECRET)
    monkeypatch.setenv("SLACK_TOKEN", TOKEN)


def run_report(tmp_path, connections: dict, deliver: list, attempts: int = 2):
    write_test_connections(tmp_path, connections)
    write_report(
        tmp_path / "reports",
        report_dict(
            name="channels",
            source={"connection": "warehouse", "sql": QUERY},
            schedule={"every": "day", "timezone": "America/New_York", "start": "2026-01-01"},
            deliver=deliver,
            retry={"attempts": attempts, "delay": "0.1s"},
        ),
    )
    defs = build_definitions([tmp_path / "reports"], tmp_path / "connections.yaml")
    instance = DagsterInstance.ephemeral()
    result = defs.resolve_job_def("channels").execute_in_process(
        partition_key="2026-11-02", instance=instance, raise_on_error=False
    )
    return result, instance


def webhook_connection(http, **extra):
    return {
        "hook": {
            "kind": "webhook",
            "url": http.url_for("/hook"),
            "auth": {"bearer": {"env": "HOOK_TOKEN"}},
            "signing_secret": {"env": "HOOK_SECRET"},
            **LOOPBACK_ENDPOINT,
            **extra,
        }
    }


def stored_file(result):
    (event,) = [
        e
        for e in result.all_events
        if e.event_type == DagsterEventType.STEP_OUTPUT and e.step_key == "persist"
    ]
    return event.step_output_data.metadata


def test_webhook_receives_a_signed_description_of_the_report(tmp_path, http, secrets):
    http.respond("/hook", 200, {"ok": True})
    result, _ = run_report(
        tmp_path, webhook_connection(http), [{"webhook": {"connection": "hook"}}]
    )
    assert result.success
    (request,) = http.requests_to("/hook")
    body = request.json()
    metadata = stored_file(result)
    assert body["report"] == "channels"
    assert body["period"]["key"] == "2026-11-02"
    assert body["rows"] == 3
    assert body["sha256"] == metadata["sha256"].value
    assert request.headers["Authorization"] == f"Bearer {HOOK_TOKEN}"
    signed = f"{request.headers['X-Signature-Timestamp']}.".encode() + request.body
    expected = hmac.new(HOOK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert request.headers["X-Signature"] == f"sha256={expected}"


def test_webhook_5xx_is_retried_and_delivered_once(tmp_path, http, secrets):
    http.respond("/hook", 503, "busy", times=1)
    http.respond("/hook", 200, {"ok": True})
    result, _ = run_report(
        tmp_path, webhook_connection(http), [{"webhook": {"connection": "hook"}}]
    )
    assert result.success
    assert len(http.requests_to("/hook")) == 2
    retries = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY]
    assert len(retries) == 1


def test_webhook_4xx_fails_at_once_with_the_answer_and_no_secret_in_events(tmp_path, http, secrets):
    http.respond("/hook", 422, {"error": "schema mismatch"})
    result, instance = run_report(
        tmp_path, webhook_connection(http), [{"webhook": {"connection": "hook"}}], attempts=3
    )
    assert not result.success
    assert len(http.requests_to("/hook")) == 1
    (failure,) = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    assert "422" in failure.step_failure_data.error.message
    assert "schema mismatch" in failure.step_failure_data.error.message
    logs = json.dumps([str(r) for r in instance.all_logs(result.run_id)])
    assert HOOK_TOKEN not in logs and HOOK_SECRET not in logs


def test_webhook_can_receive_the_file_itself(tmp_path, http, secrets):
    http.respond("/hook", 200, "")
    result, _ = run_report(
        tmp_path, webhook_connection(http), [{"webhook": {"connection": "hook", "send": "file"}}]
    )
    assert result.success
    (request,) = http.requests_to("/hook")
    path = stored_file(result)["path"].value
    assert request.body == open(path, "rb").read()
    assert request.headers["Content-Type"].startswith("text/csv")


def test_slack_gets_the_file_with_a_message(tmp_path, http, secrets):
    slack = FakeSlack(http)
    result, _ = run_report(
        tmp_path,
        {
            "team_slack": {
                "kind": "slack",
                "token": {"env": "SLACK_TOKEN"},
                "base_url": http.url_for("/api/"),
                **LOOPBACK_ENDPOINT,
            }
        },
        [{"slack": {"connection": "team_slack", "channel": "#finance"}}],
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    (complete,) = slack.calls("files.completeUploadExternal")
    assert complete.form()["channel_id"] == FINANCE_ID
    assert "Channels: 2026-11-02 (3 rows)" in complete.form()["initial_comment"]
    (upload,) = http.requests_to("/upload/F0REPORT01")
    assert upload.body == open(stored_file(result)["path"].value, "rb").read()


def test_sendgrid_mail_with_bcc_html_preview_and_the_attachment(tmp_path, sendgrid, monkeypatch):  # noqa: F811
    import base64

    monkeypatch.setenv("SENDGRID_KEY", SENDGRID_API_KEY)
    result, _ = run_report(
        tmp_path,
        {
            "mail": {
                "kind": "sendgrid",
                "api_key": {"env": "SENDGRID_KEY"},
                "from": "reports@example.com",
                "base_url": sendgrid.url,
            }
        },
        [{"email": {"to": ["cfo@example.com"], "bcc": ["audit@example.com"]}}],
    )
    assert result.success
    (request,) = sendgrid.requests_to("/v3/mail/send")
    body = request.json()
    (person,) = body["personalizations"]
    assert person["to"] == [{"email": "cfo@example.com"}]
    assert person["bcc"] == [{"email": "audit@example.com"}]
    html = next(c["value"] for c in body["content"] if c["type"] == "text/html")
    assert "Müller GmbH" in html  # the first rows, previewed
    (attachment,) = body["attachments"]
    stored = open(stored_file(result)["path"].value, "rb").read()
    assert base64.b64decode(attachment["content"]) == stored
