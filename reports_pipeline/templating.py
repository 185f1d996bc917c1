"""Jinja2 templates for subjects, bodies and paths, rendered in a sandbox with bounded work.

Templates are written by analysts, so they run in Jinja's ``ImmutableSandboxedEnvironment``
with ``StrictUndefined``: a typo in a variable name is an error at validation time, not an
empty subject in someone's inbox.

Validation renders every template with a sample period, so a template must not be able to
hang a load or fill its memory (``lipsum(n=2000000)``, nested loops, ``"x" * 10**10``). Two
rules make its work finite and small, the same at validation and in runs:

- One pass. A template is expressions, ``{% if %}`` and ``{% filter %}``: no loops, macros,
  blocks, variables (``{% set %}``, ``{% with %}``) or includes. Each part of it is evaluated
  at most once, so a template cannot repeat or double its work; it is checked when compiled.
- Bounded steps. Every operator, filter and method call that can make a value larger than its
  inputs (``*``, ``**``, ``%``, ``replace``, ``join``, ``indent``, ``format``…) is checked
  before it runs, no value may exceed :data:`MAX_VALUE_CHARS`, the steps of one rendering
  together handle at most :data:`MAX_WORK_CHARS`, and the output stops at ``max_chars``.

Document templates (PDF and HTML) are files, loaded by :class:`ConfinedFileSystemLoader`: only
files whose real path, symlinks resolved, is inside the folders it was given.
"""

import contextvars
import functools
import itertools
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    nodes,
)
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_VALUE_CHARS = 1_000_000
"""The longest string (or list) any step of a template may make."""
MAX_OUTPUT_CHARS = 1_000_000
"""The longest rendering, unless the caller asks for less."""
MAX_WORK_CHARS = 20_000_000
"""Characters all the steps of one rendering may handle together."""
MAX_COUNT = 100_000
"""The largest count or width a template may pass (``center(80)``, ``range(10)``)."""
MAX_INT_BITS = 100_000
"""The largest integer a template may compute (about 30,000 digits)."""
MAX_TEMPLATE_CHARS = 1_000_000
"""The longest template text: subjects and bodies are far shorter."""

_ONE_PASS_STATEMENTS = (nodes.Output, nodes.If, nodes.FilterBlock)
_STATEMENT_NAMES = {
    "For": "loops ({% for %})",
    "Macro": "macros",
    "CallBlock": "{% call %} blocks",
    "Block": "blocks",
    "Extends": "{% extends %}",
    "Include": "{% include %}",
    "Import": "{% import %}",
    "FromImport": "{% from … import %}",
    "Assign": "variables ({% set %})",
    "AssignBlock": "variables ({% set %})",
    "With": "{% with %}",
}
_DIGITS = re.compile(r"\d+")
_PERCENT_SPEC = re.compile(r"%[-#0 +_^]*(\d*)(?:\.(\d+))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*?:([^{}]*)\}")


class TemplateRenderError(ValueError):
    """A template that cannot be compiled or rendered; the message says why."""


class TemplateLimitError(TemplateRenderError):
    """A template that would do more work, or make more text, than templates may."""


@dataclass
class _Budget:
    """What one rendering has spent so far."""

    work: int = 0

    def spend(self, chars: int) -> None:
        self.work += chars
        if self.work > MAX_WORK_CHARS:
            raise TemplateLimitError(
                f"the template handles more than {MAX_WORK_CHARS:,} characters of text; make it"
                " simpler"
            )


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "template_budget", default=None
)


def _size(value: Any) -> int:
    """About how many characters a value stands for as text: a string's length, a
    container's items (and keys) added up, an integer's digits."""
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, dict):
        return len(value) + sum(_size(key) + _size(item) for key, item in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return len(value) + sum(_size(item) for item in value)
    if isinstance(value, int):
        return _int_bits(value) // 3 + 1
    if isinstance(value, range):
        return len(value) * (len(str(max(abs(value.start), abs(value.stop)))) + 1)
    return 32  # a date, a float, a period: a few dozen characters at most


def _limit(what: str, amount: int, limit: int) -> None:
    if amount > limit:
        raise TemplateLimitError(
            f"{what} would be {amount:,} characters; templates may make at most {limit:,}"
        )


def _check_count(value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_COUNT:
        raise TemplateLimitError(
            f"the number {value:,} is larger than the counts and widths templates may use"
            f" (at most {MAX_COUNT:,})"
        )


def _format_widths(text: str) -> list[str]:
    """The widths and precisions of a format string: ``%08.2f``, ``%_10Y`` (strftime),
    ``{:>12}``; not other digits (an account number in the text is no width)."""
    widths = [part for spec in _PERCENT_SPEC.findall(text) for part in spec if part]
    for spec in _BRACE_SPEC.findall(text):
        widths.extend(_DIGITS.findall(spec))
    return widths


def _check_format_string(text: Any) -> None:
    """A format string's widths and precisions (``%9999999d``, ``{:>9999999}``) are counts."""
    if isinstance(text, str):
        for digits in _format_widths(text):
            if len(digits) > 6 or int(digits) > MAX_COUNT:
                raise TemplateLimitError(
                    f"the format {text[:40]!r} asks for a width of {digits}; templates may use"
                    f" at most {MAX_COUNT:,}"
                )


def _check_arguments(args: tuple, kwargs: dict) -> None:
    for value in (*args, *kwargs.values()):
        _check_count(value)
        _limit("an argument", _size(value), MAX_VALUE_CHARS)


def _lines(text: Any) -> int:
    return str(text).count("\n") + 1


def _replaced_size(text: Any, old: Any, new: Any) -> int:
    text, old, new = str(text), str(old), str(new)
    occurrences = text.count(old) if old else len(text) + 1
    return len(text) + occurrences * len(new)


def _joined_size(items: Any, separator: Any = "") -> int:
    return _size(items) + _size(items) * len(str(separator))


# What a filter or string method may make, estimated from its arguments before it runs: the
# ones that can multiply a size. The rest make at most a few times their input.
_FILTER_SIZES: dict[str, Callable[..., int]] = {
    "replace": lambda value, old="", new="", *_, **__: _replaced_size(value, old, new),
    "join": lambda value, d="", *_, **__: _joined_size(value, d),
    "indent": lambda value, width=4, *_, **__: (
        _size(value) + _lines(value) * (len(width) if isinstance(width, str) else int(width or 0))
    ),
    "wordwrap": lambda value, width=79, break_long_words=True, wrapstring=None, *_, **__: (
        _size(value) + (_size(value) // max(int(width), 1) + 1) * len(wrapstring or "\n")
    ),
    "center": lambda value, width=80, *_, **__: _size(value) + int(width),
}
_METHOD_SIZES: dict[str, Callable[..., int]] = {
    "replace": lambda text, old="", new="", *_, **__: _replaced_size(text, old, new),
    "join": lambda separator, items=(), *_, **__: _joined_size(items, separator),
    "expandtabs": lambda text, tabsize=8, *_, **__: len(text) + text.count("\t") * int(tabsize),
}
_FORMATTING_FILTERS = ("format", "date")
_FORMATTING_METHODS = ("format", "format_map", "strftime")


def _bounded_filter(name: str, function: Callable) -> Callable:
    estimate = _FILTER_SIZES.get(name)
    # Filters marked pass_context (or eval_context, environment) get that object first.
    passed = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(function)  # keeps the jinja_pass_arg mark
    def checked(*args: Any, **kwargs: Any) -> Any:
        if len(args) <= passed:
            return function(*args, **kwargs)
        value, rest = args[passed], args[passed + 1 :]
        if isinstance(value, Iterator):
            # map() and select() hand on generators: count what they make before using it.
            value = list(itertools.islice(value, MAX_VALUE_CHARS + 1))
            args = (*args[:passed], value, *rest)
        _check_arguments(rest, kwargs)
        _limit("a value", _size(value), MAX_VALUE_CHARS)
        if name in _FORMATTING_FILTERS:
            _check_format_string(value if name == "format" else (rest[0] if rest else None))
        start = kwargs.get("start", rest[1] if len(rest) > 1 else 0)
        if name == "sum" and not isinstance(start, (int, float)):
            raise TemplateLimitError("sum adds numbers only: its start must be a number")
        if estimate is not None:
            _limit(f"the result of {name}", estimate(value, *rest, **kwargs), MAX_VALUE_CHARS)
        result = function(*args, **kwargs)
        return _account(f"the result of {name}", value, result)

    return checked


def _account(what: str, value: Any, result: Any) -> Any:
    size = _size(result)
    _limit(what, size, MAX_VALUE_CHARS)
    budget = _BUDGET.get()
    if budget is not None:
        budget.spend(size + _size(value))
    return result


def _int_bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 0


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with every step that could make a large value checked before it runs."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "*":
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(count, int):
                    _limit("a repeated text", _size(sequence) * max(count, 0), MAX_VALUE_CHARS)
            _limit("a product", _int_bits(left) + _int_bits(right), MAX_INT_BITS)
        elif operator_ == "**":
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
                _limit("a power", _int_bits(left) * min(right, 10**9), MAX_INT_BITS)
        elif operator_ == "%" and isinstance(left, str):
            _check_format_string(left)
            for value in right if isinstance(right, tuple) else (right,):
                _check_count(value)
        elif operator_ == "+":
            _limit("a sum", _size(left) + _size(right), MAX_VALUE_CHARS)
        result = super().call_binop(context, operator_, left, right)
        return _account(f"the result of {operator_}", left, result)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _check_arguments(args, kwargs)
        # The sandbox hands out str.format as a wrapper: the method is its __wrapped__.
        method = getattr(__obj, "__wrapped__", __obj)
        receiver = getattr(method, "__self__", None)
        name = getattr(method, "__name__", "")
        if isinstance(receiver, (str, date)) and name in _FORMATTING_METHODS:
            _check_format_string(receiver if isinstance(receiver, str) else (args or [""])[0])
        if isinstance(receiver, str) and name in _METHOD_SIZES:
            _limit(
                f"the result of {name}",
                _METHOD_SIZES[name](receiver, *args, **kwargs),
                MAX_VALUE_CHARS,
            )
        result = super().call(__context, __obj, *args, **kwargs)
        return _account(f"the result of {name or 'a call'}", receiver, result)


def _format_date(value: Any, fmt: str = "%Y-%m-%d") -> str:
    if not isinstance(value, datetime):
        raise TemplateRenderError(f"the date filter needs a datetime, got {type(value).__name__}")
    return value.strftime(fmt)


def _environment() -> BoundedSandbox:
    env = BoundedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters["date"] = _format_date
    env.filters = {name: _bounded_filter(name, f) for name, f in env.filters.items()}
    # lipsum(n=2000000) is gigabytes of Latin; nothing a report needs.
    env.globals.pop("lipsum", None)
    return env


_ENV = _environment()


def check_one_pass(tree: nodes.Template) -> None:
    """Raise :class:`TemplateRenderError` if ``tree`` has a statement that repeats or stores
    work (loops, macros, blocks, variables, includes): templates are evaluated in one pass."""
    for node in tree.find_all(nodes.Stmt):
        if not isinstance(node, _ONE_PASS_STATEMENTS):
            what = _STATEMENT_NAMES.get(type(node).__name__, f"{{% {type(node).__name__} %}}")
            raise TemplateRenderError(
                f"line {node.lineno}: {what} cannot be used in subjects, bodies, paths and"
                " texts; write the value with {{ }}, filters (join, default, date…) and"
                " {% if %}"
            )


@dataclass(frozen=True)
class PeriodContext:
    """The period of a run as templates see it: ``period.start``, ``period.end``, ``period.key``."""

    start: datetime
    end: datetime
    key: str


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Template:
    # Most reports share a few templates (the default subject, paths and keys); compiling one
    # costs about 1 ms, which validating thousands of reports would pay again and again.
    _limit("the template", len(source), MAX_TEMPLATE_CHARS)
    tree = _ENV.parse(source)
    check_one_pass(tree)
    return _ENV.from_string(tree)


def render_template(source: str, context: dict[str, Any], max_chars: int = MAX_OUTPUT_CHARS) -> str:
    """Render ``source`` with ``context``, in at most ``max_chars`` characters; any failure,
    or a template over a limit, becomes :class:`TemplateRenderError`."""
    token = _BUDGET.set(_Budget())
    try:
        pieces: list[str] = []
        length = 0
        for piece in _compiled(source).generate(context):
            length += len(piece)
            _limit("the rendered text", length, max_chars)
            pieces.append(piece)
        return "".join(pieces)
    except TemplateError as exc:
        raise TemplateRenderError(exc.message or str(exc)) from None
    except TemplateRenderError:
        raise
    except RecursionError:
        raise TemplateLimitError("the template nests too deeply") from None
    except Exception as exc:  # a filter given a bad argument, a failing format string, ...
        raise TemplateRenderError(f"{type(exc).__name__}: {exc}") from None
    finally:
        _BUDGET.reset(token)


def _unchanged(path: Path, mtime: float) -> bool:
    try:
        return os.path.getmtime(path) == mtime
    except OSError:
        return False


class ConfinedFileSystemLoader(FileSystemLoader):
    """A ``FileSystemLoader`` that loads only regular files whose real path (symlinks resolved)
    is inside one of its folders, so ``{% include %}``, ``{% extends %}`` and ``{% import %}``
    cannot reach ``/etc/passwd`` through a symlink, nor read a device or a pipe."""

    def __init__(self, folders: list[Path], encoding: str = "utf-8"):
        super().__init__([str(folder) for folder in folders], encoding=encoding)
        self._roots = [Path(folder).resolve() for folder in folders]

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable]:
        pieces = split_template_path(template)  # refuses ".." like FileSystemLoader
        for root in self._roots:
            candidate = root.joinpath(*pieces)
            if not candidate.exists():
                continue
            real = candidate.resolve()
            if not real.is_relative_to(root) or not real.is_file():
                raise TemplateNotFound(
                    template,
                    f"template {template!r} is a link to a file outside the report's folder"
                    " and the shipped templates, or not a regular file; templates may load only"
                    " files inside those folders",
                )
            size = real.stat().st_size
            if size > MAX_TEMPLATE_CHARS * 4:
                raise TemplateNotFound(template, f"template {template!r} is {size:,} bytes")
            mtime = os.path.getmtime(real)
            text = real.read_text(encoding=self.encoding)
            return text, str(real), functools.partial(_unchanged, real, mtime)
        raise TemplateNotFound(template)


def template_context(
    *,
    name: str,
    title: str,
    owner: str,
    period: PeriodContext,
    rows: int,
    ext: str,
    format: str,
    run_id: str,
    params: dict[str, Any],
) -> dict[str, Any]:
    """The variables every report template may use (REPORT_SPEC.md, "Templates")."""
    return {
        "name": name,
        "title": title,
        "owner": owner,
        "period": period,
        "rows": rows,
        "ext": ext,
        "format": format,
        "run_id": run_id,
        "params": dict(params),
    }
