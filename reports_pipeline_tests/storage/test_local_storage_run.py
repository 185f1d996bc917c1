"""Whole report runs storing on local disk: a re-run keeps the earlier file, and a download
link names the file of the run that sent it."""

import email
import email.policy

from dagster import DagsterInstance

from reports_pipeline.definitions import build_definitions
from reports_pipeline_tests.report_files import report_dict, write_report, write_test_connections

QUERY = (
    "select id, customer from invoices"
    " where issued_at >= :period_start and issued_at < :period_end order by id"
)


def test_a_re_run_keeps_the_earlier_file_and_links_name_their_own_run(tmp_path):
    write_test_connections(
        tmp_path,
        {"outbox": {"kind": "outbox", "path": str(tmp_path / "outbox")}},
        storage={"path": str(tmp_path / "files"), "public_base_url": "https://files.example.com"},
    )
    write_report(
        tmp_path / "reports",
        report_dict(
            name="invoices",
            source={"connection": "warehouse", "sql": QUERY},
            schedule={"every": "day", "timezone": "America/New_York", "start": "2026-01-01"},
            deliver=[{"email": {"to": ["finance@example.com"], "attach": "link"}}],
        ),
    )
    job = build_definitions([tmp_path / "reports"], tmp_path / "connections.yaml")
    job = job.resolve_job_def("invoices")
    instance = DagsterInstance.ephemeral()
    first = job.execute_in_process(partition_key="2026-11-02", instance=instance)
    second = job.execute_in_process(
        partition_key="2026-11-02", instance=instance, tags={"reports/force_delivery": "true"}
    )
    period = tmp_path / "files" / "invoices" / "2026-11-02"
    for run in (first, second):
        assert (period / run.run_id[:8] / "invoices_2026-11-02.csv").is_file()
    assert (period / "latest").read_text().strip() == (
        f"{second.run_id[:8]}/invoices_2026-11-02.csv"
    )
    links = set()
    for sent in (tmp_path / "outbox").glob("*.eml"):
        message = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
        links.add(message.get_body(("plain",)).get_content().split("Download: ", 1)[1].split()[0])
    assert links == {
        f"https://files.example.com/invoices/2026-11-02/{run.run_id[:8]}/invoices_2026-11-02.csv"
        for run in (first, second)
    }
