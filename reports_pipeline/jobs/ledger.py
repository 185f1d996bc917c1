"""The delivery ledger: which file went to which target, kept in the Dagster instance.

Keys are report, period, target and the file's sha256; entries live in the instance's key-value
storage (SQLite under DAGSTER_HOME, or Postgres in production), so they survive restarts and
containers. A retried step, a run re-executed from failure and a run relaunched after a crash
find the entry and do not send again; a deliberate re-run sends again only with the run tag
``reports/force_delivery=true``.
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
    sha256: str

    def __str__(self) -> str:
        return f"{_PREFIX}/{self.report}/{self.period_key}/{self.target}/{self.sha256}"


def find_delivery(instance: DagsterInstance, key: LedgerKey) -> dict | None:
    """The recorded delivery for ``key``, or None if it was never delivered."""
    value = instance.run_storage.get_cursor_values({str(key)}).get(str(key))
    return json.loads(value) if value else None


def record_delivery(instance: DagsterInstance, key: LedgerKey, run_id: str, summary: str) -> None:
    entry = {"run_id": run_id, "at": datetime.now(timezone.utc).isoformat(), "summary": summary}
    instance.run_storage.set_cursor_values({str(key): json.dumps(entry)})
