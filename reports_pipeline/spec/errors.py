"""Turn pydantic validation errors into messages that name the field and say what would be right."""

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from reports_pipeline.spec.yaml_source import Location, SpecError, YamlDocument


def field_path(location: Location) -> str:
    """``("deliver", 0, "email", "to")`` → ``deliver[0].email.to``."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_models_in(arg))
    if isinstance(annotation, types.UnionType):
        for arg in annotation.__args__:
            found.extend(_models_in(arg))
    return found


def _fields_at(model: type[BaseModel], location: Location) -> list[str]:
    """Names a user may write at ``location`` inside ``model`` (aliases included)."""
    models = [model]
    for part in location:
        if isinstance(part, int):
            continue
        next_models: list[type[BaseModel]] = []
        for current in models:
            field = _field_by_name(current, part)
            if field is not None:
                next_models.extend(_models_in(field.annotation))
        if not next_models:
            return []
        models = next_models
    names: list[str] = []
    for current in models:
        for name, field in current.model_fields.items():
            names.append(field.alias or name)
    return sorted(set(names))


def _field_by_name(model: type[BaseModel], name: str):
    for field_name, field in model.model_fields.items():
        if name in (field_name, field.alias):
            return field
    return None


def _describe(error: dict, model: type[BaseModel]) -> str:
    kind = error["type"]
    location = tuple(error["loc"])
    message = error["msg"]
    if kind == "missing":
        return "required field is missing; add it"
    if kind == "extra_forbidden":
        unknown = str(location[-1])
        allowed = _fields_at(model, location[:-1])
        close = difflib.get_close_matches(unknown, allowed, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        listing = f"allowed here: {', '.join(allowed)}" if allowed else "remove it"
        return f"unknown field '{unknown}'; {hint}{listing}"
    if message.startswith("Value error, "):
        return message[len("Value error, ") :]
    if message.startswith("Assertion failed, "):
        return message[len("Assertion failed, ") :]
    received = error.get("input")
    if kind in ("literal_error", "enum") or kind.endswith("_type") or kind.endswith("_parsing"):
        shown = (
            repr(received) if not isinstance(received, (dict, list)) else type(received).__name__
        )
        return f"{message[0].lower()}{message[1:]} (got {shown})"
    return message


def _strip_union_tags(location: tuple) -> Location:
    """Pydantic adds discriminator tags (``'smtp'``) and function names to locations; drop them."""
    cleaned: list[str | int] = []
    for part in location:
        if isinstance(part, str) and ("[" in part or part.startswith("function-")):
            continue
        cleaned.append(part)
    return tuple(cleaned)


def validation_errors(
    exc: ValidationError,
    document: YamlDocument,
    model: type[BaseModel],
    prefix: Location = (),
) -> list[SpecError]:
    """One :class:`SpecError` per pydantic error, located in ``document``."""
    errors = []
    for error in exc.errors(include_url=False):
        raw = tuple(error["loc"])
        cleaned = _strip_union_tags(raw)
        if error["type"] == "extra_forbidden" and raw:
            # The last part is the analyst's own key, whatever it looks like (`[`, `x[0]`).
            cleaned = _strip_union_tags(raw[:-1]) + raw[-1:]
        location = prefix + cleaned
        error = {**error, "loc": cleaned}
        errors.append(
            SpecError(
                file=document.path,
                line=document.line_of(location),
                field=field_path(location),
                message=_describe(error, model),
            )
        )
    return errors
