"""``reports``: validate, list, preview and run report files from the command line."""

import logging
import os
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from reports_pipeline import locations
from reports_pipeline.check_command import check, report_check, tables
from reports_pipeline.spec.loader import ReportProject, load_project
from reports_pipeline.types_command import types
from reports_pipeline.workspace_file import workspace


def _load(paths: tuple[str, ...], connections: str | None) -> ReportProject:
    targets = [Path(p) for p in paths] or [locations.reports_dir()]
    missing = [str(p) for p in targets if not p.exists()]
    if missing:
        raise click.ClickException(f"no such file or folder: {', '.join(missing)}")
    return load_project(targets, Path(connections) if connections else locations.connections_path())


_connections_option = click.option(
    "--connections",
    type=click.Path(dir_okay=False),
    default=None,
    help="connections.yaml to check against (default: REPORTS_CONNECTIONS, else the one "
    "beside the reports folder).",
)


@click.group()
def cli() -> None:
    """Scheduled reports described in YAML, run by Dagster."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@_connections_option
@click.option(
    "--strict", is_flag=True, help="Fail (exit code 1) on warnings too, not only on errors."
)
@click.option(
    "--connect",
    is_flag=True,
    help="Then have each report's database check its query, as `reports check` does.",
)
def validate(paths: tuple[str, ...], connections: str | None, strict: bool, connect: bool) -> None:
    """Check report files (or folders of them) against the spec and connections.yaml."""
    project = _load(paths, connections)
    if connect:
        report_check(project, strict)
        return
    for problem in sorted(project.errors + project.warnings, key=lambda e: (e.file, e.line)):
        click.echo(str(problem))
    broken = len(project.errors_by_file())
    warned = f", {_count(len(project.warnings), 'warning')}" if project.warnings else ""
    if project.errors:
        click.echo(
            f"{len(project.errors)} errors in {broken} files; {len(project.reports)} reports valid"
            f"{warned}",
            err=True,
        )
        sys.exit(1)
    if strict and project.warnings:
        click.echo(
            f"{_count(len(project.warnings), 'warning')}; --strict fails on warnings "
            f"({len(project.reports)} reports valid)",
            err=True,
        )
        sys.exit(1)
    click.echo(f"ok: {len(project.reports)} reports valid{warned}")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@cli.command(name="list")
@_connections_option
def list_reports(connections: str | None) -> None:
    """List the reports, their schedules and targets."""
    from reports_pipeline.scheduling.cadence import schedule_cron
    from reports_pipeline.scheduling.report_schedule import schedule_name

    project = _load((), connections)
    live = _live_schedule_states()
    rows = [("NAME", "EVERY", "CRON", "TIMEZONE", "FORMAT", "TARGETS", "STATUS")]
    for report in sorted(project.reports, key=lambda r: r.spec.name):
        spec = report.spec
        enabled = (live or {}).get(schedule_name(spec.name), spec.enabled)
        rows.append(
            (
                spec.name,
                spec.schedule.every,
                schedule_cron(spec.schedule),
                spec.timezone,
                spec.format,
                ",".join(target.channel for target in spec.deliver),
                "running" if enabled else "stopped",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    if live is None:
        click.echo("\nSTATUS from the file; set DAGSTER_HOME for the live state")
    if project.errors:
        click.echo(
            f"\n{len(project.errors_by_file())} invalid files; run `reports validate`", err=True
        )


def _live_schedule_states() -> dict[str, bool] | None:
    """Whether each schedule runs, by schedule name, as the instance has it (after `dagster
    schedule stop`, say); None without DAGSTER_HOME. Schedules absent follow ``enabled``."""
    if not os.environ.get("DAGSTER_HOME"):
        return None
    from dagster import DagsterInstance
    from dagster._core.scheduler.instigation import InstigatorStatus, InstigatorType

    with DagsterInstance.get() as instance:
        states = instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE)
    # DECLARED_IN_CODE: never started or stopped by hand, so the file's `enabled` holds.
    return {
        state.name: state.status == InstigatorStatus.RUNNING
        for state in states
        if state.status != InstigatorStatus.DECLARED_IN_CODE
    }


@cli.command()
@click.argument("name")
@click.option("--count", default=5, show_default=True, type=click.IntRange(1, 500))
@click.option("--after", default=None, help="ISO time to start from (default: now).")
@_connections_option
def preview(name: str, count: int, after: str | None, connections: str | None) -> None:
    """Print the next runs of a report and the period each one covers."""
    from reports_pipeline.scheduling.due import DueRun
    from reports_pipeline.scheduling.preview import upcoming_ticks

    spec = _report(_load((), connections), name).spec
    zone = ZoneInfo(spec.timezone)
    start = datetime.now(timezone.utc)
    if after:
        try:
            start = datetime.fromisoformat(after)
        except ValueError:
            raise click.ClickException(
                f"--after '{after}' is not an ISO time like 2026-11-03T09:00"
            ) from None
        start = start if start.tzinfo else start.replace(tzinfo=zone)
    click.echo(f"{spec.name}: every {spec.schedule.every}, {spec.timezone}")
    shown = 0
    for upcoming in upcoming_ticks(spec.schedule, start, count):
        shown += 1
        tick = upcoming.tick.astimezone(zone)
        utc = upcoming.tick.astimezone(timezone.utc)
        line = f"run {tick:%Y-%m-%d %H:%M %Z} ({utc:%Y-%m-%d %H:%M} UTC)"
        if isinstance(upcoming.outcome, DueRun):
            p = upcoming.outcome.period
            line += (
                f"  covers {p.key}: {_local(p.start, zone)} – {_local(p.end, zone)} {spec.timezone}"
                f" ({_local(p.start, timezone.utc)} – {_local(p.end, timezone.utc)} UTC)"
            )
        else:
            line = f"no run {tick:%Y-%m-%d %H:%M %Z}: {upcoming.outcome.reason}"
        if upcoming.dst_note:
            line += f"  [{upcoming.dst_note}]"
        click.echo(line)
    if not shown:
        click.echo("no upcoming runs")


def _local(moment: datetime, zone) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"


@cli.command()
@click.argument("name")
@click.option(
    "--period",
    "period_key",
    default=None,
    help="The period key, e.g. 2026-11-02, or a range run as one, 2026-11-01..2026-11-07"
    " (not used for every: once).",
)
@click.option("--no-deliver", is_flag=True, help="Render and store the file, send nothing.")
@click.option(
    "--force",
    is_flag=True,
    help="Send again to targets that already received this period's file (sets the run tag "
    "reports/force_delivery=true).",
)
@click.option("--verbose", is_flag=True, help="Show Dagster's log lines while the run goes.")
@_connections_option
def run(
    name: str,
    period_key: str | None,
    no_deliver: bool,
    force: bool,
    verbose: bool,
    connections: str | None,
) -> None:
    """Run one period of a report now (recorded in Dagster when DAGSTER_HOME is set)."""
    from dagster import DagsterInstance

    from reports_pipeline.definitions import build_definitions
    from reports_pipeline.jobs.ledger import FORCE_TAG
    from reports_pipeline.run_history import step_outcomes

    project = _load((), connections)
    loaded = _report(project, name)
    with _dagster_logs(verbose):
        defs = build_definitions(connections_file=Path(connections) if connections else None)
        report_job = defs.resolve_job_def(name)
    partition_key, tags = _run_selection(report_job.partitions_def, name, period_key)
    click.echo(f"{name}: {_period_words(report_job.partitions_def, loaded.spec, period_key)}")
    tags = {**tags, **_code_location_tags(defs)}
    if force:
        tags[FORCE_TAG] = "true"
    selection = ["fetch_and_render", "persist"] if no_deliver else None
    recorded = bool(os.environ.get("DAGSTER_HOME"))
    with (
        _dagster_logs(verbose),
        DagsterInstance.get() if recorded else DagsterInstance.ephemeral() as instance,
    ):
        result = report_job.execute_in_process(
            partition_key=partition_key,
            tags=tags,
            instance=instance,
            op_selection=selection,
            run_config=None if verbose else _QUIET_RUN_CONFIG,
            raise_on_error=False,
        )
        steps = step_outcomes(instance, result.run_id)
    if any(step.step == "persist" and not step.failed for step in steps):
        stored = result.output_for_node("persist")
        click.echo(f"{stored['rows']} rows → {stored['path']}")
    if no_deliver:
        click.echo("not delivered (--no-deliver)")
    for step in steps:
        if step.failed:
            click.echo(step.failure_line(), err=True)
        elif step.step.startswith("deliver_"):
            tries = f" (after {step.attempts} attempts)" if step.attempts > 1 else ""
            click.echo(f"{step.step}: {step.summary()}{tries}")
    if not result.success:
        where = f"; `reports history {name}` shows it again" if recorded else ""
        raise click.ClickException(f"run {result.run_id} failed{where}")


# Dagster's console logger prints every event at DEBUG; a run from the terminal shows the
# outcome per target instead, and `--verbose` brings the log lines back.
_QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@contextmanager
def _dagster_logs(verbose: bool) -> Iterator[None]:
    """Silence Dagster's own Python loggers and its warnings (beta, preview) unless verbose."""
    logger = logging.getLogger("dagster")
    level = logger.level
    with warnings.catch_warnings():
        if not verbose:
            logger.setLevel(logging.ERROR)
            warnings.simplefilter("ignore")
        try:
            yield
        finally:
            logger.setLevel(level)


def _code_location_tags(defs) -> dict[str, str]:
    """The label of the code location `workspace.yaml` loads, as launched runs carry it: the
    UI's Partitions tab and job pages count only the runs that have it."""
    from dagster._core.storage.tags import REPOSITORY_LABEL_TAG

    from reports_pipeline import definitions

    location = definitions.__name__  # workspace.yaml loads the module, named after it
    return {REPOSITORY_LABEL_TAG: f"{defs.get_repository_def().name}@{location}"}


def _run_selection(partitions_def, name: str, period_key: str | None) -> tuple[str | None, dict]:
    """The partition (or partition range tags) of ``--period``, checked against the report."""
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    from reports_pipeline.scheduling.cadence import period_for_key

    if partitions_def is None:
        if period_key:
            raise click.ClickException(f"{name} runs once (every: once); leave out --period")
        return None, {}
    if not period_key:
        example = partitions_def.get_last_partition_key() or "YYYY-MM-DD"
        raise click.ClickException(f"--period is required, e.g. --period {example}")
    first, _, last = period_key.partition("..")
    last = last or first
    for key in (first, last):
        try:
            period_for_key(partitions_def, key)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        if not partitions_def.has_partition_key(key):
            raise click.ClickException(
                f"period {key} is not available: periods of {name} run from "
                f"{partitions_def.get_first_partition_key()} to "
                f"{partitions_def.get_last_partition_key()} (set schedule.start for older ones)"
            )
    if first == last:
        return first, {}
    if not partitions_def.less_than(first, last):
        raise click.ClickException(
            f"in --period {period_key} the first period comes after the last"
        )
    return None, {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def _period_words(partitions_def, spec, period_key: str | None) -> str:
    """The period a run covers, as people read it: key, local start and end, zone."""
    from reports_pipeline.scheduling.cadence import once_period, period_for_key

    if partitions_def is None:
        first = last = once_period(spec.schedule)
        key = f"{first.key} (its only one)"
    else:
        first_key, _, last_key = period_key.partition("..")
        first = period_for_key(partitions_def, first_key)
        last = period_for_key(partitions_def, last_key or first_key)
        key = period_key
    zone = first.start.tzinfo
    return f"period {key}, {first.start:%Y-%m-%d %H:%M} to {last.end:%Y-%m-%d %H:%M} ({zone})"


@cli.command()
@click.option(
    "--url",
    default="http://127.0.0.1:3000",
    show_default=True,
    help="The running Dagster webserver (`make dev`).",
)
def reload(url: str) -> None:
    """Have the running UI and daemon load new and changed report files now."""
    from reports_pipeline.code_reload import ReloadError, reload_locations

    try:
        locations_reloaded = reload_locations(url)
    except ReloadError as exc:
        raise click.ClickException(str(exc)) from None
    for location in locations_reloaded:
        click.echo(location.line(), err=location.error is not None)
    if any(location.error is not None for location in locations_reloaded):
        raise SystemExit(1)


def _report(project: ReportProject, name: str):
    try:
        return project.report(name)
    except KeyError as exc:
        raise click.ClickException(exc.args[0]) from None


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # an analyst's tool: a one-line reason, never a traceback
        click.echo(f"error: {_reason(exc)}", err=True)
        sys.exit(2)


def _reason(exc: Exception) -> str:
    """An unexpected error's message on one line, without a Python class path."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return f"an unexpected {type(exc).__name__} without a message (please report it)"
    return re.sub(r"^(?:[A-Za-z_]\w*\.)+[A-Za-z_]\w*: ", "", " ".join(lines))[:500]


@cli.command(name="test-connection")
@click.argument("name")
@_connections_option
def test_connection(name: str, connections: str | None) -> None:
    """Check a connection (login, write permission, reachability) without sending a report."""
    from reports_pipeline.resources.connections import connection_resource
    from reports_pipeline.spec.loader import load_connections

    path = Path(connections) if connections else locations.connections_path()
    loaded, errors = load_connections(path)
    if errors:
        raise click.ClickException("\n".join(str(e) for e in errors))
    if name not in loaded.connections:
        known = ", ".join(sorted(loaded.connections))
        raise click.ClickException(f"no connection named '{name}'; connections: {known}")
    resource = connection_resource(loaded.connections[name])
    try:
        # EnvVar fields are resolved from this process's environment, as a run would.
        result = resource.process_config_and_initialize().check()
    except Exception as exc:  # the reason, never a traceback or a secret
        raise click.ClickException(_scrubbed(f"{name}: {exc}", loaded.connections[name])) from None
    click.echo(f"{name}: ok: {result}")


def _scrubbed(text: str, connection) -> str:
    """``text`` without the connection's secrets, in any form (a server may echo them)."""
    from reports_pipeline.redaction import Redactor
    from reports_pipeline.secret_values import connection_secrets

    return Redactor(connection_secrets(connection)).text(text)


@cli.command()
@click.argument("name")
@click.option("--count", default=10, show_default=True, type=click.IntRange(1, 500))
def history(name: str, count: int) -> None:
    """The last runs of a report and what happened to each delivery target."""
    from dagster import DagsterInstance

    from reports_pipeline.run_history import report_history

    if not os.environ.get("DAGSTER_HOME"):
        raise click.ClickException(
            "set DAGSTER_HOME to the instance to read (make dev uses var/dagster_home)"
        )
    with DagsterInstance.get() as instance:
        runs = report_history(instance, name, count)
    if not runs:
        click.echo(f"no runs of {name}")
        return
    for run in runs:
        period = run.period or "-"
        click.echo(f"{run.created:%Y-%m-%d %H:%M} {run.status:<9} {period:<24} {run.run_id[:8]}")
        for target in run.targets:
            outcome = f"{target.status:<18} attempts {target.attempts}"
            click.echo(f"    {target.step:<20} {outcome}  {_history_detail(target)}".rstrip())


def _history_detail(target) -> str:
    """A failure's root cause; else what the step recorded beyond its status (an earlier
    delivery, a reason), else the server's answer."""
    if target.failed or target.status in ("running", "retrying"):
        return target.detail
    extra = target.summary()[len(target.status) :].lstrip(" ,:")
    return extra or target.detail


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for monitoring.")
@click.option(
    "--hours-ahead",
    "--hour-ahead",
    "hours_ahead",
    default=1,
    show_default=True,
    type=click.IntRange(1, 168),
    help="How far ahead to list the next runs.",
)
@_connections_option
def status(as_json: bool, hours_ahead: int, connections: str | None) -> None:
    """The deployment's health: reports by state, late and failing ones, the queue, next runs.

    Exits 1 when any report is failing or late, 0 otherwise, so a cron job or probe can alert.
    """
    import json
    from datetime import timedelta

    from dagster import DagsterInstance

    from reports_pipeline.deployment_health import hold_connection, queue_length, reports_health
    from reports_pipeline.status_view import (
        DeploymentStatus,
        InvalidFile,
        status_document,
        status_lines,
    )

    if not os.environ.get("DAGSTER_HOME"):
        raise click.ClickException(
            "set DAGSTER_HOME to the instance to read (make dev uses var/dagster_home)"
        )
    project = _load((), connections)
    now = datetime.now(timezone.utc)
    ahead = timedelta(hours=hours_ahead)
    with DagsterInstance.get() as instance:
        hold_connection(instance)
        result = DeploymentStatus(
            now=now,
            ahead=ahead,
            reports=reports_health(instance, [r.spec for r in project.reports], now, ahead),
            invalid=[
                InvalidFile(file, str(errors[0]), len(errors))
                for file, errors in sorted(project.errors_by_file().items())
            ],
            queued_runs=queue_length(instance),
        )
    if as_json:
        click.echo(json.dumps(status_document(result), indent=2))
    else:
        click.echo("\n".join(status_lines(result)))
    sys.exit(result.exit_code)


@cli.command()
@click.argument("name")
@click.option("--period", "period_key", required=True, help="The period key, e.g. 2026-11-02.")
@click.option(
    "--run",
    "run_id",
    default=None,
    help="The run whose file to fetch (its id, or the 8 characters `reports history` shows);"
    " default: the period's latest.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    default=None,
    help="Where to write the file (a folder keeps the file's name); default: the file's own"
    " name in the current folder.",
)
@_connections_option
def fetch(
    name: str, period_key: str, run_id: str | None, output: str | None, connections: str | None
) -> None:
    """Download a stored report file: the latest of a period, or the file of one run."""
    from reports_pipeline.delivery.errors import DeliveryError
    from reports_pipeline.resources.storage import report_storage_resource
    from reports_pipeline.spec.loader import load_connections

    _report(_load((), connections), name)
    # Not the embedded defaults a broken file falls back to: they would look in the wrong place.
    settings, errors = load_connections(
        Path(connections) if connections else locations.connections_path()
    )
    if errors:
        raise click.ClickException("\n".join(str(e) for e in errors))
    # EnvVar fields (S3 credentials) are resolved from this process's environment, as in a run.
    storage = report_storage_resource(settings.storage)
    try:
        _fetch_stored(storage.process_config_and_initialize(), name, period_key, run_id, output)
    except (DeliveryError, ValueError) as exc:  # S3 refused or unreachable, a malformed run id
        raise click.ClickException(f"{name}: {exc}") from None


def _fetch_stored(storage, name: str, period_key: str, run_id: str | None, output: str | None):
    location = storage.find(name, period_key, run_id)
    if location is None:
        which = f"of run {run_id} " if run_id else ""
        periods = storage.periods(name)
        known = (
            f"; stored periods: {', '.join(periods[-10:])}"
            + (f" (and {len(periods) - 10} earlier)" if len(periods) > 10 else "")
            if periods
            else f"; nothing of {name} is stored yet"
        )
        raise click.ClickException(f"no stored file {which}for {name} period {period_key}{known}")
    own_name = location.rsplit("/", 1)[-1]
    destination = Path(output) if output else Path(own_name)
    if destination.is_dir():
        destination = destination / own_name
    storage.download(location, destination)
    click.echo(f"{location} → {destination}")


@cli.command()
@click.option("--dry-run", is_flag=True, help="Show what would be deleted; delete nothing.")
@_connections_option
def retention(dry_run: bool, connections: str | None) -> None:
    """Delete stored files and runs older than their retention days (README, "Retention").

    Runs are looked at when DAGSTER_HOME names the instance.
    """
    from contextlib import nullcontext

    from dagster import DagsterInstance

    from reports_pipeline.delivery.errors import DeliveryError
    from reports_pipeline.resources.storage import report_storage_resource
    from reports_pipeline.retention_pass import retention_lines, retention_pass
    from reports_pipeline.spec.loader import load_connections

    project = _load((), connections)
    settings, errors = load_connections(
        Path(connections) if connections else locations.connections_path()
    )
    if errors:  # the embedded defaults would look for files in the wrong place
        raise click.ClickException("\n".join(str(e) for e in errors))
    storage = report_storage_resource(settings.storage).process_config_and_initialize()
    home = os.environ.get("DAGSTER_HOME")
    with DagsterInstance.get() if home else nullcontext() as instance:
        try:
            result = retention_pass(
                storage,
                instance,
                [report.spec for report in project.reports],
                settings,
                datetime.now(timezone.utc),
                dry_run=dry_run,
            )
        except DeliveryError as exc:  # S3 refused or unreachable
            raise click.ClickException(str(exc)) from None
    click.echo("\n".join(retention_lines(result)))


cli.add_command(check)
cli.add_command(workspace)
cli.add_command(tables)
cli.add_command(types)
