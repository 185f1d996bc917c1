"""Relative paths written in ``connections.yaml`` mean "beside this file", wherever the command
runs from: ``reports run`` started in another folder must find the same warehouse, outbox and
report files as ``dagster dev`` started at the repository root, not create new ones.

A value that comes from an environment variable is the shell's, and means what the shell user
expects: relative to the working directory of the process (left as is here). Only a value
written in the file, or an ``{env: X, default: ./relative}`` default, is anchored.
"""

import os
import re
from pathlib import Path

from pydantic import BaseModel

from reports_pipeline.spec import connections as kinds
from reports_pipeline.spec.values import EnvRef

# The path-like fields of each model; the SQL url is a database URL whose file part is a path.
PATH_FIELDS: dict[type[BaseModel], tuple[str, ...]] = {
    kinds.DemoWarehouseConnection: ("path",),
    kinds.OutboxConnection: ("path",),
    kinds.SmtpConnection: ("ca_file",),
    kinds.SftpConnection: ("known_hosts",),
    kinds.LocalStorage: ("path",),
    kinds.S3Storage: ("path",),
}

# sqlite:///relative.db and duckdb:///relative.duckdb: three slashes then a relative file (four
# slashes is an absolute one). The driver suffix (sqlite+pysqlite) and the query are kept.
_FILE_URL = re.compile(r"^(?P<scheme>(?:sqlite|duckdb)(?:\+\w+)?:///)(?P<file>[^?]*)(?P<rest>.*)$")
_NOT_A_FILE = ("", ":memory:")


def anchored_path(text: str, folder: Path) -> str:
    """``text`` joined to ``folder`` when relative (``~`` is the user's home, as in a shell)."""
    path = Path(text).expanduser()
    if not text or path.is_absolute():
        return str(path) if text else text
    return os.path.normpath(folder / path)


def anchored_url(url: str, folder: Path) -> str:
    """A SQLite or DuckDB URL whose database file is relative, made to point beside ``folder``;
    any other URL unchanged."""
    match = _FILE_URL.match(url)
    if not match or match["file"] in _NOT_A_FILE or match["file"].startswith(("/", "file:")):
        return url
    return f"{match['scheme']}{anchored_path(match['file'], folder)}{match['rest']}"


def _anchored_setting(value, folder: Path, anchor):
    if isinstance(value, str):
        return anchor(value, folder)
    if isinstance(value, EnvRef) and value.default is not None:
        return value.model_copy(update={"default": anchor(value.default, folder)})
    return value  # None, or from the environment without a default: the process's own


def _anchored_model(model: BaseModel, folder: Path) -> BaseModel:
    if isinstance(model, kinds.SqlConnection):
        return model.model_copy(update={"url": _anchored_setting(model.url, folder, anchored_url)})
    fields = PATH_FIELDS.get(type(model), ())
    changes = {
        name: _anchored_setting(getattr(model, name), folder, anchored_path) for name in fields
    }
    return model.model_copy(update=changes) if changes else model


def anchored_connections(settings: kinds.ConnectionsFile, folder: Path) -> kinds.ConnectionsFile:
    """``settings`` with every relative path (and SQLite/DuckDB file) resolved against
    ``folder``, the folder holding ``connections.yaml``."""
    folder = folder.resolve()
    connections = {
        name: _anchored_model(model, folder) for name, model in settings.connections.items()
    }
    return settings.model_copy(
        update={"connections": connections, "storage": _anchored_model(settings.storage, folder)}
    )
