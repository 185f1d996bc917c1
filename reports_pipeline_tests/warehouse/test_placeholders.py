import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from reports_pipeline.warehouse.placeholders import (
    bindable_text,
    placeholders,
    quoted_placeholders,
    segments,
)


@pytest.mark.parametrize(
    "sql",
    [
        "select * from t where name like '%:pat%'",
        "select * from t where name like E'\\':pat%'",
        "select * from t where name like $$:pat$$",
        "select * from t where name like $q$ $$ :pat $q$",
        'select ":pat" from t',
        "select 1 -- :pat\n",
        "select 1 /* outer /* :pat */ still a comment :pat */",
        "select U&':pat', x':pat', b':pat', N':pat'",
    ],
)
def test_a_name_inside_quotes_or_a_comment_is_not_a_parameter(sql):
    assert placeholders(sql) == []
    assert [found.name for found in quoted_placeholders(sql)] == ["pat"] * sql.count(":pat")


def test_names_in_code_are_parameters_and_casts_are_not():
    sql = "select a::int, $1 from t where b = :one and c = '::x' || :two and d$e$ = :three"
    assert placeholders(sql) == ["one", "two", "three"]


def test_standard_strings_take_no_backslash_escapes():
    # In a standard string, \ is a plain character: the literal ends at the second quote.
    assert placeholders("select 'a\\' || :pat || '\\'") == ["pat"]


def test_an_e_string_takes_backslash_escapes_and_an_identifier_ending_in_e_does_not():
    assert placeholders("select E'\\' || :pat || '") == []
    assert placeholders("select namE'x' || :pat") == ["pat"]


def test_an_unterminated_literal_runs_to_the_end():
    assert placeholders("select ':pat") == []
    assert placeholders("select /* :pat") == []


def test_bindable_text_keeps_quoted_colons_as_text_for_sqlalchemy():
    sql = "select ':pat', '::', a::int from t where b = :pat -- :other\n"
    compiled = text(bindable_text(sql)).compile()
    assert list(compiled.params) == ["pat"]
    assert compiled.string == sql


def test_a_colon_escaped_as_sqlalchemy_documents_stays_escaped():
    compiled = text(bindable_text("select '\\:x' where b = :pat")).compile()
    assert list(compiled.params) == ["pat"]
    assert compiled.string == "select ':x' where b = :pat"


@given(st.text())
def test_segments_cover_the_query_exactly(sql):
    assert "".join(segment.text for segment in segments(sql)) == sql


@given(st.text(alphabet=st.characters(blacklist_characters="'")))
def test_a_standard_literal_holds_whatever_it_quotes(inner):
    sql = f"select '{inner}' as v where 1 = :one"
    assert placeholders(sql) == ["one"]
