"""The delivery ledger: which content went to which target, kept in the Dagster instance.

A delivery is one report's content for one period sent to one target. It is identified by the
report, the period, the target and the content's fingerprint (``render/fingerprint.py``: the
rows, the format and its options, the template), not by the stored file's sha256, which
changes with every rendering for XLSX, PDF, HTML and compressed files. Entries live in the
instance's key-value storage (SQLite under DAGSTER_HOME, or Postgres in production), so they
survive restarts and containers: a retried step, a run re-executed from failure, a relaunched
run, a backfill of a delivered period and a new run after a daemon restart find the entry and
do not send again. New content for a delivered period is a new delivery, and says what it
replaces; a deliberate re-send of the same content needs the run tag
``reports/force_delivery=true``.

Two entries are kept per delivery: one under its full key (report, period, target,
fingerprint) and one under (report, period, target) naming the latest delivery, so that a step
can tell "already delivered" from "content changed since the delivery by run …". Content that
changes back to what an earlier delivery had is new again to the recipients, who last got the
other one: it is sent.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from dagster import DagsterInstance

FORCE_TAG = "reports/force_delivery"
_PREFIX = "reports.delivered"


def target_id(index: int, channel: str, settings: dict) -> str:
    """Names a target by position, channel and settings: changed recipients are a new target."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()
    return f"{index + 1}_{channel}_{digest[:12]}"


@dataclass(frozen=True)
class LedgerKey:
    report: str
    period_key: str
    target: str
    fingerprint: str

    def __str__(self) -> str:
        return f"{self.latest_key}/{self.fingerprint}"

    @property
    def latest_key(self) -> str:
        """The key naming the latest delivery of this report and period to this target."""
        return f"{_PREFIX}/{self.report}/{self.period_key}/{self.target}"


@dataclass(frozen=True)
class Decision:
    """What a deliver step does with one report, period, target and content."""

    send: bool
    status: str  # step metadata "status": delivered, already delivered, re-delivered (forced)
    reason: str  # why, as a phrase for the step's metadata and log; "" for a first delivery
    earlier: dict | None  # the ledger entry the reason speaks of
    number: int  # this delivery's number for the report, period and target: 1, 2, …
    delivery_id: str  # names this delivery: every attempt at it gets the same name


def decide(key: LedgerKey, same: dict | None, latest: dict | None, forced: bool) -> Decision:
    """Send or not, given the ledger's entry for ``key`` (``same``) and the latest delivery.

    The content is already delivered if the latest delivery to the target had it; ``same``
    decides only when there is no latest pointer (entries made before it was kept).
    """
    number = (latest or {}).get("number", 0) + 1
    delivery_id = _delivery_id(key, number)
    if latest is not None:
        already, earlier = latest.get("fingerprint") == key.fingerprint, latest
    else:
        already, earlier = same is not None, same
    if already and not forced:
        reason = f"already delivered by run {earlier['run_id']} at {earlier['at']}"
        return Decision(False, "already delivered", reason, earlier, number, delivery_id)
    if already:
        reason = (
            f"sent again on request ({FORCE_TAG}=true); already delivered by run"
            f" {earlier['run_id']} at {earlier['at']}"
        )
        return Decision(True, "re-delivered (forced)", reason, earlier, number, delivery_id)
    if latest is not None:
        reason = f"content changed since the delivery by run {latest['run_id']} at {latest['at']}"
        return Decision(True, "delivered", reason, latest, number, delivery_id)
    return Decision(True, "delivered", "", None, number, delivery_id)


def _delivery_id(key: LedgerKey, number: int) -> str:
    # The fingerprint is part of it: content that changed while an attempt was failing is a
    # different delivery from the one that attempt may have half made.
    text = f"{key.latest_key}/{number}/{key.fingerprint}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def find_deliveries(
    instance: DagsterInstance, key: LedgerKey, file_sha256: str
) -> tuple[dict | None, dict | None]:
    """The ledger's entry for ``key`` and the latest delivery to its target (each or None).

    Entries made before the ledger knew fingerprints are keyed by the file's sha256 in the
    fingerprint's place: such an entry stands for ``key``'s, so that a CSV delivered then (its
    bytes re-render the same) is not sent again.
    """
    legacy = f"{key.latest_key}/{file_sha256}"
    values = instance.run_storage.get_cursor_values({str(key), key.latest_key, legacy})
    same = values.get(str(key)) or values.get(legacy)
    latest = values.get(key.latest_key)
    return (json.loads(same) if same else None, json.loads(latest) if latest else None)


def record_delivery(
    instance: DagsterInstance,
    key: LedgerKey,
    decision: Decision,
    *,
    run_id: str,
    summary: str,
    sha256: str,
) -> dict:
    """Record a delivery under its key and as the target's latest; return the entry."""
    entry = {
        "run_id": run_id,
        "at": datetime.now(timezone.utc).isoformat(),
        "summary": summary,
        "fingerprint": key.fingerprint,
        "sha256": sha256,  # the file that was sent, for integrity checks
        "number": decision.number,
    }
    text = json.dumps(entry)
    # One key per call: given several keys, Dagster's SQL storage updates the existing ones
    # and drops the new ones. The latest pointer first, since it alone decides whether this
    # content was delivered (``decide``).
    instance.run_storage.set_cursor_values({key.latest_key: text})
    instance.run_storage.set_cursor_values({str(key): text})
    return entry
