"""What `reports check` finds without a database: unsupplied parameters, the columns a report
names, and the file line of a query line."""

from pathlib import Path
from types import SimpleNamespace

from reports_pipeline.report_query_check import (
    UsedColumn,
    _file_line,
    check_queries,
    columns_used,
    unbound_parameters,
)
from reports_pipeline.spec.connections import ConnectionsFile
from reports_pipeline.spec.report import ReportSpec
from reports_pipeline_tests.report_files import report_dict


def test_unbound_parameters_are_those_neither_params_nor_the_period_supply():
    sql = (
        "select :status, :statuss, :statuss as again, x::text\n"
        "from t -- :in_a_comment\n"
        "where note = ':in_a_string' and d >= :period_start and d < :period_end"
    )
    assert list(unbound_parameters(sql, {"status": "paid"})) == [("statuss", sql.index(":statuss"))]


def test_every_parameter_supplied_is_none_unbound():
    assert list(unbound_parameters("select :a, :b", {"a": 1, "b": 2})) == []


def test_the_chart_of_a_pdf_names_columns():
    spec = ReportSpec.model_validate(
        report_dict(format="pdf", format_options={"chart": {"type": "bar", "x": "day", "y": "n"}})
    )
    assert columns_used(spec) == [
        UsedColumn(("format_options", "chart", "x"), "day", numeric=False),
        UsedColumn(("format_options", "chart", "y"), "n", numeric=True),
    ]
    assert columns_used(ReportSpec.model_validate(report_dict(format="csv"))) == []


def test_a_query_line_is_a_file_line_in_a_literal_block_only(tmp_path: Path):
    block = tmp_path / "block.yaml"
    block.write_text("source:\n  sql: |-  # the query\n    select 1\n    from t\n")
    assert _file_line(block, 2, 2) == 4
    quoted = tmp_path / "quoted.yaml"
    quoted.write_text('source:\n  sql: "select 1\n    from t"\n')
    assert _file_line(quoted, 2, 2) == 2


def test_a_report_without_sql_is_not_checked():
    # A registered report type (source: {report_type: ...}) has no query for a database to plan.
    typed = SimpleNamespace(spec=SimpleNamespace(name="aging", source=SimpleNamespace()))
    result = check_queries([typed], ConnectionsFile().with_builtins())
    assert (result.errors, result.checked, result.skipped) == ([], 0, ["aging"])


def test_the_totals_a_document_template_reads(tmp_path: Path):
    (tmp_path / "own.html.j2").write_text(
        "{{ totals.amount }} {{ totals['n'] }} {{ totals.amount }} {{ totals.items() }}"
        " {{ other.x }} {{ totals[name] }}"
    )
    spec = ReportSpec.model_validate(
        report_dict(format="html", format_options={"template": "own.html.j2"})
    )
    template = ("format_options", "template")
    assert columns_used(spec, tmp_path) == [
        UsedColumn(template, "amount", numeric=True, used_as="totals.amount"),
        UsedColumn(template, "n", numeric=True, used_as="totals['n']"),
    ]
