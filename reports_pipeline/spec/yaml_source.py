"""YAML parsing that remembers where every value came from, so errors can name a line."""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class SpecError:
    """One problem in one file, printed as ``FILE:LINE: field: message``."""

    file: str
    line: int
    field: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{self.field or '(file)'}: {self.message}"


class SpecFileError(Exception):
    """Raised with every :class:`SpecError` found in one file."""

    def __init__(self, errors: list[SpecError]):
        self.errors = errors
        super().__init__("\n".join(str(error) for error in errors))


@dataclass
class YamlDocument:
    """A parsed YAML mapping plus the line (1-based) of each key path within it."""

    path: str
    data: Any
    lines: dict[Location, int] = field(default_factory=dict)

    def line_of(self, location: Location) -> int:
        """The line of ``location``, or of its closest parent that has one."""
        for end in range(len(location), -1, -1):
            line = self.lines.get(tuple(location[:end]))
            if line:
                return line
        return 1


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe loader with YAML 1.2 scalars that refuses duplicate keys.

    PyYAML follows YAML 1.1, where ``on: monday`` has the key ``True`` and ``at: 9:30`` is the
    integer 570. Analysts write both, so only ``true``/``false`` are booleans here and numbers
    with colons stay strings.
    """

    yaml_implicit_resolvers = {
        first: [
            (tag, regexp)
            for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int")
        ]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key '{key}' (first on line {seen[key]})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9][0-9_]*|0x[0-9a-fA-F_]+|0o[0-7_]+)$"),
    list("-+0123456789"),
)
_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _record_lines(node: yaml.Node, location: Location, lines: dict[Location, int]) -> None:
    lines.setdefault(location, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = location + (str(key_node.value),)
            lines[child] = key_node.start_mark.line + 1
            _record_lines(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, location + (index,), lines)


def parse_yaml_text(text: str, path: str) -> YamlDocument:
    """Parse one YAML document; a syntax error becomes a :class:`SpecFileError` with its line."""
    loader = _UniqueKeyLoader(text)
    try:
        # Parse once: the node tree gives the lines, and the data is constructed from it.
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or str(exc)
        if exc.context and "duplicate key" not in problem:
            problem = f"{exc.context}, {problem}"
        raise SpecFileError(
            [SpecError(path, line, "", f"YAML syntax error: {problem}; fix the YAML at this line")]
        ) from None
    except yaml.YAMLError as exc:
        raise SpecFileError([SpecError(path, 1, "", f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()
    lines: dict[Location, int] = {}
    if node is not None:
        _record_lines(node, (), lines)
    return YamlDocument(path=path, data=data, lines=lines)


def read_yaml_file(path: Path, shown_as: str | None = None) -> YamlDocument:
    """Read and parse ``path``; ``shown_as`` is the name used in error messages."""
    name = shown_as or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SpecFileError(
            [SpecError(name, 1, "", "file is not UTF-8 text; save it as UTF-8")]
        ) from None
    except OSError as exc:
        raise SpecFileError([SpecError(name, 0, "", f"cannot read file: {exc.strerror}")]) from None
    return parse_yaml_text(text, name)
