"""Text a spreadsheet would run as a formula, and its escape: a leading ``'`` (OWASP).

Excel, LibreOffice and Google Sheets read a cell starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return as a formula: ``=HYPERLINK(...)`` or ``=WEBSERVICE(...)`` in a value
from the warehouse would run on the reader's machine. Only text is concerned: number columns
are never touched, and text that is just a signed number (``-12.5``, ``+3``) is left as it is,
since a spreadsheet reads it as that number and runs nothing.

The rule exists twice, for Python strings (xlsx cells) and for Arrow arrays (csv columns);
the tests check that the two agree.
"""

import re

import pyarrow as pa
import pyarrow.compute as pc

FORMULA_FIRST_CHARACTERS = "=+-@\t\r"
ESCAPE = "'"
_NUMBER = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
_NUMBER_PATTERN = re.compile(_NUMBER)
_STARTS_LIKE_A_FORMULA = "^[=+\\-@\\t\\r]"


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet would take ``text`` for a formula."""
    return (
        bool(text)
        and text[0] in FORMULA_FIRST_CHARACTERS
        and _NUMBER_PATTERN.fullmatch(text) is None
    )


def formula_like(text: pa.Array) -> pa.Array:
    """Which values of a ``string`` or ``large_string`` array are formula-like (NULL: false)."""
    starts = pc.fill_null(pc.match_substring_regex(text, _STARTS_LIKE_A_FORMULA), False)
    if not pc.any(starts).as_py():  # most columns: one scan
        return starts
    number = pc.fill_null(pc.match_substring_regex(text, f"^{_NUMBER}$"), False)
    return pc.and_(starts, pc.invert(number))


def escape_formulas(text: pa.Array) -> pa.Array:
    """``text`` with ``'`` before every formula-like value; the array itself when there is none."""
    mask = formula_like(text)
    if not pc.any(mask).as_py():
        return text
    quote, nothing = pa.scalar(ESCAPE, text.type), pa.scalar("", text.type)
    escaped = pc.binary_join_element_wise(quote, pc.filter(text, mask), nothing)
    return pc.replace_with_mask(text, mask, escaped)
