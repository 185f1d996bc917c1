"""``reports``: validate, list, preview and run report files from the command line."""

import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from reports_pipeline import locations
from reports_pipeline.spec.loader import ReportProject, load_project


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
def validate(paths: tuple[str, ...], connections: str | None, strict: bool) -> None:
    """Check report files (or folders of them) against the spec and connections.yaml."""
    project = _load(paths, connections)
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

    project = _load((), connections)
    rows = [("NAME", "EVERY", "CRON", "TIMEZONE", "FORMAT", "TARGETS", "STATUS")]
    for report in sorted(project.reports, key=lambda r: r.spec.name):
        spec = report.spec
        rows.append(
            (
                spec.name,
                spec.schedule.every,
                schedule_cron(spec.schedule),
                spec.timezone,
                spec.format,
                ",".join(target.channel for target in spec.deliver),
                "running" if spec.enabled else "paused",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    if project.errors:
        click.echo(
            f"\n{len(project.errors_by_file())} invalid files; run `reports validate`", err=True
        )


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
@_connections_option
def run(name: str, period_key: str | None, no_deliver: bool, connections: str | None) -> None:
    """Run one period of a report now (recorded in Dagster when DAGSTER_HOME is set)."""
    from dagster import DagsterInstance

    from reports_pipeline.definitions import build_definitions

    project = _load((), connections)
    _report(project, name)
    defs = build_definitions(connections_file=Path(connections) if connections else None)
    report_job = defs.resolve_job_def(name)
    partition_key, tags = _run_selection(report_job.partitions_def, name, period_key)
    selection = ["fetch_and_render", "persist"] if no_deliver else None
    with (
        DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
    ) as instance:
        result = report_job.execute_in_process(
            partition_key=partition_key,
            tags=tags,
            instance=instance,
            op_selection=selection,
            raise_on_error=False,
        )
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            click.echo(
                f"{event.step_key} failed: {error.message.strip() if error else 'unknown error'}",
                err=True,
            )
    if not result.success:
        raise click.ClickException(f"run {result.run_id} failed")
    stored = result.output_for_node("persist")
    click.echo(f"{stored['rows']} rows → {stored['path']}")
    click.echo("delivered" if not no_deliver else "not delivered (--no-deliver)")


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
        click.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(2)


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
        raise click.ClickException(f"{name}: {exc}") from None
    click.echo(f"{name}: ok: {result}")


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
            click.echo(f"    {target.step:<20} {outcome}  {target.detail}")
