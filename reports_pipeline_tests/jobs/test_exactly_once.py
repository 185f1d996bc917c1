"""Each target gets each period's file once: retries, re-execution and re-runs skip it."""

import pytest
from dagster import DagsterEventType, ReexecutionOptions, execute_job

from reports_pipeline_tests.jobs.job_factory import reconstructable_report_job
from reports_pipeline_tests.jobs.warehouses import create_sqlite_warehouse
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report
from reports_pipeline_tests.smtp_server import SmtpTestServer

QUERY = (
    "select id, customer from invoices"
    " where issued_at >= :period_start and issued_at < :period_end order by id"
)


@pytest.fixture
def instance(sqlite_instance):
    return sqlite_instance


@pytest.fixture
def second_smtp():
    with SmtpTestServer() as server:
        yield server


def project(tmp_path, first, second, attempts=1):
    write_connections(
        tmp_path,
        {
            "connections": {
                "warehouse": {
                    "kind": "sql",
                    "url": create_sqlite_warehouse(tmp_path / "wh.sqlite"),
                },
                "mail": {
                    "kind": "smtp",
                    "host": first.host,
                    "port": first.port,
                    "from": "reports@example.com",
                },
                "backup_mail": {
                    "kind": "smtp",
                    "host": second.host,
                    "port": second.port,
                    "from": "reports@example.com",
                },
            },
            "storage": {"path": str(tmp_path / "files")},
        },
    )
    write_report(
        tmp_path / "reports",
        report_dict(
            name="two_targets",
            source={"connection": "warehouse", "sql": QUERY},
            schedule={"every": "day", "timezone": "America/New_York", "start": "2026-01-01"},
            deliver=[
                {"email": {"to": ["first@example.com"]}},
                {"email": {"to": ["second@example.com"], "connection": "backup_mail"}},
            ],
            retry={"attempts": attempts, "delay": "0.1s"},
        ),
    )
    return reconstructable_report_job(
        tmp_path / "reports", tmp_path / "connections.yaml", "two_targets"
    )


def run(job, instance, tags=None):
    return execute_job(
        job,
        instance,
        tags={"dagster/partition": "2026-11-02", **(tags or {})},
        raise_on_error=False,
    )


def statuses(instance, run_id):
    found = {}
    for record in instance.all_logs(run_id, of_type={DagsterEventType.STEP_OUTPUT}):
        event = record.dagster_event
        if event.step_key.startswith("deliver_"):
            found[event.step_key] = event.step_output_data.metadata["status"].value
    return found


def test_reexecution_from_failure_does_not_send_the_first_target_again(
    tmp_path, instance, smtp_server, second_smtp
):
    second_smtp.refuse_recipient("second@example.com")  # the second target fails for good
    job = project(tmp_path, smtp_server, second_smtp)
    with run(job, instance) as first_run:
        assert not first_run.success
        first_id = first_run.run_id
    assert len(smtp_server.wait_for_messages(1)) == 1
    assert second_smtp.messages == []

    second_smtp.accept_all_recipients()  # the second server works again
    options = ReexecutionOptions.from_failure(first_id, instance)
    # The UI copies the parent run's tags onto a re-execution; execute_job needs them given.
    tags = {"dagster/partition": instance.get_run_by_id(first_id).tags["dagster/partition"]}
    with execute_job(
        job, instance, reexecution_options=options, tags=tags, raise_on_error=False
    ) as again:
        assert again.success
        executed = {
            e.step_key for e in again.all_events if e.event_type == DagsterEventType.STEP_START
        }
        assert executed == {"deliver_2_email"}
    assert len(second_smtp.wait_for_messages(1)) == 1
    assert len(smtp_server.messages) == 1


def test_a_new_run_of_a_delivered_period_sends_nothing_and_says_why(
    tmp_path, instance, smtp_server, second_smtp
):
    job = project(tmp_path, smtp_server, second_smtp)
    with run(job, instance) as first_run:
        assert first_run.success
    with run(job, instance) as second_run:
        assert second_run.success
        assert statuses(instance, second_run.run_id) == {
            "deliver_1_email": "already delivered",
            "deliver_2_email": "already delivered",
        }
    assert len(smtp_server.messages) == 1
    assert len(second_smtp.messages) == 1


def test_force_tag_sends_again_and_says_so(tmp_path, instance, smtp_server, second_smtp):
    job = project(tmp_path, smtp_server, second_smtp)
    with run(job, instance):
        pass
    with run(job, instance, tags={"reports/force_delivery": "true"}) as forced:
        assert forced.success
        assert set(statuses(instance, forced.run_id).values()) == {"re-delivered (forced)"}
    assert len(smtp_server.messages) == 2


def test_transient_failure_retried_within_the_step_delivers_once(
    tmp_path, instance, smtp_server, second_smtp
):
    second_smtp.fail_next(1, code=421, message="busy")
    job = project(tmp_path, smtp_server, second_smtp, attempts=3)
    with run(job, instance) as result:
        assert result.success
        assert statuses(instance, result.run_id)["deliver_2_email"] == "delivered"
    assert len(second_smtp.messages) == 1
    assert len(smtp_server.messages) == 1
