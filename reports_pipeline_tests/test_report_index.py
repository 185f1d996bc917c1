"""The name scan: a cheap hint at which file declares a report, checked by a real load later."""

from reports_pipeline.report_index import declared_name, files_declaring
from reports_pipeline_tests.report_files import report_dict, write_report


def test_a_top_level_name_line_is_seen_plain_quoted_or_commented():
    assert declared_name(b"owner: a@example.com\nname: daily_sales\n") == "daily_sales"
    assert declared_name(b"name: 'daily_sales'\n") == "daily_sales"
    assert declared_name(b'name: "daily_sales"  # the job name\n') == "daily_sales"


def test_nested_or_flow_style_names_are_not_guessed():
    assert declared_name(b"source:\n  name: nested\n") is None
    assert declared_name(b"{name: flow}\n") is None
    assert declared_name(b"name: 'unbalanced\n") is None


def test_files_declaring_a_name_come_in_load_order(tmp_path):
    reports = tmp_path / "reports"
    second = write_report(reports / "b", report_dict(name="shared"), "shared.yaml")
    first = write_report(reports / "a", report_dict(name="shared"), "shared.yaml")
    write_report(reports, report_dict(name="shared_more"), "other.yaml")
    assert files_declaring("shared", [reports]) == [first, second]
    assert files_declaring("missing", [reports]) == []


def test_a_file_over_the_size_limit_is_not_read_whole_nor_taken_as_the_one(tmp_path):
    reports = tmp_path / "reports"
    kept = write_report(reports, report_dict(name="shared"), "kept.yaml")
    (reports / "huge.yaml").write_text("name: shared\n# " + "x" * 1_100_000 + "\n")
    # The full load refuses the huge file, so the scan must not count it as a claimant either.
    assert files_declaring("shared", [reports]) == [kept]
