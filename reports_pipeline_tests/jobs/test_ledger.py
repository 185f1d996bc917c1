"""The ledger's send_if: changed entries, in SQLite and in the PostgreSQL the deployment uses."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reports_pipeline.jobs.ledger import (
    LedgerKey,
    decide,
    previous_delivery,
    record_delivery,
    record_unchanged,
)

ZONE = ZoneInfo("America/New_York")


@pytest.fixture(params=["sqlite", "postgres"])
def instance(request, tmp_path):
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_instance")
        return
    yield request.getfixturevalue("postgres_instance")


def day(number: int) -> tuple[str, datetime]:
    start = datetime(2026, 11, 1, tzinfo=ZONE) + timedelta(days=number - 1)
    return start.strftime("%Y-%m-%d"), start


def deliver(instance, number: int, fingerprint: str, run_id: str) -> dict:
    period, start = day(number)
    key = LedgerKey("sales", period, "1_email_abc", fingerprint)
    decision = decide(key, None, None, forced=False)
    return record_delivery(
        instance, key, decision, run_id=run_id, summary="sent", sha256="0" * 64, period_start=start
    )


def previous(instance, number: int, fingerprint: str = "f") -> dict | None:
    period, start = day(number)
    key = LedgerKey("sales", period, "1_email_abc", fingerprint)
    return previous_delivery(instance, key, start, day(number - 1)[0])


def test_each_new_key_is_kept_and_found_with_one_read(instance):
    assert previous(instance, 1) is None  # the first period: nothing earlier
    deliver(instance, 1, "a", "run-1")
    deliver(instance, 4, "b", "run-4")
    # Day 3: the period before (day 2) has nothing, the latest period (day 4) is later.
    assert previous(instance, 3) is None
    # Day 5: day 4, just before. Day 6: nothing on day 5, so the latest period, day 4.
    assert previous(instance, 5)["run_id"] == "run-4"
    assert previous(instance, 6)["period"] == "2026-11-04"

    period, _ = day(2)
    record_unchanged(
        instance,
        LedgerKey("sales", period, "1_email_abc", "a"),
        previous(instance, 2, "a"),
        run_id="run-2",
    )
    skipped_before = previous(instance, 3)
    assert (skipped_before["period"], skipped_before["run_id"]) == ("2026-11-01", "run-1")


def test_a_backfilled_delivery_does_not_move_the_latest_period_back(instance):
    deliver(instance, 4, "b", "run-4")
    deliver(instance, 2, "c", "run-2")
    assert previous(instance, 6)["run_id"] == "run-4"
