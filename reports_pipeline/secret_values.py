"""Which values are secrets: credential fields of connections, and the secret parts of URLs.

A connection field typed ``Secret`` (``reports_pipeline.spec.values.Secret``: an ``EnvRef``
without a default, not ``str | EnvRef``) is a secret by declaration; a URL's password and its
secret query parameters are secrets wherever the URL is written. One list of parameter names
serves both the check that refuses them in ``connections.yaml`` and the scrubbing of messages
(``redaction.py``).
"""

import os
import re
import types
import typing
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import BaseModel

from reports_pipeline.spec.values import EnvRef, Secret

# Query parameters and header names that carry credentials: ?password=, ?token=, ?api_key=,
# Azure's ?sig= and ?code=, S3's X-Amz-Signature / X-Amz-Credential / X-Amz-Security-Token,
# Google's ?key=. sslkey= (a file path) and authenticator= (a method) are not secrets.
# Names are at most 64 characters either side of the telling word: bounded, a long run of
# letters in a text (a base64 blob) costs linear time to scan.
SECRET_NAME_PATTERN = (
    r"[\w.-]{0,64}?(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|apikey"
    r"|signature|credential|authorization|cookie)[\w.-]{0,64}"
    r"|(?:pass|key|sig|code|auth)(?![\w.-])"
)
_SECRET_NAME = re.compile(rf"(?i)(?:{SECRET_NAME_PATTERN})")


def is_secret_name(name: str) -> bool:
    """Whether a query parameter, header or field called ``name`` carries a credential."""
    return _SECRET_NAME.fullmatch(name) is not None


def url_secrets(url: str | None) -> set[str]:
    """The secrets inside ``url``: its password and the values of its secret query parameters,
    both as written and decoded."""
    if not url:
        return set()
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL (a bad port and the like): nothing to pick out
        return set()
    found = {password, unquote(password)} if password else set()
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if is_secret_name(name) and value:
            found.add(value)
    for raw in parts.query.split("&"):
        name, _, value = raw.partition("=")
        if is_secret_name(unquote(name)) and value:
            found.add(value)
    return found


def url_secret_problem(url: str) -> str | None:
    """What makes a URL written in YAML hold a secret (its password, a secret query
    parameter), else None. Never repeats the secret itself."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return None  # not a URL: the field's own checks say so
    if password:
        return "the URL contains a password"
    names = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
    secret = next((name for name in names if is_secret_name(name)), None)
    if secret:
        return f"the URL's query string has a secret ({secret}=…)"
    return None


def _declared_secret(annotation) -> bool:
    """``Secret`` or ``Secret | None``: a field that only an environment variable may set."""
    if annotation is Secret:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = [a for a in typing.get_args(annotation) if a is not type(None)]
        return kinds == [Secret]
    return False


def _resolved(ref: EnvRef) -> set[str]:
    return {value for value in (os.environ.get(ref.env), ref.default) if value}


def connection_secrets(connection: BaseModel) -> set[str]:
    """The secret values of one connection, resolved from this process's environment:
    fields declared as secrets, and the secrets inside any ``*url`` field."""
    found: set[str] = set()
    for name, info in type(connection).model_fields.items():
        value = getattr(connection, name)
        if isinstance(value, EnvRef):
            if _declared_secret(info.annotation):
                found |= _resolved(value)
            elif name.endswith("url"):
                for url in _resolved(value):
                    found |= url_secrets(url)
        elif isinstance(value, BaseModel):  # webhook auth: bearer, basic, api_key
            found |= connection_secrets(value)
        elif isinstance(value, str) and name.endswith("url"):
            found |= url_secrets(value)
    return found


def secrets_in_scope(connections: Iterable[BaseModel]) -> set[str]:
    """Every secret of the given connections (a deployment's ``connections.yaml``)."""
    found: set[str] = set()
    for connection in connections:
        if isinstance(connection, BaseModel):
            found |= connection_secrets(connection)
    return found


def secret_free_url(value, variable: str):
    """``value`` unchanged unless it is a URL written in YAML with a secret in it (a password,
    ``?token=``…): that is refused like a literal password."""
    problem = url_secret_problem(value) if isinstance(value, str) else None
    if problem:
        raise ValueError(
            f"{problem}; a secret is never written in YAML: put the whole URL in an environment"
            f" variable and write {{env: {variable}}} here"
        )
    return value
