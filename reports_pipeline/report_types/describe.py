"""A report type in words: what ``reports types`` prints, from its docstring and params model."""

import textwrap

from reports_pipeline.report_types.registry import SHIPPED, installed_origin, load_report_type


def _type_name(annotation) -> str:
    return annotation.__name__ if isinstance(annotation, type) else str(annotation)


def describe_report_type(name: str) -> list[str]:
    """Lines naming the type, where it comes from, what it does, and each parameter with its
    type, default and description. Raises ``ReportTypeError`` if it cannot be loaded."""
    kind = load_report_type(name)
    origin = "shipped" if name in SHIPPED else installed_origin(name)
    lines = [f"{name} ({origin}; connections of kind {', '.join(kind.connection_kinds)})"]
    lines += [f"  {line}" for line in textwrap.wrap(" ".join(kind.description.split()), 92)]
    fields = kind.params.model_fields
    lines.append("  params:" if fields else "  params: none")
    for field_name, field in fields.items():
        default = (
            "required"
            if field.is_required()
            else f"default {field.get_default(call_default_factory=True)!r}"
        )
        about = f": {field.description}" if field.description else ""
        lines.append(f"    {field_name} ({_type_name(field.annotation)}, {default}){about}")
    return lines
