"""A report e-mailed to an intranet domain (``corp.local``) that the policy allows."""

from dagster import DagsterInstance

from reports_pipeline.definitions import build_definitions
from reports_pipeline.spec.loader import load_project
from reports_pipeline_tests.report_files import (
    report_dict,
    smtp_connection,
    write_report,
    write_test_connections,
)


def _project(tmp_path, smtp_server):
    report = report_dict(
        name="intranet_report",
        owner="lead@corp.local",
        source={"connection": "warehouse", "sql": "select id, customer from invoices"},
        deliver=[{"email": {"to": ["ops@corp.local"], "cc": ["Ops Lead <lead@corp.local>"]}}],
    )
    write_report(tmp_path / "reports", report)
    mail = {**smtp_connection(smtp_server), "from": "reports@corp.local"}
    return write_test_connections(
        tmp_path, {"mail": mail}, policy={"allowed_recipient_domains": ["corp.local"]}
    )


def test_a_report_is_delivered_to_an_intranet_domain_the_policy_lists(tmp_path, smtp_server):
    connections = _project(tmp_path, smtp_server)
    assert load_project([tmp_path / "reports"], connections).errors == []
    defs = build_definitions([tmp_path / "reports"], connections)

    result = defs.resolve_job_def("intranet_report").execute_in_process(
        partition_key="2026-11-02", instance=DagsterInstance.ephemeral(), raise_on_error=False
    )

    assert result.success
    (message,) = smtp_server.wait_for_messages(1)
    assert message.mail_from == "reports@corp.local"
    assert sorted(message.rcpt_tos) == ["lead@corp.local", "ops@corp.local"]
    parsed = message.parsed()
    assert parsed["To"] == "ops@corp.local"
    assert parsed["From"] == "reports@corp.local"
