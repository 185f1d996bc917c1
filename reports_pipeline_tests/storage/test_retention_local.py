"""Retention on real files in a local folder: listing, and deleting what the plan says."""

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from types import SimpleNamespace

from reports_pipeline.resources.storage import LocalReportStorage
from reports_pipeline.retention import plan_file_deletions, retention_days_of

NOW = datetime.now(timezone.utc)
RUNS = [f"{letter * 8}-0000-4000-8000-00000000000{i}" for i, letter in enumerate("abcd")]


def store(storage, run_id: str, period: str, content: bytes, age: timedelta) -> Path:
    staged = storage.staging_path("sales", period, "csv", run_id)
    staged.write_bytes(content)
    path = Path(storage.store(staged, "sales", period, "csv", rows=1, run_id=run_id).path)
    stamp = (NOW - age).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def clean(storage, days=30):
    specs = [SimpleNamespace(name="sales", retention_days=None)]
    plan = plan_file_deletions(storage.inventory(), retention_days_of(specs, days), NOW)
    storage.delete(plan.paths)
    return plan


def test_the_listing_names_each_file_its_period_size_age_and_the_pointed_one(tmp_path):
    storage = LocalReportStorage(path=str(tmp_path))
    first = store(storage, RUNS[0], "2026-11-02", b"first\n", timedelta(days=3))
    second = store(storage, RUNS[1], "2026-11-02", b"second!\n", timedelta(days=2))
    store(storage, RUNS[2], "2026-11-03", b"x\n", timedelta(days=1))
    (tmp_path / ".staging" / "left_over.csv").write_bytes(b"partial")
    listing = storage.inventory()
    by_path = {entry.relative: entry for entry in listing.files}
    assert set(by_path) == {
        PurePosixPath("sales/2026-11-02/aaaaaaaa/sales_2026-11-02.csv"),
        PurePosixPath("sales/2026-11-02/bbbbbbbb/sales_2026-11-02.csv"),
        PurePosixPath("sales/2026-11-03/cccccccc/sales_2026-11-03.csv"),
    }
    old = by_path[PurePosixPath(first.relative_to(tmp_path).as_posix())]
    new = by_path[PurePosixPath(second.relative_to(tmp_path).as_posix())]
    assert (old.report, old.period, old.bytes, old.latest) == ("sales", "2026-11-02", 6, False)
    assert (new.bytes, new.latest) == (8, True)
    assert abs(old.stored_at - (NOW - timedelta(days=3))) < timedelta(seconds=1)
    assert listing.pointers == {
        PurePosixPath("sales/2026-11-02/latest"),
        PurePosixPath("sales/2026-11-03/latest"),
    }


def test_an_expired_period_goes_whole_and_its_folders_with_it(tmp_path):
    storage = LocalReportStorage(path=str(tmp_path))
    store(storage, RUNS[0], "2026-09-01", b"old\n", timedelta(days=90))
    store(storage, RUNS[1], "2026-09-01", b"old rerun\n", timedelta(days=89))
    kept = store(storage, RUNS[2], "2026-11-30", b"new\n", timedelta(days=1))
    plan = clean(storage)
    assert plan.bytes == len(b"old\n") + len(b"old rerun\n")
    assert not (tmp_path / "sales" / "2026-09-01").exists()
    assert storage.periods("sales") == ["2026-11-30"]
    assert storage.find("sales", "2026-11-30") == str(kept)


def test_a_kept_period_keeps_its_latest_and_loses_old_re_runs(tmp_path):
    storage = LocalReportStorage(path=str(tmp_path))
    rerun = store(storage, RUNS[0], "2026-10-01", b"first\n", timedelta(days=60))
    latest = store(storage, RUNS[1], "2026-10-01", b"second\n", timedelta(days=45))
    clean(storage)
    assert not rerun.exists() and not rerun.parent.exists()
    assert storage.find("sales", "2026-10-01") == str(latest)  # the report's newest file
    assert latest.read_bytes() == b"second\n"


def test_deleting_twice_or_a_file_already_gone_is_fine(tmp_path):
    storage = LocalReportStorage(path=str(tmp_path))
    store(storage, RUNS[0], "2026-09-01", b"old\n", timedelta(days=90))
    store(storage, RUNS[1], "2026-11-30", b"new\n", timedelta(days=1))
    plan = clean(storage)
    storage.delete(plan.paths)  # a second pass racing the first
    assert [e.period for e in storage.inventory().files] == ["2026-11-30"]


def test_links_in_the_storage_are_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.csv").write_bytes(b"keep me")
    storage = LocalReportStorage(path=str(tmp_path / "files"))
    store(storage, RUNS[0], "2026-09-01", b"old\n", timedelta(days=90))
    (tmp_path / "files" / "sales" / "2026-09-01" / "linked").symlink_to(outside)
    (tmp_path / "files" / "elsewhere").symlink_to(outside)
    assert [e.relative.parts[2] for e in storage.inventory().files] == ["aaaaaaaa"]
