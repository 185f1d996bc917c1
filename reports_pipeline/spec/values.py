"""YAML values with rules of their own: settings that may come from the environment
(``{env: VAR}``, ``{env: VAR, default: x}``), and numbers with a range."""

import math
import os
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator

from reports_pipeline.spec.durations import shown

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class EnvRef(BaseModel):
    """A reference to an environment variable, resolved at run time, never written in YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str
    default: str | None = None

    @field_validator("env")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError(f"'{value}' is not an environment variable name")
        return value


class Secret(EnvRef):
    """A value that must come from the environment (passwords, tokens, keys): ``{env: VAR}``.

    Without a default: a default would be the secret itself, written in the YAML file.
    """

    @field_validator("default")
    @classmethod
    def _no_default(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError(
                "a secret has no default (it would be the secret written in this file);"
                " set the environment variable instead"
            )
        return value


Setting = str | EnvRef
"""A plain value, or one taken from the environment."""


def resolve_setting(value: Setting | None) -> str | None:
    """Resolve a non-secret setting now (storage paths and the like)."""
    if value is None or isinstance(value, str):
        return value
    return os.environ.get(value.env, value.default)


def _number(value: object, minimum: float, maximum: float, whole: bool) -> int | float:
    """``value`` as a number in ``minimum..maximum``; ``ValueError`` naming the range if not.

    YAML booleans are refused (``on: true`` is not the 1st), as are ``.inf`` and ``.nan``, and
    for whole numbers a fraction.
    """
    kind = "a whole number" if whole else "a number"
    expected = f"expected {kind} from {minimum:,} to {maximum:,}"
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        value = int(value)  # a quoted number, or one from the environment
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{expected} (got {shown(value)})")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{expected} (got {shown(value)})")
        if whole:
            if not value.is_integer():
                raise ValueError(f"{expected} (got {shown(value)}, which has a fraction)")
            value = int(value)
    if not minimum <= value <= maximum:
        side = "at least" if value < minimum else "at most"
        limit = minimum if value < minimum else maximum
        raise ValueError(
            f"{shown(value)} is out of range: write {side} {limit:,} ({kind} from {minimum:,}"
            f" to {maximum:,})"
        )
    return value


def WholeNumber(minimum: int, maximum: int) -> Any:
    """A pydantic field type: an integer from ``minimum`` to ``maximum``, never a boolean."""
    return Annotated[int, BeforeValidator(lambda value: _number(value, minimum, maximum, True))]


def Number(minimum: float, maximum: float) -> Any:
    """A pydantic field type: a finite number from ``minimum`` to ``maximum``, never a boolean."""
    return Annotated[float, BeforeValidator(lambda value: _number(value, minimum, maximum, False))]
