"""Which report types exist, found without importing any of them until a report uses one.

The types shipped in this package are named here; those of installed packages come from the
entry point group ``reports_pipeline.report_types`` (name = the type's name, value =
``module:attribute``). Both lists are read once per process, and a type's module is imported
only when a report names it: a run worker building one job imports one type, and loading
10,000 reports imports each type they use once.
"""

import functools
import importlib
from importlib.metadata import EntryPoint, entry_points

from reports_pipeline.report_types.definition import ReportType

ENTRY_POINT_GROUP = "reports_pipeline.report_types"

SHIPPED = {
    "invoice_aging": "reports_pipeline.report_types.invoice_aging:invoice_aging",
    "top_customers": "reports_pipeline.report_types.top_customers:top_customers",
}
"""Shipped types; their names cannot be taken by an installed package."""


class ReportTypeError(Exception):
    """A report names a type that is unknown, registered twice, or cannot be loaded."""


@functools.cache
def _installed() -> dict[str, tuple[EntryPoint, ...]]:
    found: dict[str, dict[str, EntryPoint]] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        # One package seen twice on sys.path (an editable install and a build) is one type.
        found.setdefault(entry.name, {}).setdefault(entry.value, entry)
    return {name: tuple(by_value.values()) for name, by_value in found.items()}


def known_report_types() -> list[str]:
    """Every type's name, shipped and installed, sorted."""
    return sorted({*SHIPPED, *_installed()})


def _where(entry: EntryPoint) -> str:
    dist = getattr(entry, "dist", None)
    return f"{entry.value} (package {dist.name})" if dist is not None else entry.value


def _target(name: str) -> str:
    if name in SHIPPED:
        return SHIPPED[name]
    entries = _installed().get(name, ())
    if not entries:
        raise ReportTypeError(
            f"unknown report type '{name}'; known types: {', '.join(known_report_types())}"
            f" (others are added by installing a package with a '{ENTRY_POINT_GROUP}' entry point)"
        )
    if len(entries) > 1:
        raise ReportTypeError(
            f"report type '{name}' is registered by {len(entries)} installed packages: "
            f"{'; '.join(_where(entry) for entry in entries)}; uninstall all but one"
        )
    return entries[0].value


@functools.cache
def load_report_type(name: str) -> ReportType:
    """The type registered as ``name``, its module imported on the first call only.

    Raises :class:`ReportTypeError` with what to do, for an unknown name, a name two packages
    register, a module that fails to import, or an object that is not a report type.
    """
    target = _target(name)
    module_name, _, attribute = target.partition(":")
    try:
        found = importlib.import_module(module_name.strip())
        for part in attribute.strip().split(".") if attribute.strip() else ():
            found = getattr(found, part)
    except Exception as exc:
        raise ReportTypeError(
            f"report type '{name}' ({target}) could not be loaded: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(found, ReportType):
        raise ReportTypeError(
            f"report type '{name}' ({target}) is a {type(found).__name__}, not a report type;"
            " decorate the function with @reports_pipeline.report_types.report_type(params=...)"
        )
    return found


def installed_origin(name: str) -> str:
    """Where an installed type comes from: ``package acme-report-types: module:attribute``."""
    return "; ".join(f"installed: {_where(entry)}" for entry in _installed().get(name, ()))


def forget_installed_types() -> None:
    """Read the installed types again on next use (after installing a package in-process)."""
    _installed.cache_clear()
    load_report_type.cache_clear()
