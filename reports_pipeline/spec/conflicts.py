"""Checks that need several reports at once: owners over their limit, copies, crowded minutes;
and one-off runs whose time has passed.

These run on every load of the code location (each run, and every minute in the daemon), so
each is one pass over the reports, and tick times are computed once per (cron, zone).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from reports_pipeline.spec.connections import DEMO_WAREHOUSE, ConnectionsFile, Policy
from reports_pipeline.spec.errors import field_path
from reports_pipeline.spec.policy import sample_ticks
from reports_pipeline.spec.report import ReportSpec
from reports_pipeline.spec.yaml_source import Location, SpecError

if TYPE_CHECKING:
    from reports_pipeline.spec.loader import LoadedReport

_WEEKDAY_PLURALS = (
    "Mondays",
    "Tuesdays",
    "Wednesdays",
    "Thursdays",
    "Fridays",
    "Saturdays",
    "Sundays",
)
_NAMES_SHOWN = 10
_STAGGER_STEPS = (timedelta(minutes=5), timedelta(minutes=10))


def _problem(
    loaded: LoadedReport, location: Location, message: str, severity: str = "error"
) -> SpecError:
    document = loaded.document
    return SpecError(
        document.path, document.line_of(location), field_path(location), message, severity
    )


def _in_file_order(reports: Sequence[LoadedReport]) -> list[LoadedReport]:
    # Path order, not load order: the same files give the same verdicts whichever way the
    # folders were passed in.
    return sorted(reports, key=lambda loaded: str(loaded.path))


def _source_connection(spec: ReportSpec) -> str:
    return spec.source.connection or DEMO_WAREHOUSE


def owner_limit_errors(reports: Sequence[LoadedReport], policy: Policy) -> list[SpecError]:
    """An error on each report beyond ``policy.max_reports_per_owner`` for its owner.

    Owners compare case-insensitively; the first reports in path order are within the limit.
    """
    by_owner: dict[str, list[LoadedReport]] = {}
    for loaded in _in_file_order(reports):
        by_owner.setdefault(str(loaded.spec.owner).lower(), []).append(loaded)
    limit = policy.max_reports_per_owner
    errors: list[SpecError] = []
    for owned in by_owner.values():
        for loaded in owned[limit:]:
            message = (
                f"{loaded.spec.owner} owns {len(owned)} reports; policy.max_reports_per_owner is "
                f"{limit}: the first {limit} files in path order are accepted, this one is not."
                " Give it another owner, retire a report, or ask for the policy to change"
            )
            errors.append(_problem(loaded, ("owner",), message))
    return errors


def _copy_key(spec: ReportSpec, connections: ConnectionsFile) -> tuple:
    """What makes two reports the same delivery: source, schedule and recipients."""
    source = (
        _source_connection(spec),
        spec.source.report_type,
        " ".join((spec.source.sql or "").split()),
        json.dumps(spec.source.params, sort_keys=True, default=str),
    )
    schedule = spec.schedule
    # run_at counts: two one-off runs at different times are not copies of each other.
    when = (schedule.every, schedule.at, schedule.on, schedule.cron, spec.timezone, schedule.run_at)
    targets = tuple(sorted(_target_key(target, connections) for target in spec.deliver))
    return source, when, targets


def _target_key(target, connections: ConnectionsFile) -> tuple:
    """A target as compared for copies: e-mail recipients ignore order and case."""
    settings = target.settings
    if target.channel != "email":
        return (target.channel, json.dumps(settings.model_dump(mode="json"), sort_keys=True))
    return (
        target.channel,
        connections.mail_connection_for(settings.connection),
        tuple(sorted(address.lower() for address in settings.to)),
        tuple(sorted(address.lower() for address in settings.cc)),
        tuple(sorted(address.lower() for address in settings.bcc)),
    )


def copy_warnings(reports: Sequence[LoadedReport], connections: ConnectionsFile) -> list[SpecError]:
    """A warning on each report that repeats an earlier one's query, schedule and recipients."""
    first_by_key: dict[tuple, LoadedReport] = {}
    warnings: list[SpecError] = []
    for loaded in _in_file_order(reports):
        first = first_by_key.setdefault(_copy_key(loaded.spec, connections), loaded)
        if first is not loaded:
            message = (
                f"same query, schedule and recipients as {first.shown_as}: one of them is "
                "probably a copy"
            )
            warnings.append(_problem(loaded, ("name",), message, "warning"))
    return warnings


def _runs_on_schedule(spec: ReportSpec) -> bool:
    # A paused report is not due; a one-off run has no recurring slot.
    return spec.enabled and spec.schedule.every != "once"


def _run_ticks(spec: ReportSpec) -> tuple[datetime, ...]:
    """The report's runs in the sample week (``skip`` is ignored: the slot is still booked)."""
    from reports_pipeline.scheduling.cadence import schedule_cron, tick_runs

    ticks = sample_ticks(schedule_cron(spec.schedule), spec.timezone)
    if spec.schedule.every in ("month", "quarter"):
        # Month-end reports tick on each candidate day 28..31 and run on one of them.
        ticks = tuple(tick for tick in ticks if tick_runs(spec.schedule, tick))
    return ticks


def _weekly(spec: ReportSpec) -> bool:
    """Whether the report's ticks repeat every week (no day-of-month or month restriction)."""
    from reports_pipeline.scheduling.cadence import schedule_cron

    return schedule_cron(spec.schedule).split()[2:4] == ["*", "*"]


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _when(minutes: Sequence[int], weekly: bool) -> str:
    """When a crowd recurs, in UTC: ``at 09:00 UTC on Mondays``, ``every hour at :00 UTC``."""
    instants = sorted(datetime.fromtimestamp(minute * 60, timezone.utc) for minute in minutes)
    first = instants[0]
    if not weekly:
        return f"at {first:%H:%M} UTC on day {first.day} of the month"
    days = sorted({instant.weekday() for instant in instants})
    on = "every day" if len(days) == 7 else f"on {_join([_WEEKDAY_PLURALS[d] for d in days])}"
    times = sorted({f"{instant:%H:%M}" for instant in instants})
    if len(times) == 24 and len({time[3:] for time in times}) == 1:
        hourly = f"every hour at :{times[0][3:]} UTC"
        return hourly if len(days) == 7 else f"{hourly} {on}"
    if len(times) > 3:
        times = [*times[:2], f"{len(times) - 2} other times"]
    return f"at {_join(times)} UTC {on}"


def _names(members: Sequence[LoadedReport]) -> str:
    names = [loaded.spec.name for loaded in members[:_NAMES_SHOWN]]
    if len(members) > _NAMES_SHOWN:
        names.append(f"{len(members) - _NAMES_SHOWN} more")
    return ", ".join(names)


def _stagger_example(spec: ReportSpec, minute: int) -> str:
    """Times a few minutes later, as ``at:`` is written for this report (its own zone)."""
    from zoneinfo import ZoneInfo

    local = datetime.fromtimestamp(minute * 60, ZoneInfo(spec.timezone))
    shape = "00:%M" if spec.schedule.every == "hour" else "%H:%M"
    examples = ", ".join(f"{local + step:{shape}}" for step in _STAGGER_STEPS)
    return examples if spec.timezone == "UTC" else f"{examples} {spec.timezone}"


def _crowd_warning(
    connection: str, members: Sequence[LoadedReport], minutes: Sequence[int], limit: int
) -> SpecError:
    """The warning about one crowd, on its last member in path order, naming every member.

    ``minutes`` are the minutes of the sample week when all the members are due, in order.
    """
    when = _when(minutes, all(_weekly(loaded.spec) for loaded in members))
    last = members[-1]
    message = (
        f"{len(members)} reports on connection '{connection}' are due {when} "
        f"({_names(members)}); policy.max_reports_per_slot is {limit}: stagger their `at:` "
        f"times (e.g. {_stagger_example(last.spec, minutes[0])})"
    )
    return _problem(last, ("schedule",), message, "warning")


def crowded_slot_warnings(reports: Sequence[LoadedReport], policy: Policy) -> list[SpecError]:
    """Warnings where more than ``policy.max_reports_per_slot`` reports on one source
    connection are due in the same minute of the sample week.

    One warning per crowd (a set of reports due together), however many minutes it recurs
    in: a crowd every hour is one warning, not 168.
    """
    ordered = [loaded for loaded in _in_file_order(reports) if _runs_on_schedule(loaded.spec)]
    minutes_of: list[frozenset[int]] = []
    due: dict[tuple[str, int], list[int]] = {}
    for index, loaded in enumerate(ordered):
        minutes = frozenset(int(tick.timestamp()) // 60 for tick in _run_ticks(loaded.spec))
        minutes_of.append(minutes)
        connection = _source_connection(loaded.spec)
        for minute in minutes:
            due.setdefault((connection, minute), []).append(index)
    limit = policy.max_reports_per_slot
    crowds = {(c, tuple(indexes)) for (c, _), indexes in due.items() if len(indexes) > limit}
    warnings = []
    for connection, indexes in crowds:
        # Every minute the crowd is due together, also where others join it: "every day"
        # rather than "every day but the 1st", when monthly reports make the 1st a bigger crowd.
        together = sorted(frozenset.intersection(*(minutes_of[i] for i in indexes)))
        members = [ordered[i] for i in indexes]
        warning = _crowd_warning(connection, members, together, limit)
        warnings.append(((together[0], connection, indexes), warning))
    return [warning for _, warning in sorted(warnings, key=lambda item: item[0])]


def past_run_at_warnings(reports: Sequence[LoadedReport], now: datetime) -> list[SpecError]:
    """A warning on each ``every: once`` report whose ``run_at`` is at or before ``now``: its
    schedule will never run it (``reports validate --strict`` fails on it)."""
    from zoneinfo import ZoneInfo

    warnings = []
    for loaded in _in_file_order(reports):
        schedule = loaded.spec.schedule
        if schedule.every != "once" or schedule.run_at is None:
            continue
        zone = loaded.spec.timezone
        if schedule.run_at.replace(tzinfo=ZoneInfo(zone)) > now:
            continue
        message = (
            f"run_at {schedule.run_at.isoformat(timespec='minutes')} ({zone}) has passed: the"
            " schedule will never run this report. Set a later run_at, or run it now with"
            f" `reports run {loaded.spec.name}`"
        )
        warnings.append(_problem(loaded, ("schedule", "run_at"), message, "warning"))
    return warnings


def schedule_conflicts(
    reports: Sequence[LoadedReport], connections: ConnectionsFile, now: datetime | None = None
) -> list[SpecError]:
    """Warnings about what valid reports' schedules will do: copies, crowded minutes, and
    one-off runs already past at ``now`` (default: the current time)."""
    return (
        copy_warnings(reports, connections)
        + crowded_slot_warnings(reports, connections.policy)
        + past_run_at_warnings(reports, now or datetime.now(timezone.utc))
    )
