import socket

import pytest

from reports_pipeline.delivery.email_message import build_email_message, envelope_recipients
from reports_pipeline.delivery.errors import PermanentDeliveryError, TransientDeliveryError
from reports_pipeline.delivery.smtp import SmtpSettings, send_via_smtp
from reports_pipeline_tests.smtp_server import SmtpTestServer

PASSWORD = "correct-horse-battery-staple"


def _message(**overrides):
    values = dict(
        from_address="reports@example.com",
        to=["cfo@example.com"],
        cc=["team@example.com"],
        subject="Weekly sales",
        body="Attached.",
        attachment=None,
    )
    return build_email_message(**{**values, **overrides})


def _send(server_settings, recipients=("cfo@example.com",), message=None):
    return send_via_smtp(
        message or _message(),
        envelope_from="bounces@example.com",
        recipients=list(recipients),
        settings=server_settings,
    )


def test_bcc_recipients_get_the_mail_without_a_bcc_header(smtp_server):
    recipients = envelope_recipients(
        ["cfo@example.com"], ["team@example.com"], ["audit@example.com"]
    )

    receipt = _send(smtp_server.settings(), recipients)

    [received] = smtp_server.wait_for_messages(1)
    assert received.mail_from == "bounces@example.com"
    assert received.rcpt_tos == ["cfo@example.com", "team@example.com", "audit@example.com"]
    assert b"audit@example.com" not in received.content
    assert "Bcc" not in received.parsed()
    assert receipt.accepted == recipients
    assert receipt.refused == {}


def test_receipt_has_message_id_and_the_servers_queue_reply(smtp_server):
    message = _message()

    receipt = _send(smtp_server.settings(), message=message)

    assert receipt.message_id == message["Message-ID"]
    assert receipt.server_reply == "250 OK: queued as test-1"


def test_subject_body_and_attachment_survive_a_real_server(smtp_server, tmp_path):
    attachment = tmp_path / "report.xlsx"
    attachment.write_bytes(bytes(range(256)) * 10)
    subject = "Ventes été — 東京 📈"
    message = _message(subject=subject, body="Voilà 東京\n", attachment=attachment)

    _send(smtp_server.settings(), message=message)

    parsed = smtp_server.wait_for_messages(1)[0].parsed()
    assert parsed["Subject"] == subject
    assert parsed["To"] == "cfo@example.com"
    assert parsed["Cc"] == "team@example.com"
    assert parsed.get_body(("plain",)).get_content() == "Voilà 東京\r\n"
    [part] = parsed.iter_attachments()
    assert part.get_filename() == "report.xlsx"
    assert (
        part.get_content_type()
        == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert part.get_content() == attachment.read_bytes()


def test_starttls_and_login_deliver_over_an_encrypted_connection():
    with SmtpTestServer(require_starttls=True, auth=("reports", PASSWORD)) as server:
        _send(server.settings(starttls=True, username="reports", password=PASSWORD))

        [received] = server.wait_for_messages(1)
    assert received.encrypted
    assert received.login == "reports"


def test_implicit_tls_delivers_over_an_encrypted_connection():
    with SmtpTestServer(implicit_tls=True, auth=("reports", PASSWORD)) as server:
        _send(server.settings(username="reports", password=PASSWORD))

        [received] = server.wait_for_messages(1)
    assert received.encrypted
    assert received.login == "reports"


def test_wrong_password_is_permanent_and_never_shows_the_password():
    with SmtpTestServer(starttls=True, auth=("reports", PASSWORD)) as server:
        settings = server.settings(starttls=True, username="reports", password="wrong-" + PASSWORD)

        with pytest.raises(PermanentDeliveryError) as caught:
            _send(settings)

        assert server.messages == []
    assert str(caught.value) == "SMTP login refused for user reports: 535"
    assert PASSWORD not in repr(caught.value)
    assert PASSWORD not in repr(settings)


def test_server_certificate_from_an_untrusted_ca_is_permanent():
    with SmtpTestServer(starttls=True) as server:
        with pytest.raises(PermanentDeliveryError, match="certificate"):
            _send(server.settings(starttls=True, ca_file=None))

        assert server.messages == []


def test_starttls_required_but_not_offered_is_permanent_and_sends_nothing(smtp_server):
    with pytest.raises(PermanentDeliveryError, match="does not offer STARTTLS"):
        _send(smtp_server.settings(starttls=True))

    assert smtp_server.messages == []


def test_temporary_rejection_451_is_transient(smtp_server):
    smtp_server.fail_next(1, code=451, message="try later")

    with pytest.raises(TransientDeliveryError, match="451 try later"):
        _send(smtp_server.settings())

    assert smtp_server.messages == []


def test_send_after_a_temporary_rejection_goes_through(smtp_server):
    smtp_server.fail_next(1, code=451)
    with pytest.raises(TransientDeliveryError):
        _send(smtp_server.settings())

    _send(smtp_server.settings())

    assert len(smtp_server.wait_for_messages(1)) == 1


def test_permanent_rejection_554_at_data_is_permanent(smtp_server):
    smtp_server.fail_next(1, code=554, message="content rejected")

    with pytest.raises(PermanentDeliveryError, match="554 content rejected"):
        _send(smtp_server.settings())


def test_every_recipient_refused_with_550_is_permanent(smtp_server):
    smtp_server.refuse_recipient("cfo@example.com")
    smtp_server.refuse_recipient("team@example.com")

    with pytest.raises(PermanentDeliveryError, match="550 no such user"):
        _send(smtp_server.settings(), ["cfo@example.com", "team@example.com"])

    assert smtp_server.messages == []


def test_some_recipients_refused_are_listed_in_the_receipt(smtp_server):
    smtp_server.refuse_recipient("gone@example.com")

    receipt = _send(smtp_server.settings(), ["cfo@example.com", "gone@example.com"])

    assert receipt.accepted == ["cfo@example.com"]
    assert receipt.refused == {"gone@example.com": "550 no such user"}
    assert smtp_server.wait_for_messages(1)[0].rcpt_tos == ["cfo@example.com"]


def test_nothing_listening_is_transient():
    # A bound socket that never listens: connecting to it is refused, and no other test can
    # start a server on that port meanwhile.
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]

        with pytest.raises(TransientDeliveryError, match=f"cannot reach smtp 127.0.0.1:{port}"):
            _send(SmtpSettings(host="127.0.0.1", port=port, timeout=5))


def test_login_without_encryption_is_refused_permanently_without_sending_the_password(smtp_server):
    settings = smtp_server.settings(username="reports", password=PASSWORD)

    with pytest.raises(PermanentDeliveryError) as caught:
        _send(settings)

    assert PASSWORD not in str(caught.value)
    assert smtp_server.messages == []


def test_server_that_never_answers_times_out_as_transient():
    # Listening but never greeting: the TCP connect succeeds and smtplib waits for the banner.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]

        with pytest.raises(TransientDeliveryError, match="timed out"):
            _send(SmtpSettings(host="127.0.0.1", port=port, timeout=0.2))


def test_a_reply_quoting_the_login_never_shows_the_password_in_any_form():
    import base64

    auth_plain = base64.b64encode(f"\0reports\0{PASSWORD}".encode()).decode()
    with SmtpTestServer(starttls=True, auth=("reports", PASSWORD)) as server:
        echoed = f"rejected after AUTH PLAIN {auth_plain} ({PASSWORD})"
        server.fail_next(1, code=554, message=echoed)
        settings = server.settings(starttls=True, username="reports", password=PASSWORD)

        with pytest.raises(PermanentDeliveryError) as caught:
            _send(settings)

    assert str(caught.value).endswith("554 rejected after AUTH PLAIN *** (***)")
