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
        return _one_line(f"{where}: {prefix}{self.field or '(file)'}: {self.message}")


def _one_line(text: str) -> str:
    """``text`` with line breaks and other invisible characters escaped: one problem, one line,
    whatever keys or file names a file brings."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


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


# Bounds on what one report file may hold, so that no file can stall or crash the loading of
# the others. A real report is a few kilobytes, a few dozen values, and about five levels deep.
MAX_FILE_BYTES = 1_000_000
MAX_VALUES = 10_000  # YAML nodes (keys, values, list items), each alias counted as what it copies
MAX_DEPTH = 50

_MERGE_TAG = "tag:yaml.org,2002:merge"
_TOO_DEEP = f"values nested more than {MAX_DEPTH} levels deep; a report needs only a few"


class RefusedYamlError(yaml.MarkedYAMLError):
    """Well-formed YAML that report files do not accept (not a syntax error)."""

    def __init__(self, problem: str, mark: yaml.Mark):
        super().__init__(problem=problem, problem_mark=mark)


# libyaml's C parser turns the text into events about six times faster than PyYAML's own
# scanner and parser (the bulk of `reports validate` on thousands of files); the nodes are still
# composed here in Python, where the bounds on depth and size below apply.
try:
    from yaml._yaml import CParser as _EventParser
except ImportError:  # PyYAML built without libyaml: its own scanner and parser, slower

    class _EventParser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
        def __init__(self, text: str):
            yaml.reader.Reader.__init__(self, text)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)


class _ReportLoader(
    yaml.composer.Composer, _EventParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver
):
    """Safe loader with YAML 1.2 scalars, bounded in nesting and size, refusing duplicate keys.

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

    def __init__(self, text: str):
        _EventParser.__init__(self, text)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self._depth = 0
        self._composed = 0

    def compose_node(self, parent, index):
        # PyYAML composes recursively: stop at MAX_DEPTH, long before Python's recursion limit.
        mark = self.peek_event().start_mark
        if self._depth >= MAX_DEPTH:
            raise RefusedYamlError(_TOO_DEEP, mark)
        self._composed += 1
        if self._composed > MAX_VALUES:
            raise RefusedYamlError(
                f"more than {MAX_VALUES:,} values in one file; a report needs only a few dozen",
                mark,
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False):
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ArithmeticError, AttributeError, TypeError, ValueError):
            # PyYAML's scalar constructors raise these for `2026-02-30`, `!!int x`, ...
            shown = str(node.value) if isinstance(node, yaml.ScalarNode) else "this value"
            shown = shown if len(shown) <= 40 else f"{shown[:40]}…"
            kind = node.tag.rsplit(":", 1)[-1]
            raise RefusedYamlError(
                f"cannot read '{shown}' as {kind}; quote it to keep it as text", node.start_mark
            ) from None


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            raise RefusedYamlError(
                "merge keys (<<) are not supported; write the keys out, or share a whole value"
                " with an alias (key: *name)",
                key_node.start_mark,
            )
        if not isinstance(key_node, yaml.ScalarNode):
            raise RefusedYamlError(
                "a key must be a plain name, not a list or a mapping (`? ...` complex keys are"
                " not supported)",
                key_node.start_mark,
            )
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


_ReportLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_ReportLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9][0-9_]*|0x[0-9a-fA-F_]+|0o[0-7_]+)$"),
    list("-+0123456789"),
)


def _construct_int(loader: _ReportLoader, node: yaml.ScalarNode) -> int:
    # YAML 1.2 integers: `0700` is seven hundred (PyYAML's YAML 1.1 reads it as octal 448, and
    # an analyst's `at: 0700` would be reported as "448").
    text = loader.construct_scalar(node).replace("_", "")
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if digits.startswith("0x"):
        return sign * int(digits[2:], 16)
    if digits.startswith("0o"):
        return sign * int(digits[2:], 8)
    return sign * int(digits)


_ReportLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_ReportLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def check_alias_expansion(root: yaml.Node) -> None:
    """Refuse a node graph whose aliases expand past MAX_VALUES or MAX_DEPTH, or loop.

    A few hundred bytes of nested aliases ("billion laughs") stand for millions of values, and
    everything after parsing (line numbers, validation) walks the expanded tree. Sizes and
    depths are computed once per node, without recursion, so the check costs what the file does.
    """
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (values, depth) once expanded
    open_nodes: set[int] = set()  # nodes whose children are being sized: an alias to one loops
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            open_nodes.discard(id(node))
            children = [sizes[id(child)] for child in _children(node)]
            values = 1 + sum(size for size, _ in children)
            depth = 1 + max((depth for _, depth in children), default=0)
            if values > MAX_VALUES:
                raise RefusedYamlError(
                    f"aliases here expand to more than {MAX_VALUES:,} values; a report needs"
                    " only a few dozen: write the values out, or alias fewer of them",
                    node.start_mark,
                )
            if depth > MAX_DEPTH:
                raise RefusedYamlError(
                    f"aliases here nest values more than {MAX_DEPTH} levels deep;"
                    " a report needs only a few",
                    node.start_mark,
                )
            sizes[id(node)] = (values, depth)
        elif id(node) in open_nodes:
            raise RefusedYamlError(
                "an alias refers to a value that contains it; a value cannot include itself",
                node.start_mark,
            )
        elif id(node) not in sizes:
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))


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
    loader = None
    try:
        loader = _ReportLoader(text)
        # Parse once: the node tree gives the lines, and the data is constructed from it.
        node = loader.get_single_node()
        if node is not None:
            check_alias_expansion(node)
        data = loader.construct_document(node) if node is not None else None
    except RefusedYamlError as exc:
        raise SpecFileError([SpecError(path, exc.problem_mark.line + 1, "", exc.problem)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        # libyaml marks an error at the end of the text one line past a last line that has no
        # line break: name the last line.
        line = min(mark.line + 1, text.count("\n") + 1) if mark else 1
        problem = exc.problem or str(exc)
        if "maximum nesting depth" in problem:  # libyaml's own bound, far beyond MAX_DEPTH
            raise SpecFileError([SpecError(path, line, "", _TOO_DEEP)]) from None
        if exc.context and "duplicate key" not in problem:
            problem = f"{exc.context}, {problem}"
        raise SpecFileError(
            [SpecError(path, line, "", f"YAML syntax error: {problem}; fix the YAML at this line")]
        ) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise SpecFileError(
            [
                SpecError(
                    path,
                    line,
                    "",
                    f"character #x{exc.character:04x} is not allowed in YAML"
                    " (a control character); remove it",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        raise SpecFileError([SpecError(path, 1, "", f"YAML error: {exc}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[Location, int] = {}
    if node is not None:
        _record_lines(node, (), lines)
    return YamlDocument(path=path, data=data, lines=lines)


def read_yaml_file(path: Path, shown_as: str | None = None) -> YamlDocument:
    """Read and parse ``path``; ``shown_as`` is the name used in error messages."""
    name = shown_as or str(path)
    if path.exists() and not path.is_file():  # a pipe or a device would block or never end
        raise SpecFileError([SpecError(name, 1, "", "not a regular file; a report is a file")])
    try:
        with path.open("rb") as file:
            # Read one byte past the limit rather than trusting the size a stat reports.
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SpecFileError([SpecError(name, 0, "", f"cannot read file: {exc.strerror}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise SpecFileError(
            [
                SpecError(
                    name,
                    1,
                    "",
                    f"file is larger than {MAX_FILE_BYTES:,} bytes (1 MB), the limit for a"
                    " report file; a report needs a few kilobytes (move long SQL into a view)",
                )
            ]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecFileError(
            [SpecError(name, 1, "", "file is not UTF-8 text; save it as UTF-8")]
        ) from None
    return parse_yaml_text(text, name)
