"""The marker sensor of a broken report file: a name of its own, its errors in view."""

import pytest
from dagster import DefaultSensorStatus, build_sensor_context

from reports_pipeline.sensors.invalid_report_file import (
    InvalidReportFile,
    build_invalid_report_file_sensor,
    invalid_file_sensor_name,
    invalid_file_sensor_names,
)
from reports_pipeline.spec.yaml_source import SpecError


def test_a_file_alone_keeps_its_readable_name():
    assert invalid_file_sensor_name("reports/finance/daily.yaml") == (
        "invalid_report_file__reports_finance_daily_yaml"
    )


@pytest.mark.parametrize(
    "files",
    [
        ["finance/daily.yaml", "finance_daily.yaml"],
        ["a-b.yaml", "a_b.yaml"],
        ["Bad.yaml", "bad.yaml"],
        ["finance/daily.yaml", "finance_daily.yaml", "finance-daily.yaml", "Finance.Daily.yaml"],
    ],
)
def test_files_whose_slugs_collide_get_distinct_names(files):
    names = invalid_file_sensor_names(files)
    assert len(set(names.values())) == len(files)
    assert all(name.startswith("invalid_report_file__") for name in names.values())


def test_a_collision_does_not_rename_files_that_do_not_collide():
    names = invalid_file_sensor_names(["a-b.yaml", "a_b.yaml", "other.yaml"])
    assert names["other.yaml"] == "invalid_report_file__other_yaml"
    assert names["a-b.yaml"].startswith("invalid_report_file__a_b_yaml_")


def test_long_paths_that_share_a_prefix_stay_distinct_and_short():
    stem = "team/" + "very_long_folder_name/" * 10
    files = [f"{stem}first.yaml", f"{stem}second.yaml"]
    names = invalid_file_sensor_names(files)
    assert len(set(names.values())) == 2
    assert all(len(name) <= 120 for name in names.values())


def test_the_sensor_shows_the_errors_and_every_tick_fails_with_them_one_per_line():
    errors = [
        SpecError("r.yaml", 3, "format", "unknown format 'docx'"),
        SpecError("r.yaml", 7, "owner", "value is not a valid email address"),
    ]
    sensor = build_invalid_report_file_sensor("r.yaml", errors)
    assert sensor.default_status == DefaultSensorStatus.RUNNING
    assert "r.yaml:3: format: unknown format 'docx'" in sensor.description
    with pytest.raises(InvalidReportFile) as raised:
        sensor(build_sensor_context())
    assert str(raised.value).splitlines() == [
        "r.yaml:3: format: unknown format 'docx'",
        "r.yaml:7: owner: value is not a valid email address",
    ]


def test_thousands_of_errors_are_summed_up_not_all_shown():
    errors = [SpecError("r.yaml", line, "to", "not an address") for line in range(1, 5001)]
    sensor = build_invalid_report_file_sensor("r.yaml", errors, "invalid_report_file__r_yaml")
    assert sensor.name == "invalid_report_file__r_yaml"
    assert "r.yaml:50: to" in sensor.description and "r.yaml:51: to" not in sensor.description
    assert "… and 4950 more; run `reports validate`" in sensor.description
