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


def test_outbox_same_stem_overwrites_and_leaves_no_temp_files(tmp_path):
    for subject in ("first", "second"):
        path = write_to_outbox(
            _message(subject),
            envelope_from="r@example.com",
            recipients=["cfo@example.com"],
            folder=tmp_path,
            stem="run",
        )
    assert (
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)["Subject"]
        == "second"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.eml", "run.envelope.json"]
