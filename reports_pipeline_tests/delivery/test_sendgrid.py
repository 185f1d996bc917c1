import base64
import os

import pytest

from reports_pipeline.delivery.errors import PermanentDeliveryError, TransientDeliveryError
from reports_pipeline.delivery.sendgrid_mail import (
    SendgridSettings,
    check_sendgrid,
    send_via_sendgrid,
)
from reports_pipeline_tests.http_server import CannedResponse, RecordingHttpServer

API_KEY = "SG.test-key.0123456789abcdefghijklmnopqrstuvwxyz"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ACCEPTED = CannedResponse(202, b"", {"X-Message-Id": "msg-0001"})


@pytest.fixture
def sendgrid():
    """A SendGrid-compatible endpoint: 202 with an X-Message-Id, or 401 for a wrong key."""

    def mail_send(request):
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return CannedResponse(
                401,
                {
                    "errors": [
                        {
                            "field": None,
                            "message": "The provided authorization grant is invalid, expired,"
                            " or revoked",
                        }
                    ]
                },
            )
        return ACCEPTED

    with RecordingHttpServer() as server:
        server.handle("/v3/mail/send", mail_send)
        server.respond("/v3/scopes", 200, {"scopes": ["mail.send", "user.profile.read"]})
        yield server
    assert not server.handler_errors


def _settings(server, api_key=API_KEY) -> SendgridSettings:
    return SendgridSettings(api_key=api_key, base_url=server.url, timeout=60.0)


def _send(server, **overrides):
    values = dict(
        from_address="Reports <reports@example.com>",
        to=["cfo@example.com"],
        cc=["team@example.com"],
        bcc=["audit@example.com"],
        subject="Weekly sales 2024-W10",
        text="Attached: 3 rows.",
        html=None,
        attachment=None,
        attachment_type=None,
        settings=_settings(server),
    )
    return send_via_sendgrid(**{**values, **overrides})


def test_the_mail_is_posted_with_the_key_and_the_receipt_has_the_message_id(sendgrid):
    receipt = _send(sendgrid)

    [request] = sendgrid.wait_for_requests(1)
    assert request.method == "POST"
    assert request.path == "/v3/mail/send"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert receipt.details == {"status": 202, "message_id": "msg-0001"}
    assert "msg-0001" in receipt.summary


def test_recipients_share_one_personalization_and_bcc_stays_bcc(sendgrid):
    _send(sendgrid)

    [request] = sendgrid.wait_for_requests(1)
    body = request.json()
    assert body["personalizations"] == [
        {
            "to": [{"email": "cfo@example.com"}],
            "cc": [{"email": "team@example.com"}],
            "bcc": [{"email": "audit@example.com"}],
        }
    ]
    assert body["from"] == {"email": "reports@example.com", "name": "Reports"}
    assert body["subject"] == "Weekly sales 2024-W10"


def test_an_address_named_twice_keeps_its_most_visible_role(sendgrid):
    _send(sendgrid, to=["cfo@example.com"], cc=["CFO@example.com"], bcc=["cfo@example.com"])

    [request] = sendgrid.wait_for_requests(1)
    assert request.json()["personalizations"] == [{"to": [{"email": "cfo@example.com"}]}]


def test_text_and_html_contents_are_sent_in_order(sendgrid):
    _send(sendgrid, text="Plain: 3 rows", html="<p>HTML: <b>3</b> rows</p>")

    [request] = sendgrid.wait_for_requests(1)
    assert request.json()["content"] == [
        {"type": "text/plain", "value": "Plain: 3 rows"},
        {"type": "text/html", "value": "<p>HTML: <b>3</b> rows</p>"},
    ]


def test_the_attachment_decodes_to_the_same_bytes(sendgrid, tmp_path):
    report = tmp_path / "weekly_sales.xlsx"
    report.write_bytes(os.urandom(50_000))

    _send(sendgrid, attachment=report, attachment_type=XLSX)

    [request] = sendgrid.wait_for_requests(1)
    [attachment] = request.json()["attachments"]
    assert base64.b64decode(attachment["content"]) == report.read_bytes()
    assert attachment["filename"] == "weekly_sales.xlsx"
    assert attachment["type"] == XLSX
    assert attachment["disposition"] == "attachment"


def test_503_is_transient_and_the_next_call_succeeds(sendgrid):
    sendgrid.respond("/v3/mail/send", 503, "upstream unavailable", times=1)

    with pytest.raises(TransientDeliveryError, match="503"):
        _send(sendgrid)
    receipt = _send(sendgrid)

    assert receipt.details["message_id"] == "msg-0001"


def test_rate_limiting_is_transient(sendgrid):
    sendgrid.respond(
        "/v3/mail/send",
        429,
        {"errors": [{"field": None, "message": "too many requests"}]},
        times=1,
    )

    with pytest.raises(TransientDeliveryError, match="429.*too many requests"):
        _send(sendgrid)


def test_a_bad_request_is_permanent_with_sendgrids_messages(sendgrid):
    sendgrid.respond(
        "/v3/mail/send",
        400,
        {
            "errors": [
                {
                    "field": "from",
                    "message": "The from address does not match a verified Sender Identity.",
                }
            ]
        },
    )

    with pytest.raises(PermanentDeliveryError) as caught:
        _send(sendgrid)

    assert "400" in str(caught.value)
    assert "from: The from address does not match a verified Sender Identity" in str(caught.value)


def test_a_wrong_key_is_permanent_and_never_shown(sendgrid):
    wrong = "SG.wrong-key.zyxwvutsrqponmlkjihgfedcba"
    settings = _settings(sendgrid, api_key=wrong)

    with pytest.raises(PermanentDeliveryError, match="401.*authorization grant") as caught:
        _send(sendgrid, settings=settings)

    assert wrong not in str(caught.value)
    assert wrong not in repr(settings)


def test_a_key_echoed_by_the_server_is_masked(sendgrid):
    sendgrid.respond("/v3/mail/send", 403, {"errors": [{"message": f"key {API_KEY} lacks scope"}]})

    with pytest.raises(PermanentDeliveryError) as caught:
        _send(sendgrid)

    assert API_KEY not in str(caught.value)
    assert "key *** lacks scope" in str(caught.value)


def test_a_sendgrid_slower_than_the_timeout_is_transient(sendgrid):
    sendgrid.hold("/v3/mail/send")
    settings = SendgridSettings(api_key=API_KEY, base_url=sendgrid.url, timeout=0.5)

    with pytest.raises(TransientDeliveryError, match="cannot reach SendGrid.*timed out"):
        _send(sendgrid, settings=settings)


def test_an_unreachable_sendgrid_is_transient():
    with RecordingHttpServer() as stopped:
        settings = _settings(stopped)

    with pytest.raises(TransientDeliveryError, match="cannot reach SendGrid"):
        _send(stopped, settings=settings)


def test_a_mail_without_to_recipients_is_refused_before_sending(sendgrid):
    with pytest.raises(PermanentDeliveryError, match="at least one 'to'"):
        _send(sendgrid, to=[], cc=[], bcc=["audit@example.com"])

    assert sendgrid.requests == []


def test_an_empty_key_is_refused():
    with pytest.raises(ValueError, match="empty"):
        SendgridSettings(api_key="")


def test_check_accepts_a_key_with_mail_send(sendgrid):
    result = check_sendgrid(_settings(sendgrid))

    [request] = sendgrid.wait_for_requests(1)
    assert request.method == "GET"
    assert request.path == "/v3/scopes"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert "mail.send" in result


def test_check_refuses_a_key_without_mail_send(sendgrid):
    sendgrid.respond("/v3/scopes", 200, {"scopes": ["user.profile.read"]})

    with pytest.raises(PermanentDeliveryError, match="lacks the mail.send scope"):
        check_sendgrid(_settings(sendgrid))
