"""``reports check`` (also ``reports validate --connect``) and ``reports tables``."""

import sys
from pathlib import Path

import click

from reports_pipeline import locations
from reports_pipeline.spec.loader import ReportProject

_connections_option = click.option(
    "--connections",
    type=click.Path(dir_okay=False),
    default=None,
    help="connections.yaml to use (default: REPORTS_CONNECTIONS, else the one beside the "
    "reports folder).",
)


@click.command()
@click.argument("reports", nargs=-1, metavar="[NAME|PATH]...")
@_connections_option
@click.option(
    "--strict", is_flag=True, help="Fail (exit code 1) on warnings too, not only on errors."
)
def check(reports: tuple[str, ...], connections: str | None, strict: bool) -> None:
    """Validate reports, then have each one's database check its query (no row is read).

    REPORTS are report names, or files and folders of report files (default: every report).
    """
    from reports_pipeline.cli import _load  # cli registers this command: imported at call time

    paths = tuple(argument for argument in reports if Path(argument).exists())
    names = tuple(argument for argument in reports if argument not in paths)
    if names and paths:
        raise click.ClickException(
            f"give report names or paths, not both (no such file or folder: {', '.join(names)})"
        )
    report_check(_load(paths, connections), strict, names)


def report_check(project: ReportProject, strict: bool, names: tuple[str, ...] = ()) -> None:
    """Print the validation problems of ``project``, then those of the queries of its valid
    reports (only ``names``, when given); exit 1 on any error (and warning when ``strict``)."""
    from reports_pipeline.report_query_check import check_queries

    if names:
        try:
            selected = [project.report(name) for name in names]
        except KeyError as exc:
            raise click.ClickException(
                f"{exc.args[0]}; `reports validate` shows the errors of invalid files"
            ) from None
        files = {loaded.shown_as for loaded in selected}
        errors = []  # the selected reports are valid: other files' errors are not asked for
        warnings = [warning for warning in project.warnings if warning.file in files]
    else:
        selected, errors, warnings = project.reports, list(project.errors), project.warnings
    result = check_queries(selected, project.connections)
    errors += result.errors
    for problem in sorted(errors + warnings, key=lambda e: (e.file, e.line)):
        click.echo(str(problem))
    checked = f"{_count(result.checked, 'query')} checked against {_its_database(result)}"
    if result.skipped:
        checked += f", {_count(len(result.skipped), 'report')} without SQL skipped (report types)"
    if warnings:
        checked += f", {_count(len(warnings), 'warning')}"
    if errors:
        broken = len({error.file for error in errors})
        click.echo(
            f"{_count(len(errors), 'error')} in {_count(broken, 'file')}; {checked}", err=True
        )
        sys.exit(1)
    if strict and warnings:
        click.echo(f"--strict fails on warnings; {checked}", err=True)
        sys.exit(1)
    click.echo(f"ok: {_count(len(selected), 'report')} valid, {checked}")


def _its_database(result) -> str:
    return "its database" if result.checked == 1 else "their databases"


def _count(number: int, noun: str) -> str:
    plural = {"query": "queries"}.get(noun, f"{noun}s")
    return f"{number} {noun if number == 1 else plural}"


@click.command()
@click.argument("connection", required=False)
@_connections_option
def tables(connection: str | None, connections: str | None) -> None:
    """List the tables and columns of a warehouse connection (default: every one).

    The demo warehouse is generated first if it does not exist yet, as a run would.
    """
    from reports_pipeline.spec.connections import SQL_KINDS
    from reports_pipeline.spec.loader import load_connections

    path = Path(connections) if connections else locations.connections_path()
    loaded, errors = load_connections(path)
    if errors:
        raise click.ClickException("\n".join(str(error) for error in errors))
    warehouses = {
        name: settings
        for name, settings in sorted(loaded.connections.items())
        if settings.kind in SQL_KINDS
    }
    if connection is not None:
        if connection not in warehouses:
            raise click.ClickException(
                f"no warehouse connection named '{connection}'; warehouse connections: "
                f"{', '.join(warehouses) or 'none'}"
            )
        warehouses = {connection: warehouses[connection]}
    failed = False
    for index, (name, settings) in enumerate(warehouses.items()):
        if index:
            click.echo("")
        failed |= not _print_tables(name, settings)
    if failed:
        sys.exit(1)


def _print_tables(name: str, settings) -> bool:
    """Print one connection's tables; on failure say why (without secrets) and return False."""
    from reports_pipeline.redaction import Redactor
    from reports_pipeline.resources.connections import connection_resource
    from reports_pipeline.secret_values import connection_secrets
    from reports_pipeline.warehouse.catalog import list_tables
    from reports_pipeline.warehouse.fetch import create_warehouse_engine

    try:
        # EnvVar fields are resolved from this process's environment, as in a run.
        resource = connection_resource(settings).process_config_and_initialize()
        engine = create_warehouse_engine(resource.engine_url())
        try:
            found = list_tables(engine)
        finally:
            engine.dispose()
    except Exception as exc:  # unreachable, refused, an unset variable: the reason, no traceback
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
        click.echo(
            f"{name}: cannot list tables: {Redactor(connection_secrets(settings)).text(reason)}",
            err=True,
        )
        return False
    click.echo(f"{name} ({settings.kind}): {_count(len(found), 'table')}")
    for table in found:
        click.echo(f"  {table.name}")
        width = max(len(column) for column, _ in table.columns)
        for column, type_ in table.columns:
            click.echo(f"    {column.ljust(width)}  {type_}")
    return True
