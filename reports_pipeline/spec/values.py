"""YAML values that may come from the environment: ``{env: VAR}``, ``{env: VAR, default: x}``."""

import os
import re

from pydantic import BaseModel, ConfigDict, field_validator

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


Secret = EnvRef
"""A value that must come from the environment (passwords, tokens, URLs with credentials)."""

Setting = str | EnvRef
"""A plain value, or one taken from the environment."""


def resolve_setting(value: Setting | None) -> str | None:
    """Resolve a non-secret setting now (storage paths and the like)."""
    if value is None or isinstance(value, str):
        return value
    return os.environ.get(value.env, value.default)
