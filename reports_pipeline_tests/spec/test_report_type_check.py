"""``reports validate`` on reports whose source is a registered report type."""

from pathlib import Path

import pytest

from reports_pipeline.spec.loader import load_project
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report


def load(tmp_path: Path, source: dict, connections: dict | None = None):
    write_report(tmp_path / "reports", report_dict(source=source), "r.yaml")
    conn_file = write_connections(tmp_path, connections) if connections is not None else None
    return load_project([tmp_path / "reports"], conn_file)


def errors_of(tmp_path: Path, source: dict, connections: dict | None = None) -> list[str]:
    return [str(error) for error in load(tmp_path, source, connections).errors]


def test_a_shipped_type_with_good_params_is_valid(tmp_path):
    project = load(
        tmp_path,
        {"report_type": "invoice_aging", "params": {"buckets": [15, 45], "currency": "EUR"}},
    )
    assert project.errors == []
    assert project.reports[0].spec.source.report_type == "invoice_aging"


def test_a_type_without_params_takes_its_defaults(tmp_path):
    assert errors_of(tmp_path, {"report_type": "top_customers"}) == []


def test_an_unknown_type_lists_the_known_ones_at_its_line(tmp_path):
    (error,) = errors_of(tmp_path, {"report_type": "invoice_agin"})
    assert error.endswith(
        "r.yaml:4: source.report_type: unknown report type 'invoice_agin'; known types:"
        " invoice_aging, top_customers (others are added by installing a package with a"
        " 'reports_pipeline.report_types' entry point)"
    )


@pytest.mark.parametrize(
    "params, expected",
    [
        (
            {"limit": "many"},
            "source.params.limit: input should be a valid integer, unable to parse string as an"
            " integer (got 'many')",
        ),
        ({"limit": 0}, "source.params.limit: Input should be greater than or equal to 1"),
        (
            {"regon": "EMEA"},
            "source.params.regon: unknown parameter 'regon' of top_customers; did you mean"
            " 'region'? allowed here: currency, limit, region",
        ),
    ],
)
def test_bad_params_are_reported_at_their_line(tmp_path, params, expected):
    (error,) = errors_of(tmp_path, {"report_type": "top_customers", "params": params})
    assert error.endswith(f"r.yaml:6: {expected}")


def test_a_validator_of_the_type_explains_the_value(tmp_path):
    (error,) = errors_of(
        tmp_path, {"report_type": "invoice_aging", "params": {"buckets": [60, 30]}}
    )
    assert "source.params.buckets: buckets must be ascending without repeats" in error


def test_sql_and_report_type_are_exclusive(tmp_path):
    (error,) = errors_of(tmp_path, {"report_type": "top_customers", "sql": "select 1"})
    assert error.endswith(
        "r.yaml:3: source: a source has either sql: or report_type:, not both; keep the one to run"
    )


def test_a_source_without_either_names_both(tmp_path):
    (error,) = errors_of(tmp_path, {"params": {}})
    assert "a source needs sql: (the query to run) or report_type:" in error


def test_the_connection_must_be_of_a_kind_the_type_queries(tmp_path):
    connections = {"connections": {"drop": {"kind": "outbox", "path": str(tmp_path / "o")}}}
    (error,) = errors_of(
        tmp_path, {"report_type": "top_customers", "connection": "drop"}, connections
    )
    assert error.endswith(
        "source.connection: connection 'drop' is kind outbox; report type top_customers needs"
        " kind sql or demo"
    )
