"""``top_customers``: whole runs over the demo warehouse, e-mailed through a real SMTP server."""

import csv
import io
import json
import sqlite3
from contextlib import closing

import openpyxl
import pytest

from reports_pipeline_tests.report_files import report_dict, smtp_connection, write_report
from reports_pipeline_tests.report_types.delivered import outbox_attachment, run_report

PAID_IN_OCTOBER = (
    "select customer, currency, count(*), sum(amount) from invoices where status = 'paid'"
    " and paid_at >= '2026-10-01 00:00:00' and paid_at < '2026-11-01 00:00:00' {extra}"
    " group by customer, currency order by sum(amount) desc limit {limit}"
)


def monthly(name: str, params: dict, connection: str | None = None, **changes) -> dict:
    source = {"report_type": "top_customers", "params": params}
    return report_dict(
        name=name,
        source={**source, "connection": connection} if connection else source,
        schedule={
            "every": "month",
            "on": 1,
            "at": "06:00",
            "timezone": "UTC",
            "start": "2026-01-01",
        },
        deliver=[{"email": {"to": ["sales@example.com"]}}],
        **changes,
    )


def expected_top(demo, limit: int, extra: str = "") -> list[tuple]:
    with closing(sqlite3.connect(demo)) as db:
        rows = db.execute(PAID_IN_OCTOBER.format(extra=extra, limit=limit)).fetchall()
    return [(rank, c, cur, n, round(r, 2)) for rank, (c, cur, n, r) in enumerate(rows, 1)]


def test_a_run_emails_the_top_customers_as_xlsx(
    tmp_path, demo_deployment, demo_warehouse_file, smtp_server
):
    write_report(tmp_path / "reports", monthly("top_five", {"limit": 5}, format="xlsx"))
    connections = demo_deployment(mail=smtp_connection(smtp_server))
    assert run_report(tmp_path, connections, "top_five", "2026-10-01").success

    (message,) = smtp_server.wait_for_messages(1)
    assert message.rcpt_tos == ["sales@example.com"]
    (part,) = list(message.parsed().iter_attachments())
    assert part.get_filename() == "top_five_2026-10-01.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(part.get_payload(decode=True))).active
    header, *rows = [tuple(cell.value for cell in row) for row in sheet.iter_rows()]
    assert header == ("rank", "customer", "currency", "invoices", "revenue")
    assert rows == expected_top(demo_warehouse_file, 5)


def test_region_and_limit_narrow_the_list(tmp_path, demo_deployment, demo_warehouse_file):
    write_report(tmp_path / "reports", monthly("top_emea", {"limit": 3, "region": "EMEA"}))
    assert run_report(tmp_path, demo_deployment(), "top_emea", "2026-10-01").success

    _, content = outbox_attachment(tmp_path / "outbox")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))[1:]
    expected = expected_top(demo_warehouse_file, 3, "and region = 'EMEA'")
    assert [(int(r[0]), r[1], r[2], int(r[3]), float(r[4])) for r in rows] == expected


@pytest.mark.parametrize("file_format", ["json", "parquet", "html", "pdf"])
def test_every_format_renders_the_type_rows(tmp_path, demo_deployment, file_format):
    write_report(tmp_path / "reports", monthly("top_any", {"limit": 4}, format=file_format))
    assert run_report(tmp_path, demo_deployment(), "top_any", "2026-10-01").success

    name, content = outbox_attachment(tmp_path / "outbox")
    assert name == f"top_any_2026-10-01.{file_format}"
    if file_format == "json":
        assert [row["rank"] for row in json.loads(content)] == [1, 2, 3, 4]
    elif file_format == "parquet":
        import pyarrow.parquet as pq

        assert pq.read_table(io.BytesIO(content)).column("rank").to_pylist() == [1, 2, 3, 4]
    elif file_format == "html":
        assert b"revenue" in content
    else:
        assert content.startswith(b"%PDF")


def test_the_fetch_step_queries_in_the_connections_pool(
    tmp_path, demo_deployment, demo_warehouse_file
):
    from reports_pipeline.definitions import build_definitions

    write_report(tmp_path / "reports", monthly("pooled", {}, connection="finance_dwh"))
    finance = {"kind": "demo", "path": str(demo_warehouse_file), "pool": "dwh", "max_concurrent": 2}
    defs = build_definitions([tmp_path / "reports"], demo_deployment(finance_dwh=finance))
    job = defs.resolve_job_def("pooled")
    assert job.graph.node_named("fetch_and_render").definition.pool == "dwh"
    assert (
        "finance_dwh" in job.graph.node_named("fetch_and_render").definition.required_resource_keys
    )
