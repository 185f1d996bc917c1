"""A report's query names its parameters in code, never inside quotes, where they are text."""

from reports_pipeline.warehouse.placeholders import quoted_placeholders


def check_no_quoted_parameters(sql: str, parameters: set[str]) -> None:
    """Raise ``ValueError`` when a parameter is written inside a string literal.

    ``'%:pat%'`` is the text ``%:pat%`` on every warehouse (placeholders.py): refusing it tells
    the author that the value was never used, and how to write what they meant.
    """
    for found in quoted_placeholders(sql):
        if found.part == "string" and found.name in parameters:
            raise ValueError(
                f"':{found.name}' is inside a string literal, where it is text and not the"
                f" parameter; concatenate it instead, e.g. like '%' || :{found.name} || '%'"
            )
