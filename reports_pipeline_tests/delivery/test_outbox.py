import email
import email.policy
import json

from reports_pipeline.delivery.email_message import build_email_message, envelope_recipients
from reports_pipeline.delivery.outbox import write_to_outbox


def _message(subject="Weekly sales 東京"):
    return build_email_message(
        from_address="reports@example.com",
        to=["cfo@example.com"],
        cc=[],
        subject=subject,
        body="Attached.",
        attachment=None,
    )


def test_outbox_writes_eml_and_envelope_that_parse_back(tmp_path):
    recipients = envelope_recipients(["cfo@example.com"], [], ["audit@example.com"])
    folder = tmp_path / "outbox" / "sales"  # created on demand

    path = write_to_outbox(
        _message(),
        envelope_from="bounces@example.com",
        recipients=recipients,
        folder=folder,
        stem="sales-2024-05-06",
    )

    assert path == folder / "sales-2024-05-06.eml"
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Weekly sales 東京"
    assert "Bcc" not in parsed
    envelope = json.loads((folder / "sales-2024-05-06.envelope.json").read_text("utf-8"))
    assert envelope == {
        "from": "bounces@example.com",
        "to": ["cfo@example.com", "audit@example.com"],
    }


def _subject(path):
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)["Subject"]


def _write(folder, subject, stem="run", **kwargs):
    return write_to_outbox(
        _message(subject),
        envelope_from="r@example.com",
        recipients=[f"{subject}@example.com"],
        folder=folder,
        stem=stem,
        **kwargs,
    )


def test_a_second_message_with_a_taken_stem_is_numbered_and_the_first_is_kept(tmp_path):
    paths = [_write(tmp_path, subject) for subject in ("first", "second", "third")]

    assert [p.name for p in paths] == ["run.eml", "run-2.eml", "run-3.eml"]
    assert [_subject(p) for p in paths] == ["first", "second", "third"]
    envelope = json.loads((tmp_path / "run-2.envelope.json").read_text("utf-8"))
    assert envelope["to"] == ["second@example.com"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "run-2.eml",
        "run-2.envelope.json",
        "run-3.eml",
        "run-3.envelope.json",
        "run.eml",
        "run.envelope.json",
    ]


def test_a_retried_delivery_keeps_the_file_its_first_attempt_wrote(tmp_path):
    first = _write(tmp_path, "first", stem="report_d1", if_taken="keep")
    again = _write(tmp_path, "retried", stem="report_d1", if_taken="keep")

    assert again == first
    assert _subject(first) == "first"
    envelope = json.loads((tmp_path / "report_d1.envelope.json").read_text("utf-8"))
    assert envelope["to"] == ["first@example.com"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "report_d1.eml",
        "report_d1.envelope.json",
    ]


def test_an_envelope_left_without_its_message_is_rewritten_with_the_message(tmp_path):
    (tmp_path / "run.envelope.json").write_text("{}")  # a crash between the two writes

    path = _write(tmp_path, "first", if_taken="keep")

    assert _subject(path) == "first"
    envelope = json.loads((tmp_path / "run.envelope.json").read_text("utf-8"))
    assert envelope["to"] == ["first@example.com"]
