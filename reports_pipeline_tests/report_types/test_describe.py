"""``reports types``: each type with where it comes from, what it does and its parameters."""

from click.testing import CliRunner

from reports_pipeline.report_types.describe import describe_report_type
from reports_pipeline.types_command import types


def test_a_shipped_type_lists_its_params_with_types_defaults_and_descriptions():
    lines = describe_report_type("top_customers")
    assert lines[0] == "top_customers (shipped; connections of kind sql, demo)"
    assert "    limit (int, default 10): How many customers to list." in lines


def test_an_installed_type_names_its_package_and_required_params(acme_installed):
    lines = describe_report_type("audit_actions")
    assert lines[0] == (
        "audit_actions (installed: acme_report_types:audit_actions (package acme-report-types);"
        " connections of kind sql, demo)"
    )
    assert "    actions (list[str], required): Actions to count, e.g. [grant, revoke]." in lines


def test_the_command_lists_every_type(acme_installed):
    result = CliRunner().invoke(types, [])
    assert result.exit_code == 0
    firsts = [line.split(" ")[0] for line in result.output.splitlines() if not line[0].isspace()]
    assert firsts == ["audit_actions", "invoice_aging", "top_customers"]


def test_an_unknown_name_fails_with_the_known_ones():
    result = CliRunner().invoke(types, ["invoice_agin"])
    assert result.exit_code == 1
    assert "unknown report type 'invoice_agin'; known types: invoice_aging" in result.output
