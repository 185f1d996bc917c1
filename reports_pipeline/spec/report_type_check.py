"""A report file's ``source.report_type`` and ``source.params`` against the registered type."""

from dataclasses import replace

from pydantic import ValidationError

from reports_pipeline.report_types.registry import ReportTypeError, load_report_type
from reports_pipeline.spec.errors import validation_errors
from reports_pipeline.spec.report import ReportSpec
from reports_pipeline.spec.yaml_source import SpecError, YamlDocument


def report_type_errors(spec: ReportSpec, document: YamlDocument) -> list[SpecError]:
    """Unknown or unloadable type at ``source.report_type``; unknown, missing or mistyped
    parameters at ``source.params.<name>``. Imports the type's module (once per process)."""
    name = spec.source.report_type
    if name is None:
        return []
    try:
        kind = load_report_type(name)
    except ReportTypeError as exc:
        location = ("source", "report_type")
        return [
            SpecError(document.path, document.line_of(location), "source.report_type", str(exc))
        ]
    try:
        kind.params.model_validate(spec.source.params)
    except ValidationError as exc:
        errors = validation_errors(exc, document, kind.params, prefix=("source", "params"))
        return [_as_parameter(error, name) for error in errors]
    return []


def _as_parameter(error: SpecError, type_name: str) -> SpecError:
    """Says "parameter" where the generic wording says "field", and names the type."""
    message = error.message
    if message.startswith("unknown field "):
        name, _, rest = message[len("unknown field ") :].partition("; ")
        message = f"unknown parameter {name} of {type_name}; {rest}"
    elif message.startswith("required field is missing"):
        message = f"{type_name} requires this parameter; add it"
    return replace(error, message=message)


def source_connection_kinds(spec: ReportSpec, sql_kinds: tuple[str, ...]) -> tuple[str, ...]:
    """The connection kinds the report's source can query: its type's, or ``sql_kinds``."""
    if spec.source.report_type is None:
        return sql_kinds
    return load_report_type(spec.source.report_type).connection_kinds
