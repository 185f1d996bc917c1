"""The local development "mail server": each e-mail becomes an ``.eml`` file in a folder."""

import json
import os
import pathlib
import tempfile
from email.message import EmailMessage
from email.policy import SMTP


def _write_atomically(path: pathlib.Path, data: bytes) -> None:
    # Write next to the target and rename, so a reader (or a crash) never sees half a file.
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
        os.replace(temp_name, path)
    except BaseException:
        pathlib.Path(temp_name).unlink(missing_ok=True)
        raise


def write_to_outbox(
    message: EmailMessage,
    *,
    envelope_from: str,
    recipients: list[str],
    folder: pathlib.Path,
    stem: str,
) -> pathlib.Path:
    """Write ``<stem>.eml`` and ``<stem>.envelope.json`` into ``folder`` and return the ``.eml``.

    The envelope file lists every recipient a real server would have been given, Bcc included,
    since the message itself has no Bcc header. Writing the same ``stem`` again overwrites:
    the same stem means the same delivery being retried.
    """
    if not stem or "/" in stem or "\\" in stem or stem in (".", ".."):
        raise ValueError(f"outbox stem must be a plain file name, got {stem!r}")
    folder.mkdir(parents=True, exist_ok=True)
    eml_path = folder / f"{stem}.eml"
    envelope = {"from": envelope_from, "to": list(recipients)}
    # Envelope first: an .eml on disk always has its envelope next to it.
    _write_atomically(
        folder / f"{stem}.envelope.json",
        json.dumps(envelope, indent=2, ensure_ascii=False).encode("utf-8"),
    )
    _write_atomically(eml_path, message.as_bytes(policy=SMTP))
    return eml_path
