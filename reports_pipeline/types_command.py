"""``reports types [NAME...]``: the report types a report may name, with their parameters."""

import click


@click.command(name="types")
@click.argument("names", nargs=-1)
def types(names: tuple[str, ...]) -> None:
    """List the report types (shipped and installed) and their parameters."""
    from reports_pipeline.report_types.describe import describe_report_type
    from reports_pipeline.report_types.registry import ReportTypeError, known_report_types

    failed = False
    for name in names or known_report_types():
        try:
            click.echo("\n".join(describe_report_type(name)))
        except ReportTypeError as exc:
            click.echo(f"{name}: {exc}", err=True)
            failed = True
    if failed:
        raise SystemExit(1)
