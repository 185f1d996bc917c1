"""Finding report types: shipped names, installed entry points, and what goes wrong."""

import sys
from importlib.metadata import EntryPoint

import pytest

from reports_pipeline.report_types import ReportTypeParams, registry, report_type
from reports_pipeline.report_types.registry import (
    ENTRY_POINT_GROUP,
    ReportTypeError,
    forget_installed_types,
    load_report_type,
)

TEAM_MODULE = '''
from reports_pipeline.report_types import ReportTypeParams, report_type

class Params(ReportTypeParams):
    n: int = 1

@report_type(params=Params)
def counted(run):
    """Counts."""
    yield from ()

@report_type(connection_kinds=["sql"])
def warehouse_only(run):
    """Reads a real warehouse."""
    yield from ()

not_a_type = 42
'''


@pytest.fixture
def installed(monkeypatch, tmp_path):
    """Install entry points ``{name: value}`` (a module ``team_types`` is importable)."""
    (tmp_path / "team_types.py").write_text(TEAM_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))

    def install(*entries: tuple[str, str]) -> None:
        points = [EntryPoint(name, value, ENTRY_POINT_GROUP) for name, value in entries]
        monkeypatch.setattr(registry, "entry_points", lambda group: points)
        forget_installed_types()

    yield install
    forget_installed_types()
    sys.modules.pop("team_types", None)


def test_a_shipped_type_loads_with_its_params_model():
    aging = load_report_type("invoice_aging")
    assert aging.params.__name__ == "InvoiceAgingParams"
    assert aging.connection_kinds == ("sql", "demo")
    assert aging.description.startswith("Open invoices at the period's end")


def test_an_installed_type_loads_from_its_entry_point(installed):
    installed(("counted", "team_types:counted"))
    assert load_report_type("counted").description == "Counts."


def test_one_package_seen_twice_is_one_type(installed):
    installed(("counted", "team_types:counted"), ("counted", "team_types:counted"))
    assert load_report_type("counted").params.__name__ == "Params"


def test_two_packages_claiming_a_name_are_an_error(installed):
    installed(("counted", "team_types:counted"), ("counted", "other_types:counted"))
    with pytest.raises(ReportTypeError, match="registered by 2 installed packages"):
        load_report_type("counted")


def test_a_shipped_name_is_not_taken_by_a_package(installed):
    installed(("invoice_aging", "team_types:counted"))
    assert load_report_type("invoice_aging").params.__name__ == "InvoiceAgingParams"


def test_an_object_that_is_not_a_type_says_how_to_make_one(installed):
    installed(("broken", "team_types:not_a_type"))
    with pytest.raises(ReportTypeError, match=r"is a int, not a report type; decorate"):
        load_report_type("broken")


def test_a_module_that_fails_to_import_is_named(installed):
    installed(("missing", "no_such_module:thing"))
    with pytest.raises(ReportTypeError, match=r"\(no_such_module:thing\) could not be loaded"):
        load_report_type("missing")


def test_params_must_forbid_unknown_names():
    from pydantic import BaseModel

    class Loose(BaseModel):
        n: int = 1

    with pytest.raises(TypeError, match="subclass reports_pipeline.report_types.ReportTypeParams"):
        report_type(params=Loose)


def test_a_type_without_params_takes_none():
    @report_type()
    def nothing(run):
        yield from ()

    assert nothing.params is ReportTypeParams
    with pytest.raises(ValueError):
        nothing.params.model_validate({"x": 1})


@pytest.mark.parametrize("kinds", [(), ("smtp",), ("sql", "s3")])
def test_a_type_queries_sql_connections_only(kinds):
    with pytest.raises(TypeError, match="must be one or more of sql, demo"):
        report_type(connection_kinds=kinds)


def test_a_type_may_narrow_its_connections_to_real_warehouses():
    @report_type(connection_kinds=["sql"])
    def warehouse_only(run):
        yield from ()

    assert warehouse_only.connection_kinds == ("sql",)


def test_a_report_on_a_connection_the_type_does_not_query_is_an_error(installed, tmp_path):
    from reports_pipeline.spec.loader import load_project
    from reports_pipeline_tests.report_files import report_dict, write_report

    installed(("warehouse_only", "team_types:warehouse_only"))
    write_report(tmp_path, report_dict(source={"report_type": "warehouse_only"}), "r.yaml")
    (error,) = load_project([tmp_path], None).errors
    assert str(error).endswith(
        "r.yaml:3: source.connection: connection 'demo_warehouse' is kind demo; report type"
        " warehouse_only needs kind sql"
    )
