"""send_if: changed: a period whose data a target already got for an earlier period is not sent."""

import re
import sqlite3

from click.testing import CliRunner
from dagster import DagsterEventType, execute_job

from reports_pipeline.cli import cli
from reports_pipeline.jobs.ledger import FORCE_TAG
from reports_pipeline.jobs.send_if_changed import previous_period_key
from reports_pipeline.run_history import report_history
from reports_pipeline.scheduling.cadence import Period, period_for_key
from reports_pipeline.spec.report import ReportSpec
from reports_pipeline_tests.jobs.job_factory import reconstructable_report_job
from reports_pipeline_tests.report_files import (
    report_dict,
    smtp_connection,
    write_report,
    write_test_connections,
)

# The same rows whatever the period: each period's data is what the warehouse holds when it runs.
ALL_INVOICES = "select id, customer from invoices order by id"


def project(tmp_path, first, second=None):
    """A daily report sent only when changed, to ``first`` (and to ``second`` if given)."""
    connections = {"mail": smtp_connection(first)}
    deliver = [{"email": {"to": ["first@example.com"]}}]
    if second is not None:
        connections["backup_mail"] = smtp_connection(second)
        deliver.append({"email": {"to": ["second@example.com"], "connection": "backup_mail"}})
    write_test_connections(tmp_path, connections)
    write_report(
        tmp_path / "reports",
        report_dict(
            name="changes",
            source={"connection": "warehouse", "sql": ALL_INVOICES},
            schedule={"every": "day", "timezone": "America/New_York", "start": "2026-01-01"},
            send_if="changed",
            deliver=deliver,
            retry={"attempts": 1},
        ),
    )
    return reconstructable_report_job(
        tmp_path / "reports", tmp_path / "connections.yaml", "changes"
    )


def run(job, instance, period, tags=None):
    tags = {"dagster/partition": period, **(tags or {})}
    with execute_job(job, instance, tags=tags, raise_on_error=False) as result:
        return result  # its run id and success; what the steps did is read from the instance


def set_customer(tmp_path, name) -> None:
    with sqlite3.connect(tmp_path / "wh.sqlite") as db:
        db.execute("update invoices set customer = ? where id = 1", (name,))


def step_metadata(instance, run_id, step_key) -> dict:
    for record in instance.all_logs(run_id, of_type={DagsterEventType.STEP_OUTPUT}):
        event = record.dagster_event
        if event.step_key == step_key:
            return {k: v.value for k, v in event.step_output_data.metadata.items()}
    raise AssertionError(f"no output of {step_key} in run {run_id}")


def periods_sent(server) -> list[str]:
    """The period of each message, from the default subject ``{{ title }}: {{ period.key }}``."""
    return [m.parsed()["Subject"].rsplit(": ", 1)[1] for m in server.messages]


def test_a_period_with_the_data_of_the_one_before_is_not_sent_and_says_why(
    tmp_path, instance, smtp_server
):
    job = project(tmp_path, smtp_server)
    first = run(job, instance, "2026-11-01")
    second = run(job, instance, "2026-11-02")
    set_customer(tmp_path, "Müller AG")
    third = run(job, instance, "2026-11-03")

    assert all(r.success for r in (first, second, third))
    assert periods_sent(smtp_server) == ["2026-11-01", "2026-11-03"]
    skipped = step_metadata(instance, second.run_id, "deliver_1_email")
    assert skipped["status"] == "skipped"
    assert skipped["reason"].startswith(
        f"data unchanged since period 2026-11-01 (delivered by run {first.run_id} at "
    )
    assert skipped["note"].startswith("not sent: data unchanged since period 2026-11-01")
    assert skipped["unchanged_since_run"] == first.run_id
    sent = step_metadata(instance, third.run_id, "deliver_1_email")
    assert sent["status"] == "delivered"
    assert sent["reason"].startswith(
        f"data changed since period 2026-11-01 (delivered by run {first.run_id}"
    )

    history = {r.run_id: r for r in report_history(instance, "changes", 10)}
    assert history[second.run_id].status == "SUCCESS"
    (target,) = history[second.run_id].targets
    assert not target.failed
    assert target.summary().startswith("skipped: data unchanged since period 2026-11-01")
    shown = CliRunner().invoke(
        cli, ["history", "changes"], env={"DAGSTER_HOME": instance.root_directory}
    )
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    step_line = lines[next(i for i, line in enumerate(lines) if second.run_id[:8] in line) + 1]
    assert re.match(
        r"\s+deliver_1_email\s+skipped\s+attempts 1  data unchanged since period 2026-11-01 ",
        step_line,
    )


def test_unchanged_periods_in_a_row_compare_with_the_last_one_delivered(
    tmp_path, instance, smtp_server
):
    job = project(tmp_path, smtp_server)
    first = run(job, instance, "2026-11-01")
    run(job, instance, "2026-11-02")
    third = run(job, instance, "2026-11-03")
    run(job, instance, "2026-11-05")  # 11-04 never ran: the last delivery still counts

    assert periods_sent(smtp_server) == ["2026-11-01"]
    assert step_metadata(instance, third.run_id, "deliver_1_email")["reason"].startswith(
        f"data unchanged since period 2026-11-01 (delivered by run {first.run_id}"
    )


def test_each_target_compares_with_what_it_got(tmp_path, instance, smtp_server, second_smtp):
    second_smtp.refuse_recipient("second@example.com")
    job = project(tmp_path, smtp_server, second_smtp)
    assert not run(job, instance, "2026-11-01").success  # the second target refused it
    second_smtp.accept_all_recipients()
    again = run(job, instance, "2026-11-02")

    assert again.success
    assert periods_sent(smtp_server) == ["2026-11-01"]
    assert periods_sent(second_smtp) == ["2026-11-02"]  # it never got this data
    assert step_metadata(instance, again.run_id, "deliver_1_email")["status"] == "skipped"
    assert step_metadata(instance, again.run_id, "deliver_2_email")["status"] == "delivered"


def test_a_backfilled_period_compares_with_the_period_just_before_it(
    tmp_path, instance, smtp_server
):
    job = project(tmp_path, smtp_server)
    run(job, instance, "2026-11-01")
    set_customer(tmp_path, "Müller AG")
    run(job, instance, "2026-11-05")
    # The data the latest period was sent with, but 11-02's recipients last got 11-01's.
    backfill = {"dagster/backfill": "backfillid"}
    second = run(job, instance, "2026-11-02", backfill)
    third = run(job, instance, "2026-11-03", backfill)
    fourth = run(job, instance, "2026-11-04", backfill)

    assert periods_sent(smtp_server) == ["2026-11-01", "2026-11-05", "2026-11-02"]
    assert step_metadata(instance, second.run_id, "deliver_1_email")["reason"].startswith(
        "data changed since period 2026-11-01"
    )
    for skipped in (third, fourth):  # 11-04 through 11-03's skip, to the delivery of 11-02
        assert step_metadata(instance, skipped.run_id, "deliver_1_email")["reason"].startswith(
            f"data unchanged since period 2026-11-02 (delivered by run {second.run_id}"
        )


def test_force_sends_unchanged_data(tmp_path, instance, smtp_server):
    job = project(tmp_path, smtp_server)
    run(job, instance, "2026-11-01")
    forced = run(job, instance, "2026-11-02", {FORCE_TAG: "true"})

    assert periods_sent(smtp_server) == ["2026-11-01", "2026-11-02"]
    assert step_metadata(instance, forced.run_id, "deliver_1_email")["status"] == "delivered"


def test_a_skipped_period_run_again_with_the_same_data_is_skipped_again(
    tmp_path, instance, smtp_server
):
    job = project(tmp_path, smtp_server)
    run(job, instance, "2026-11-01")
    run(job, instance, "2026-11-02")
    again = run(job, instance, "2026-11-02")

    assert periods_sent(smtp_server) == ["2026-11-01"]
    assert step_metadata(instance, again.run_id, "deliver_1_email")["status"] == "skipped"


def test_validation_accepts_changed():
    spec = ReportSpec.model_validate(report_dict(send_if="changed"))
    assert spec.send_if == "changed"


def test_the_period_before_a_range_is_the_one_before_its_first():
    from reports_pipeline.scheduling.cadence import combined_period, partitions_definition

    spec = ReportSpec.model_validate(
        report_dict(schedule={"every": "month", "start": "2026-01-01"})
    )
    months = partitions_definition(spec.schedule)
    march_to_may = combined_period(
        period_for_key(months, "2026-03-01"), period_for_key(months, "2026-05-01")
    )
    assert previous_period_key(months, march_to_may) == "2026-02-01"
    assert previous_period_key(None, Period("once", march_to_may.start, march_to_may.end)) is None
