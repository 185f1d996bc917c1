"""A team's report type in its own installed package: found by its entry point, validated,
run, and built by a run worker that loads only its own report."""

import csv
import io
import sqlite3
import sys
from contextlib import closing

from dagster import DagsterInstance

from reports_pipeline.definitions import build_one_job
from reports_pipeline.report_types.registry import known_report_types, load_report_type
from reports_pipeline.spec.loader import load_project
from reports_pipeline_tests.report_files import report_dict, write_report
from reports_pipeline_tests.report_types.delivered import outbox_attachment, run_report

GRANTS_IN_OCTOBER = (
    "select actor, action, count(*) from audit_events where action in ('grant', 'revoke')"
    " and occurred_at >= '2026-10-01 00:00:00' and occurred_at < '2026-11-01 00:00:00'"
    " group by actor, action order by actor, action"
)


def audit_report(**params) -> dict:
    return report_dict(
        name="access_changes",
        source={"report_type": "audit_actions", "params": params},
        schedule={
            "every": "month",
            "on": 1,
            "at": "06:00",
            "timezone": "UTC",
            "start": "2026-01-01",
        },
    )


def test_an_installed_package_adds_its_type(acme_installed):
    assert known_report_types() == ["audit_actions", "invoice_aging", "top_customers"]


def test_the_module_is_imported_only_when_a_report_uses_it(acme_installed, tmp_path):
    write_report(tmp_path / "shipped", report_dict(source={"report_type": "top_customers"}))
    assert load_project([tmp_path / "shipped"], None).errors == []
    assert "acme_report_types" not in sys.modules

    write_report(tmp_path / "acme", audit_report(actions=["grant"]))
    assert load_project([tmp_path / "acme"], None).errors == []
    assert "acme_report_types" in sys.modules


def test_its_params_are_validated_like_a_shipped_type(acme_installed, tmp_path):
    write_report(tmp_path / "reports", audit_report(min_events="often"), "r.yaml")
    errors = [str(error) for error in load_project([tmp_path / "reports"], None).errors]
    assert [error.split("r.yaml:")[1] for error in errors] == [
        "5: source.params.actions: audit_actions requires this parameter; add it",
        "6: source.params.min_events: input should be a valid integer, unable to parse string"
        " as an integer (got 'often')",
    ]


def test_without_the_package_the_type_is_unknown(tmp_path):
    write_report(tmp_path / "reports", audit_report(actions=["grant"]), "r.yaml")
    (error,) = load_project([tmp_path / "reports"], None).errors
    assert "unknown report type 'audit_actions'; known types: invoice_aging, top_customers" in (
        str(error)
    )


def test_a_report_of_the_type_runs_and_is_delivered(
    acme_installed, tmp_path, demo_deployment, demo_warehouse_file
):
    write_report(tmp_path / "reports", audit_report(actions=["grant", "revoke"]))
    assert run_report(tmp_path, demo_deployment(), "access_changes", "2026-10-01").success

    _, content = outbox_attachment(tmp_path / "outbox")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    with closing(sqlite3.connect(demo_warehouse_file)) as db:
        expected = db.execute(GRANTS_IN_OCTOBER).fetchall()
    assert rows[0] == ["actor", "action", "events"]
    assert [(actor, action, int(n)) for actor, action, n in rows[1:]] == expected


def test_a_run_worker_builds_the_job_from_its_file_alone(acme_installed, tmp_path, demo_deployment):
    report_file = write_report(tmp_path / "reports", audit_report(actions=["grant"]))
    write_report(tmp_path / "reports", report_dict(name="other", source={"report_type": "nope"}))
    job = build_one_job("access_changes", report_file, demo_deployment())
    assert job is not None
    result = job.execute_in_process(
        partition_key="2026-10-01", instance=DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert result.success
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    assert load_report_type("audit_actions").description.startswith("Audit events of the period")
