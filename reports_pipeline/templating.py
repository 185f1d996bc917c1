"""Jinja2 templates for subjects, bodies and paths, rendered in a sandbox.

Templates are written by analysts, so they run in Jinja's ``SandboxedEnvironment`` with
``StrictUndefined``: a typo in a variable name is an error at validation time, not an empty
subject in someone's inbox.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment


class TemplateRenderError(ValueError):
    """A template that cannot be compiled or rendered; the message says why."""


def _format_date(value: Any, fmt: str = "%Y-%m-%d") -> str:
    if not isinstance(value, datetime):
        raise TemplateRenderError(f"the date filter needs a datetime, got {type(value).__name__}")
    return value.strftime(fmt)


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )
    env.filters["date"] = _format_date
    return env


_ENV = _environment()


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
    return _ENV.from_string(source)


def render_template(source: str, context: dict[str, Any]) -> str:
    """Render ``source`` with ``context``; any failure becomes :class:`TemplateRenderError`."""
    try:
        return _compiled(source).render(context)
    except TemplateError as exc:
        raise TemplateRenderError(exc.message or str(exc)) from None
    except TemplateRenderError:
        raise
    except Exception as exc:  # a filter given a bad argument, a failing format string, ...
        raise TemplateRenderError(f"{type(exc).__name__}: {exc}") from None


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
