"""The local development "mail server": each e-mail becomes an ``.eml`` file in a folder.

Like a real mail server, the outbox keeps every message it is given: a file once written is
never replaced. Whether a report is sent at all is the delivery ledger's decision
(``jobs/ledger.py``): a delivery is one report's content for one period to one target, and it
has an id that every attempt at it shares. A report e-mail is written under a stem naming its
delivery, so an attempt that finds its file already there (the step wrote it, then failed
before the ledger recorded it, and was retried or re-executed) keeps that file rather than
writing a second copy. Messages that are not deliveries (failure notices) are numbered when
their stem is taken: ``<stem>.eml``, ``<stem>-2.eml``, …
"""

import json
import os
import pathlib
import tempfile
from email.message import EmailMessage
from email.policy import SMTP
from typing import Literal

_MAX_NUMBER = 10_000


def _write_new(path: pathlib.Path, data: bytes) -> bool:
    """Create ``path`` holding ``data`` unless it exists; return whether it was created.

    Written next to the target and linked into place: a reader (or a crash) never sees half
    a file, and an existing file, even one created a moment ago by another process, is never
    replaced.
    """
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
        os.link(temp_name, path)
        return True
    except FileExistsError:
        return False
    finally:
        pathlib.Path(temp_name).unlink(missing_ok=True)


def _write_replacing(path: pathlib.Path, data: bytes) -> None:
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
    if_taken: Literal["keep", "number"] = "number",
) -> pathlib.Path:
    """Write ``<stem>.eml`` and ``<stem>.envelope.json`` into ``folder`` and return the ``.eml``.

    The envelope file lists every recipient a real server would have been given, Bcc included,
    since the message itself has no Bcc header. An existing ``.eml`` is never overwritten:
    with ``if_taken="keep"`` the stem names one delivery, and an ``.eml`` already there is that
    delivery written by an earlier attempt, returned as it is; with ``if_taken="number"`` the
    message is another one and gets the first free ``<stem>-<n>.eml`` (n = 2, 3, …).
    """
    if not stem or "/" in stem or "\\" in stem or stem in (".", ".."):
        raise ValueError(f"outbox stem must be a plain file name, got {stem!r}")
    folder.mkdir(parents=True, exist_ok=True)
    data = message.as_bytes(policy=SMTP)
    envelope = json.dumps(
        {"from": envelope_from, "to": list(recipients)}, indent=2, ensure_ascii=False
    ).encode("utf-8")
    numbers = [1] if if_taken == "keep" else range(1, _MAX_NUMBER + 1)
    for number in numbers:
        name = stem if number == 1 else f"{stem}-{number}"
        eml_path = folder / f"{name}.eml"
        if eml_path.exists():
            if if_taken == "keep":
                return eml_path
            continue
        # Envelope first: an .eml on disk always has its envelope next to it. An envelope
        # without its .eml is what a crash between the two left: it is rewritten.
        _write_replacing(folder / f"{name}.envelope.json", envelope)
        if _write_new(eml_path, data) or if_taken == "keep":
            return eml_path
    raise RuntimeError(
        f"the outbox {folder} has {_MAX_NUMBER} messages named {stem!r}: clear it out"
    )
