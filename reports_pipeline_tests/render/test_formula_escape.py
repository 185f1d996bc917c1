import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports_pipeline.render.formula_escape import escape_formulas, formula_like, is_formula_like

# Texts near the rule's edges: trigger characters, digits, signs, dots, exponents, line breaks.
_EDGY_TEXT = st.text(alphabet=st.sampled_from("=+-@\t\r\n.eE0159 aA(\"'é٣"), max_size=8)


@pytest.mark.parametrize(
    "text",
    ["=1+1", "+A1", "-A1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=", "-", "+", "-1-", "-5\n", "-٣"],
)
def test_text_starting_like_a_formula_is_formula_like(text):
    assert is_formula_like(text)


@pytest.mark.parametrize(
    "text", ["", "plain", " =1+1", "1+1", "'=1", "-12.5", "+3", "-.5", "-1e5", "+2.", "-1E-3"]
)
def test_other_text_and_signed_numbers_are_not(text):
    assert not is_formula_like(text)


@given(st.lists(st.one_of(st.none(), _EDGY_TEXT, st.text(max_size=8)), max_size=20))
def test_python_and_arrow_agree(texts):
    array = pa.array(texts, pa.string())

    assert formula_like(array).to_pylist() == [
        text is not None and is_formula_like(text) for text in texts
    ]


@given(st.lists(st.one_of(st.none(), _EDGY_TEXT), max_size=20))
def test_the_escape_prefixes_exactly_the_formula_like_values(texts):
    escaped = escape_formulas(pa.array(texts, pa.large_string())).to_pylist()

    assert escaped == [
        None if text is None else "'" + text if is_formula_like(text) else text for text in texts
    ]
