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

For ``send_if: changed`` two more entries per report and target answer "what did this target
last get for an earlier period" with one read: the delivery of the latest period delivered to
it, and, per period skipped as unchanged, the earlier delivery it matched (so a chain of
unchanged periods points straight at the delivery the recipients have).
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from dagster import DagsterInstance

FORCE_TAG = "reports/force_delivery"
_PREFIX = "reports.delivered"
_LAST_PERIOD_PREFIX = "reports.last_period_delivered"
_UNCHANGED_PREFIX = "reports.unchanged"


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

    @property
    def last_period_key(self) -> str:
        """The key naming the delivery of the latest period delivered to this target."""
        return f"{_LAST_PERIOD_PREFIX}/{self.report}/{self.target}"

    def for_period(self, period_key: str) -> "LedgerKey":
        return LedgerKey(self.report, period_key, self.target, self.fingerprint)

    @property
    def unchanged_key(self) -> str:
        """The key of this period's skip as unchanged (``send_if: changed``) at this target."""
        return f"{_UNCHANGED_PREFIX}/{self.report}/{self.period_key}/{self.target}"


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
    period_start: datetime,
) -> dict:
    """Record a delivery under its key, as the target's latest for the period and, unless a
    later period was delivered already, as the target's latest period; return the entry."""
    entry = {
        "run_id": run_id,
        "at": datetime.now(timezone.utc).isoformat(),
        "summary": summary,
        "fingerprint": key.fingerprint,
        "sha256": sha256,  # the file that was sent, for integrity checks
        "number": decision.number,
        "period": key.period_key,
        "period_start": period_start.isoformat(),
    }
    text = json.dumps(entry)
    # One key per call: given several keys, Dagster's SQL storage updates the existing ones
    # and drops the new ones. The latest pointer first, since it alone decides whether this
    # content was delivered (``decide``).
    instance.run_storage.set_cursor_values({key.latest_key: text})
    instance.run_storage.set_cursor_values({str(key): text})
    last = _load(instance.run_storage.get_cursor_values({key.last_period_key}), key.last_period_key)
    # Runs of two periods at once may both read the older entry: the later write can then leave
    # an earlier period here. ``previous_delivery`` asks the period just before first, so this
    # entry only matters across periods never delivered to the target, where older is safe.
    if last is None or _start(last) <= period_start:
        instance.run_storage.set_cursor_values({key.last_period_key: text})
    return entry


def previous_delivery(
    instance: DagsterInstance, key: LedgerKey, period_start: datetime, previous_period: str | None
) -> dict | None:
    """What the target last got for a period before ``key``'s, as a delivery entry with its
    ``period``; None if nothing earlier was delivered to it (or nothing the ledger can find).

    The period just before (``previous_period``) decides when it was delivered or skipped as
    unchanged; otherwise the latest period delivered to the target, if it is an earlier one.
    A backfilled period whose period just before has neither finds nothing: it is sent.
    """
    before = key.for_period(previous_period) if previous_period else None
    wanted = {key.last_period_key} | (
        {before.latest_key, before.unchanged_key} if before else set()
    )
    values = instance.run_storage.get_cursor_values(wanted)
    if before is not None:
        delivered = _load(values, before.latest_key)
        if delivered is not None:
            # Entries recorded before deliveries named their period lack "period".
            return {"period": previous_period, **delivered}
        skipped = _load(values, before.unchanged_key)
        if skipped is not None:
            return skipped
    last = _load(values, key.last_period_key)
    if last is not None and _start(last) < period_start:
        return last
    return None


def record_unchanged(
    instance: DagsterInstance, key: LedgerKey, delivered: dict, *, run_id: str
) -> None:
    """Record that ``key``'s period was not sent because ``delivered`` had the same data."""
    entry = {
        **{name: delivered[name] for name in ("run_id", "at", "fingerprint", "period")},
        "skipped_by_run": run_id,
        "skipped_at": datetime.now(timezone.utc).isoformat(),
    }
    instance.run_storage.set_cursor_values({key.unchanged_key: json.dumps(entry)})


def _load(values: dict[str, str], key: str) -> dict | None:
    text = values.get(key)
    return json.loads(text) if text else None


def _start(entry: dict) -> datetime:
    return datetime.fromisoformat(entry["period_start"])
