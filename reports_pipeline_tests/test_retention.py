"""Which stored files retention deletes: ages around the limit, overrides, the latest kept."""

from datetime import datetime, timedelta, timezone
from pathlib import PurePosixPath
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports_pipeline.retention import plan_file_deletions, retention_days_of
from reports_pipeline.spec.loader import load_connections
from reports_pipeline.storage.inventory import StoredEntry, StoredListing
from reports_pipeline_tests.report_files import report_dict, write_connections
from reports_pipeline_tests.spec.test_report import only_problem

NOW = datetime(2026, 12, 1, 3, 30, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def entry(report, period, run, age, size=10, latest=False) -> StoredEntry:
    relative = PurePosixPath(report, period, run, f"{report}_{period}.csv")
    return StoredEntry(report, period, relative, NOW - age, size, latest)


def listing(*entries: StoredEntry) -> StoredListing:
    pointers = {PurePosixPath(e.report, e.period, "latest") for e in entries}
    return StoredListing(list(entries), frozenset(pointers))


def spec(name, retention_days=None):
    return SimpleNamespace(name=name, retention_days=retention_days)


def deleted(plan) -> set[str]:
    return {entry.relative.as_posix() for entry in plan.files}


def plan(entries, storage_days=30, specs=None, now=NOW):
    specs = specs if specs is not None else [spec("sales"), spec("usage")]
    return plan_file_deletions(listing(*entries), retention_days_of(specs, storage_days), now)


@pytest.mark.parametrize(
    ("age", "goes"),
    [
        (29 * DAY, False),
        (30 * DAY - timedelta(minutes=1), False),
        (30 * DAY, False),  # exactly at the limit is not older than it
        (30 * DAY + timedelta(minutes=1), True),
        (400 * DAY, True),
    ],
)
def test_a_period_goes_once_its_newest_file_is_older_than_the_limit(age, goes):
    old = entry("sales", "2026-10-01", "aaaaaaaa", age)
    newest = entry("sales", "2026-11-30", "bbbbbbbb", DAY)
    result = plan([old, newest])
    assert deleted(result) == ({old.relative.as_posix()} if goes else set())
    assert result.pointers == ([PurePosixPath("sales/2026-10-01/latest")] if goes else [])
    assert result.bytes == (10 if goes else 0)


def test_the_reports_newest_file_is_kept_however_old():
    only = entry("sales", "2026-01-01", "aaaaaaaa", 300 * DAY)
    older = entry("sales", "2025-12-01", "cccccccc", 330 * DAY)
    result = plan([only, older])
    assert deleted(result) == {older.relative.as_posix()}
    assert result.pointers == [PurePosixPath("sales/2025-12-01/latest")]


def test_a_kept_period_loses_old_re_runs_but_never_the_file_its_pointer_names():
    rerun_old = entry("sales", "2026-11-30", "aaaaaaaa", 60 * DAY)
    pointed = entry("sales", "2026-11-30", "bbbbbbbb", 50 * DAY, latest=True)
    result = plan([rerun_old, pointed])
    assert deleted(result) == {rerun_old.relative.as_posix()}
    assert result.pointers == []  # the period stays, and so does its pointer


def test_the_pointer_wins_over_the_newest_time_in_a_period():
    # Two runs of one period finishing out of order: the pointer names the older file.
    pointed = entry("sales", "2026-11-01", "aaaaaaaa", 40 * DAY, latest=True)
    newer = entry("sales", "2026-11-01", "bbbbbbbb", 39 * DAY)
    assert deleted(plan([pointed, newer])) == {newer.relative.as_posix()}


def test_a_reports_own_retention_days_overrides_the_storages():
    sales = entry("sales", "2026-10-01", "aaaaaaaa", 20 * DAY)
    usage = entry("usage", "2026-10-01", "aaaaaaaa", 20 * DAY)
    newer = [entry(n, "2026-11-30", "bbbbbbbb", DAY) for n in ("sales", "usage")]
    specs = [spec("sales", retention_days=10), spec("usage")]
    assert deleted(plan([sales, usage, *newer], 30, specs)) == {sales.relative.as_posix()}
    # And without a storage setting, only the report that asks is cleaned.
    assert deleted(plan([sales, usage, *newer], None, specs)) == {sales.relative.as_posix()}


def test_nothing_goes_without_any_retention_days():
    old = [entry("sales", f"2025-0{m}-01", "aaaaaaaa", 400 * DAY - m * DAY) for m in range(1, 5)]
    assert deleted(plan(old, storage_days=None)) == set()


def test_a_folder_without_a_valid_report_file_is_left_alone():
    gone = [entry("retired", p, "aaaaaaaa", 400 * DAY) for p in ("2025-01-01", "2025-02-01")]
    assert deleted(plan(gone, specs=[spec("sales")])) == set()


def test_several_periods_and_runs():
    entries = [
        entry("sales", "2026-09-01", "aaaaaaaa", 91 * DAY),
        entry("sales", "2026-09-01", "bbbbbbbb", 90 * DAY, latest=True),
        entry("sales", "2026-10-01", "cccccccc", 61 * DAY),
        entry("sales", "2026-10-01", "dddddddd", 20 * DAY, latest=True),  # re-run lately
        entry("sales", "2026-11-01", "eeeeeeee", 31 * DAY),
    ]
    result = plan(entries)
    assert deleted(result) == {
        "sales/2026-09-01/aaaaaaaa/sales_2026-09-01.csv",
        "sales/2026-09-01/bbbbbbbb/sales_2026-09-01.csv",
        "sales/2026-10-01/cccccccc/sales_2026-10-01.csv",
        "sales/2026-11-01/eeeeeeee/sales_2026-11-01.csv",
    }
    assert result.pointers == [
        PurePosixPath("sales/2026-09-01/latest"),
        PurePosixPath("sales/2026-11-01/latest"),
    ]
    assert result.paths[:2] == result.pointers  # pointers go before their files


ages = st.integers(min_value=0, max_value=200).map(lambda days: days * DAY)
files = st.lists(
    st.tuples(st.sampled_from(["p1", "p2", "p3"]), st.sampled_from(["r1", "r2"]), ages),
    min_size=1,
    max_size=8,
    unique_by=lambda item: item[:2],
)


@given(files=files, days=st.integers(min_value=1, max_value=120))
def test_the_newest_file_stays_and_only_old_files_go(files, days):
    entries = [entry("sales", period, run, age) for period, run, age in files]
    result = plan(entries, storage_days=days, specs=[spec("sales")])
    newest = max(entries, key=lambda e: (e.stored_at, e.period))
    assert newest not in result.files
    assert all(e.stored_at < NOW - days * DAY for e in result.files)
    # A period's pointer goes exactly when none of its files is left.
    left = {e.period for e in entries if e not in result.files}
    assert {p.parts[1] for p in result.pointers} == {e.period for e in entries} - left


@pytest.mark.parametrize("value", [0, -1, 36_501, 2.5, True, "soon"], ids=repr)
def test_a_retention_days_out_of_range_is_an_error_at_its_field(tmp_path, value):
    message = only_problem(tmp_path, report_dict(retention_days=value), "retention_days")
    assert "expected a whole number" in message or "out of range" in message, message


def test_a_report_may_not_take_the_retention_jobs_name(tmp_path):
    message = only_problem(tmp_path, report_dict(name="reports_retention"), "name")
    assert "a job of the deployment's own" in message


@pytest.mark.parametrize("value", [0, 36_501, "forever"], ids=repr)
def test_run_retention_days_out_of_range_names_file_line_and_field(tmp_path, value):
    connections = write_connections(tmp_path, {"policy": {"run_retention_days": value}})
    _, errors = load_connections(connections)
    assert len(errors) == 1
    assert str(errors[0]).startswith(f"{connections}:2: policy.run_retention_days:")
