"""`reports check` and `reports tables` against real Postgres, SQLite and DuckDB warehouses."""

import re
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from reports_pipeline.cli import cli
from reports_pipeline_tests.jobs.warehouses import (
    create_postgres_warehouse,
    create_sqlite_warehouse,
)
from reports_pipeline_tests.postgres_databases import connect_admin, fresh_database
from reports_pipeline_tests.report_files import write_connections

# Line numbers matter: the tests assert the file line each problem is reported at.
REPORT = """\
name: {name}
owner: owner@example.com
source:
  connection: warehouse
  sql: |
    select region, sum(amount) as revenue
    from invoices
    where status = :status
      and issued_at >= :period_start and issued_at < :period_end
    group by region
  params: {{status: paid}}
schedule: {{every: day, at: "09:00", timezone: UTC}}
format: pdf
format_options:
  chart: {{type: bar, x: region, y: revenue}}
deliver:
  - email: {{to: [someone@example.com]}}
"""
# (mistake, the line of the file reported, its field, words of the message)
MISTAKES = {
    "syntax error": (
        ("from invoices", "fromm invoices"),
        7,
        "source.sql",
        r"query line 2: the database refuses the query: .*syntax error",
    ),
    "unknown table": (
        ("from invoices", "from invoicez"),
        7,
        "source.sql",
        r"query line 2: the database refuses the query: .*invoicez",
    ),
    "unknown column": (
        ("group by region", "group by regionn"),
        10,
        "source.sql",
        r"query line 5: the database refuses the query: .*regionn",
    ),
    "unknown bind": (
        (":status\n", ":statuss\n"),
        8,
        "source.sql",
        r"query line 3: :statuss has no value: did you mean :status\? source\.params supplies"
        r" status, and every run binds period_start, period_end; add statuss to source\.params",
    ),
    "chart x not in the result": (
        ("x: region", "x: regio"),
        15,
        "format_options.chart.x",
        r"no column 'regio' in the query's result; did you mean 'region'\? columns: region,"
        r" revenue",
    ),
}


def invoke(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def report_text(name: str = "sales", mistake: str | None = None) -> str:
    text = REPORT.format(name=name)
    if mistake:
        (old, new), *_ = MISTAKES[mistake]
        assert old in text
        text = text.replace(old, new, 1)
    return text


@pytest.fixture(scope="module")
def postgres_warehouse(postgres_url):
    """A fresh database of INVOICES of its own, so no other test's connection is counted
    (``postgres_url`` skips, or fails under CI, when the server is unreachable)."""
    admin = connect_admin()
    try:
        with fresh_database(admin, "reports_check") as url:
            create_postgres_warehouse(url)
            yield url
    finally:
        admin.close()


def _duckdb_warehouse(folder: Path) -> str:
    path = folder / "wh.duckdb"
    with duckdb.connect(str(path)) as db:
        db.execute(
            "create table invoices (id integer, customer varchar, region varchar,"
            " amount decimal(12, 2), status varchar, issued_at timestamptz)"
        )
    return f"duckdb:///{path}"


@pytest.fixture(params=["postgres", "sqlite", "duckdb"])
def project(request, tmp_path):
    """A folder with connections.yaml naming a warehouse of each kind; its path."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_warehouse")
    elif request.param == "sqlite":
        url = create_sqlite_warehouse(tmp_path / "wh.sqlite")
    else:
        url = _duckdb_warehouse(tmp_path)
    write_connections(tmp_path, {"connections": {"warehouse": {"kind": "sql", "url": url}}})
    (tmp_path / "reports").mkdir()
    return tmp_path


def check(project: Path, *args: str):
    connections = str(project / "connections.yaml")
    return invoke("check", *args, "--connections", connections)


def test_a_good_report_passes(project):
    (project / "reports" / "sales.yaml").write_text(report_text())
    result = check(project, str(project / "reports"))
    assert result.exit_code == 0, result.output
    assert result.output == "ok: 1 report valid, 1 query checked against its database\n"


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_mistake_is_reported_at_its_line(project, mistake):
    (project / "reports" / "sales.yaml").write_text(report_text(mistake=mistake))
    result = check(project, str(project / "reports"))
    assert result.exit_code == 1
    first, summary = result.output.splitlines()
    _, line, field, words = MISTAKES[mistake]
    assert first.startswith(f"{project / 'reports' / 'sales.yaml'}:{line}: {field}: ")
    assert re.search(words, first), first
    assert summary == "1 error in 1 file; 1 query checked against its database"


def test_a_chart_y_axis_of_text_is_reported_where_the_database_types_columns(project):
    (project / "reports" / "sales.yaml").write_text(
        report_text().replace("y: revenue", "y: region")
    )
    result = check(project, str(project / "reports"))
    if "wh.sqlite" in (project / "connections.yaml").read_text():
        assert result.exit_code == 0  # SQLite types values, not columns: the run checks it
        return
    assert result.exit_code == 1
    assert (
        ":15: format_options.chart.y: column 'region' does not hold numbers, and a chart's y axis"
        " needs them; numeric columns: revenue"
    ) in result.output


def test_several_mistakes_in_several_files_are_all_reported(project):
    reports = project / "reports"
    (reports / "a.yaml").write_text(report_text("a", "unknown bind"))
    (reports / "b.yaml").write_text(report_text("b", "unknown column"))
    (reports / "c.yaml").write_text(report_text("c"))
    (reports / "d.yaml").write_text("name: d\nowner: not-an-address\n")  # fails validation
    result = check(project, str(reports))
    assert result.exit_code == 1
    reported = [line.split(": ", 1)[0] for line in result.output.splitlines()[:-1]]
    assert [Path(place).name for place in reported[:2]] == ["a.yaml:8", "b.yaml:10"]
    assert all(Path(place).name.startswith("d.yaml") for place in reported[2:])
    assert result.output.splitlines()[-1].endswith("; 3 queries checked against their databases")


def test_validate_connect_is_check(project):
    (project / "reports" / "sales.yaml").write_text(report_text(mistake="unknown table"))
    connections = str(project / "connections.yaml")
    checked = invoke("check", str(project / "reports"), "--connections", connections)
    validated = invoke(
        "validate", "--connect", str(project / "reports"), "--connections", connections
    )
    assert validated.exit_code == checked.exit_code == 1
    assert validated.output == checked.output
    assert invoke("validate", str(project / "reports"), "--connections", connections).exit_code == 0


def test_reports_by_name_from_the_reports_folder(tmp_path):
    url = create_sqlite_warehouse(tmp_path / "wh.sqlite")
    connections = write_connections(
        tmp_path, {"connections": {"warehouse": {"kind": "sql", "url": url}}}
    )
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "good.yaml").write_text(report_text("good"))
    (reports / "bad.yaml").write_text(report_text("bad", "unknown table"))
    env = {"REPORTS_DIR": str(reports), "REPORTS_CONNECTIONS": str(connections)}
    assert invoke("check", "good", env=env).exit_code == 0
    bad = invoke("check", "bad", env=env)
    assert bad.exit_code == 1
    assert "bad.yaml:7: source.sql:" in bad.output
    missing = invoke("check", "nothing_like_it", env=env)
    assert missing.exit_code == 1
    assert "no valid report named 'nothing_like_it'" in missing.output


def test_a_check_leaves_no_connection_or_transaction_on_postgres(postgres_warehouse, tmp_path):
    write_connections(
        tmp_path, {"connections": {"warehouse": {"kind": "sql", "url": postgres_warehouse}}}
    )
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "good.yaml").write_text(report_text("good"))
    (reports / "bad.yaml").write_text(report_text("bad", "unknown column"))
    result = check(tmp_path, str(reports))
    assert result.exit_code == 1
    database = postgres_warehouse.rsplit("/", 1)[1]
    admin = connect_admin()
    try:
        with admin.cursor() as cursor:
            cursor.execute(
                "select state from pg_stat_activity where datname = %s and pid <> pg_backend_pid()",
                (database,),
            )
            assert cursor.fetchall() == []  # neither idle in transaction nor idle at all
    finally:
        admin.close()


def test_secrets_never_reach_the_output(postgres_warehouse, tmp_path):
    # The server echoes the database name, here the same as the password.
    secret = "S3cretWarehousePassw0rd"
    base = postgres_warehouse.rsplit("/", 1)[0].replace("postgres@", f"postgres:{secret}@")
    write_connections(
        tmp_path, {"connections": {"warehouse": {"kind": "sql", "url": {"env": "WH_URL"}}}}
    )
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "sales.yaml").write_text(report_text())
    result = CliRunner().invoke(
        cli,
        ["check", str(reports), "--connections", str(tmp_path / "connections.yaml")],
        env={"WH_URL": f"{base}/{secret}"},
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert "sales.yaml:4: source.connection: cannot connect to 'warehouse': " in result.output
    assert "***" in result.output
    assert secret not in result.output


def test_an_unset_connection_variable_is_reported_at_the_connection(tmp_path):
    write_connections(
        tmp_path, {"connections": {"warehouse": {"kind": "sql", "url": {"env": "NO_SUCH_URL"}}}}
    )
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "sales.yaml").write_text(report_text())
    result = CliRunner().invoke(
        cli,
        ["check", str(reports), "--connections", str(tmp_path / "connections.yaml")],
        env={"NO_SUCH_URL": None},
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert "sales.yaml:4: source.connection: cannot open 'warehouse': " in result.output
    assert "NO_SUCH_URL" in result.output


def test_tables_lists_a_connections_tables_and_columns(project):
    result = invoke("tables", "warehouse", "--connections", str(project / "connections.yaml"))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "warehouse (sql): 1 table"
    assert lines[1] == "  invoices"
    columns = [line.split() for line in lines[2:]]
    assert [column[0] for column in columns] == [
        "id",
        "customer",
        "region",
        "amount",
        "status",
        "issued_at",
    ]
    assert columns[3][1].startswith(("numeric", "decimal"))


def test_tables_of_the_demo_warehouse_generates_it(tmp_path):
    demo = tmp_path / "elsewhere" / "demo.sqlite"
    connections = write_connections(
        tmp_path, {"connections": {"demo_warehouse": {"kind": "demo", "path": str(demo)}}}
    )
    result = invoke("tables", "--connections", str(connections))
    assert result.exit_code == 0, result.output
    assert demo.is_file()
    assert result.output.startswith("demo_warehouse (demo): 3 tables\n  audit_events\n")
    assert "  invoices\n    id         integer\n    customer   text\n" in result.output
    assert "  product_usage\n" in result.output


def test_tables_of_an_unknown_connection_names_the_known_ones(tmp_path):
    connections = write_connections(
        tmp_path, {"connections": {"outbox": {"kind": "outbox", "path": str(tmp_path)}}}
    )
    result = invoke("tables", "outbox", "--connections", str(connections))
    assert result.exit_code == 1
    assert "no warehouse connection named 'outbox'; warehouse connections: demo_warehouse" in (
        result.output
    )


def test_totals_a_document_template_reads_must_be_columns_of_the_result(project):
    reports = project / "reports"
    (reports / "sales.yaml").write_text(
        report_text().replace("format_options:\n", "format_options:\n  template: own.html.j2\n")
    )
    (reports / "own.html.j2").write_text(
        '{% extends "report.html.j2" %}{% block summary %}{{ totals.revenu }}'
        ' {{ totals["revenue"] }}{% for k, v in totals.items() %}{{ k }}{% endfor %}'
        "{% endblock %}"
    )
    result = check(project, str(reports))
    assert result.exit_code == 1
    first, _ = result.output.splitlines()
    assert first.endswith(
        "sales.yaml:15: format_options.template: the template reads totals.revenu: no column"
        " 'revenu' in the query's result; did you mean 'revenue'? columns: region, revenue"
    )
