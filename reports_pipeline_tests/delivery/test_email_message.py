import email
import email.policy

import pytest

from reports_pipeline.delivery.email_message import build_email_message, envelope_recipients


def _build(tmp_path=None, **overrides):
    values = dict(
        from_address="reports@example.com",
        to=["cfo@example.com"],
        cc=[],
        subject="Weekly sales",
        body="Attached.",
        attachment=None,
    )
    return build_email_message(**{**values, **overrides})


def _reparse(message):
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)


def test_to_and_cc_headers_are_set_and_there_is_never_a_bcc_header():
    message = _reparse(_build(to=["a@example.com", "b@example.com"], cc=["c@example.com"]))
    assert message["To"] == "a@example.com, b@example.com"
    assert message["Cc"] == "c@example.com"
    assert "Bcc" not in message


def test_date_and_message_id_use_the_given_domain():
    message = _reparse(_build(message_id_domain="reports.example.com"))
    assert message["Date"]
    assert message["Message-ID"].endswith("@reports.example.com>")


def test_non_ascii_subject_is_encoded_and_decodes_back():
    subject = "Ventes été — 東京 📈"
    message = _build(subject=subject)
    raw = message.as_bytes()
    assert subject.encode() not in raw  # encoded words, so any server can carry it
    assert _reparse(message)["Subject"] == subject


def test_body_is_utf8_text():
    message = _reparse(_build(body="Bonjour, voilà le rapport 東京.\n"))
    body = message.get_body(("plain",))
    assert body.get_content_charset() == "utf-8"
    # On the wire (policy SMTP) lines end in CRLF.
    assert body.get_content() == "Bonjour, voilà le rapport 東京.\r\n"


def test_xlsx_attachment_keeps_bytes_name_and_type(tmp_path):
    path = tmp_path / "sales.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook \x00\xff")
    [attachment] = _reparse(_build(attachment=path)).iter_attachments()
    assert attachment.get_filename() == "sales.xlsx"
    assert attachment.get_content_type() == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert attachment.get_content() == path.read_bytes()


def test_csv_attachment_uses_attachment_name_with_non_ascii_characters(tmp_path):
    path = tmp_path / "tmp123.csv"
    path.write_bytes("region;total\nÎle-de-France;12\n".encode())
    [attachment] = _reparse(
        _build(attachment=path, attachment_name="ventes_été_東京.csv")
    ).iter_attachments()
    assert attachment.get_filename() == "ventes_été_東京.csv"
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_payload(decode=True) == path.read_bytes()


@pytest.mark.parametrize("subject", ["Sales\nBcc: spy@evil.com", "Sales\r\nX: y", "Sales\r"])
def test_subject_with_line_break_is_rejected(subject):
    with pytest.raises(ValueError, match="subject must be one line"):
        _build(subject=subject)


def test_envelope_recipients_include_bcc_once_in_order_ignoring_case():
    recipients = envelope_recipients(
        ["cfo@example.com", "ceo@example.com"],
        ["CFO@example.com", "team@example.com"],
        ["audit@example.com", "Team@Example.com"],
    )
    assert recipients == [
        "cfo@example.com",
        "ceo@example.com",
        "team@example.com",
        "audit@example.com",
    ]
