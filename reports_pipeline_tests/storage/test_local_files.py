"""Report files in a local folder: every run keeps its own file, the latest is one read away."""

from pathlib import Path

from reports_pipeline.resources.storage import LocalReportStorage

FIRST_RUN = "aaaaaaaa-0000-4000-8000-000000000001"
SECOND_RUN = "bbbbbbbb-0000-4000-8000-000000000002"


def store(storage: LocalReportStorage, run_id: str, content: bytes, period="2026-11-02"):
    staged = storage.staging_path("sales", period, "csv", run_id)
    staged.write_bytes(content)
    return storage.store(staged, "sales", period, "csv", rows=1, run_id=run_id)


def test_re_running_a_period_keeps_the_earlier_file(tmp_path):
    storage = LocalReportStorage(path=str(tmp_path))
    first = store(storage, FIRST_RUN, b"first\n")
    second = store(storage, SECOND_RUN, b"second\n")
    assert Path(first.path).read_bytes() == b"first\n"
    assert Path(second.path).read_bytes() == b"second\n"
    assert Path(first.path).name == Path(second.path).name == "sales_2026-11-02.csv"
    assert first.path != second.path
    assert not list((tmp_path / ".staging").iterdir())


def test_the_latest_is_the_last_stored_and_a_run_finds_its_own(tmp_path):
    storage = LocalReportStorage(path=str(tmp_path))
    first = store(storage, FIRST_RUN, b"first\n")
    second = store(storage, SECOND_RUN, b"second\n")
    assert storage.find("sales", "2026-11-02") == second.path
    assert storage.find("sales", "2026-11-02", FIRST_RUN) == first.path
    assert storage.find("sales", "2026-11-02", FIRST_RUN[:8]) == first.path
    assert storage.find("sales", "2026-11-02", "cccccccc") is None
    assert storage.find("sales", "2026-11-03") is None


def test_stored_file_describes_itself(tmp_path):
    storage = LocalReportStorage(path=str(tmp_path), public_base_url="https://files.example.com/")
    stored = store(storage, FIRST_RUN, b"a,b\n")
    assert stored.bytes == 4
    assert stored.location == stored.path
    assert stored.download_url == (
        "https://files.example.com/sales/2026-11-02/aaaaaaaa/sales_2026-11-02.csv"
    )


def test_a_period_stored_before_files_were_kept_per_run_is_still_found(tmp_path):
    legacy = tmp_path / "sales" / "2026-11-02" / "sales_2026-11-02.csv"
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(b"old\n")
    storage = LocalReportStorage(path=str(tmp_path))
    assert storage.find("sales", "2026-11-02") == str(legacy)
    newer = store(storage, FIRST_RUN, b"new\n")
    assert storage.find("sales", "2026-11-02") == newer.path
    assert legacy.read_bytes() == b"old\n"


def test_periods_lists_the_stored_periods_in_order(tmp_path):
    storage = LocalReportStorage(path=str(tmp_path))
    assert storage.periods("sales") == []
    store(storage, FIRST_RUN, b"x\n", period="2026-11-03")
    store(storage, FIRST_RUN, b"x\n", period="2026-11-02")
    assert storage.periods("sales") == ["2026-11-02", "2026-11-03"]


def test_download_copies_the_stored_bytes(tmp_path):
    storage = LocalReportStorage(path=str(tmp_path / "files"))
    stored = store(storage, FIRST_RUN, b"a,b\n1,2\n")
    storage.download(stored.location, tmp_path / "out" / "copy.csv")
    assert (tmp_path / "out" / "copy.csv").read_bytes() == b"a,b\n1,2\n"
