import pytest

from reports_pipeline.spec.loader import load_project
from reports_pipeline.spec.sql_parameters import check_no_quoted_parameters
from reports_pipeline_tests.report_files import report_dict, write_report


def test_a_report_with_a_parameter_inside_a_string_literal_is_refused_with_the_fix(tmp_path):
    source = {
        "sql": "select name from customers\nwhere name like '%:pat%'",
        "params": {"pat": "acme"},
    }
    write_report(tmp_path / "reports", report_dict(source=source))
    (error,) = load_project([tmp_path / "reports"], None).errors
    assert "test_report.yaml" in str(error) and "source" in str(error)
    assert "':pat' is inside a string literal" in str(error)
    assert "'%' || :pat || '%'" in str(error)


@pytest.mark.parametrize(
    "sql",
    [
        "select * from t where d >= ':period_start'",
        "select * from t where name like E'%:pat'",
        "select * from t where name like $$%:pat$$",
    ],
)
def test_a_bound_name_in_any_string_literal_is_refused(sql):
    with pytest.raises(ValueError, match="inside a string literal"):
        check_no_quoted_parameters(sql, {"pat", "period_start"})


@pytest.mark.parametrize(
    "sql",
    [
        "select * from t where name like '%' || :pat || '%'",
        "select '09:00:00' as at, ':other' as text_with_a_colon from t where a = :pat",
        "select 1 -- compare with :pat\n",
        'select 1 as ":pat"',
    ],
)
def test_parameters_in_code_and_colons_that_name_no_parameter_are_fine(sql):
    check_no_quoted_parameters(sql, {"pat", "period_start"})
