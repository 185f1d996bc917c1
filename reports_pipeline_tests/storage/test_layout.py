"""Where a stored file lives inside the storage, for a folder and a bucket alike."""

from pathlib import PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports_pipeline.storage.layout import (
    period_slug,
    pointed_file,
    pointer_text,
    run_folder,
    stored_file_path,
)

RUN_ID = "3f2a9c1e-77aa-4c1b-9d5e-0123456789ab"


def test_each_run_has_its_own_folder_and_the_file_keeps_its_name():
    assert stored_file_path("sales", "2026-11-02-09:00", "csv", RUN_ID) == PurePosixPath(
        "sales/2026-11-02-0900/3f2a9c1e/sales_2026-11-02-0900.csv"
    )


def test_a_run_id_and_its_eight_character_prefix_name_the_same_folder():
    assert run_folder(RUN_ID) == run_folder(RUN_ID[:8]) == "3f2a9c1e"


def test_a_run_id_without_a_usable_character_is_refused():
    with pytest.raises(ValueError, match="not a run id"):
        run_folder("/../")


def test_the_latest_pointer_names_the_file_inside_its_period_folder():
    stored = stored_file_path("sales", "2026-11-02", "xlsx", RUN_ID)
    assert pointer_text(PurePosixPath(*stored.parts[-2:])) == "3f2a9c1e/sales_2026-11-02.xlsx\n"
    assert pointed_file("sales", "2026-11-02", "3f2a9c1e/sales_2026-11-02.xlsx\n") == stored


@pytest.mark.parametrize("key", ["..", ".", "", "/"])
def test_a_period_key_that_would_leave_the_report_folder_is_refused(key):
    with pytest.raises(ValueError, match="not a period key"):
        stored_file_path("sales", key, "csv", RUN_ID)


@pytest.mark.parametrize("text", ["", "../other/x.csv", "a/b/c.csv", "x.csv"])
def test_a_pointer_that_is_not_one_of_ours_points_nowhere(text):
    assert pointed_file("sales", "2026-11-02", text) is None


@given(st.text(max_size=40))
def test_a_period_slug_never_leaves_its_folder(key):
    slug = period_slug(key)
    assert "/" not in slug and "\\" not in slug
    assert set(slug) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
