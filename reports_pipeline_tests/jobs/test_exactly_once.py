"""Each target gets each period's content once: retries, re-execution and re-runs skip it."""

import json
import sqlite3

import pytest
from dagster import DagsterEventType, DagsterInstance, ReexecutionOptions, execute_job

from reports_pipeline_tests.jobs.job_factory import reconstructable_report_job
from reports_pipeline_tests.report_files import (
    report_dict,
    smtp_connection,
    write_report,
    write_test_connections,
)

QUERY = (
    "select id, customer from invoices"
    " where issued_at >= :period_start and issued_at < :period_end order by id"
)


def project(tmp_path, first, second, attempts=1):
    write_test_connections(
        tmp_path, {"mail": smtp_connection(first), "backup_mail": smtp_connection(second)}
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


# Every format and both compressions, by the content's fingerprint: XLSX records its creation
# time, PDF and HTML print "Generated …", gzip and zip store modification times, so the stored
# files differ between runs while the report's content does not. PDF once: WeasyPrint is slow.
FORMATS = [
    ("csv", None),
    ("xlsx", None),
    ("pdf", None),
    ("html", None),
    ("json", None),
    ("parquet", None),
    ("csv", "gzip"),
    ("xlsx", "zip"),
    ("html", "gzip"),
    ("json", "zip"),
]
FORMAT_IDS = [f"{fmt}.{compress}" if compress else fmt for fmt, compress in FORMATS]


def one_target_project(tmp_path, mail: dict, format="csv", compress=None):
    """A report of one period's invoices (ids 1-3) e-mailed through ``mail``."""
    write_test_connections(tmp_path, {"mail": mail})
    write_report(
        tmp_path / "reports",
        report_dict(
            name="invoices",
            source={"connection": "warehouse", "sql": QUERY},
            schedule={"every": "day", "timezone": "America/New_York", "start": "2026-01-01"},
            format=format,
            format_options={"compress": compress} if compress else {},
            deliver=[{"email": {"to": ["finance@example.com"]}}],
        ),
    )
    return reconstructable_report_job(
        tmp_path / "reports", tmp_path / "connections.yaml", "invoices"
    )


def step_metadata(instance, run_id, step_key) -> dict:
    for record in instance.all_logs(run_id, of_type={DagsterEventType.STEP_OUTPUT}):
        event = record.dagster_event
        if event.step_key == step_key:
            return {k: v.value for k, v in event.step_output_data.metadata.items()}
    raise AssertionError(f"no output of {step_key} in run {run_id}")


def change_a_row(tmp_path) -> None:
    with sqlite3.connect(tmp_path / "wh.sqlite") as db:
        db.execute("update invoices set customer = 'Müller AG' where id = 1")


@pytest.mark.parametrize(("format", "compress"), FORMATS, ids=FORMAT_IDS)
def test_every_format_runs_twice_and_is_e_mailed_once(
    tmp_path, instance, smtp_server, format, compress
):
    job = one_target_project(tmp_path, smtp_connection(smtp_server), format, compress)
    with run(job, instance) as first:
        assert first.success
    with run(job, instance) as second:
        assert second.success

    assert len(smtp_server.messages) == 1
    stored = [step_metadata(instance, r.run_id, "persist") for r in (first, second)]
    assert stored[0]["fingerprint"] == stored[1]["fingerprint"]
    assert len(stored[0]["sha256"]) == 64  # the file's own hash stays, for integrity
    delivered = step_metadata(instance, second.run_id, "deliver_1_email")
    assert delivered["status"] == "already delivered"
    assert delivered["note"].startswith(f"already delivered by run {first.run_id} at ")
    assert delivered["delivered_by_run"] == first.run_id


def test_a_changed_row_is_a_new_delivery_that_says_what_it_replaces(
    tmp_path, instance, smtp_server
):
    job = one_target_project(tmp_path, smtp_connection(smtp_server), "xlsx")
    with run(job, instance) as first:
        assert first.success
    change_a_row(tmp_path)
    with run(job, instance) as changed:
        assert changed.success
    with run(job, instance) as again:
        assert again.success

    assert len(smtp_server.messages) == 2
    delivered = step_metadata(instance, changed.run_id, "deliver_1_email")
    assert delivered["status"] == "delivered"
    assert delivered["reason"].startswith(
        f"content changed since the delivery by run {first.run_id} at "
    )
    assert delivered["previous_run"] == first.run_id
    assert step_metadata(instance, again.run_id, "deliver_1_email")["note"].startswith(
        f"already delivered by run {changed.run_id} at "
    )


def test_content_changed_back_is_sent_again(tmp_path, instance, smtp_server):
    job = one_target_project(tmp_path, smtp_connection(smtp_server))
    with run(job, instance):
        pass
    change_a_row(tmp_path)
    with run(job, instance) as changed:
        assert changed.success
    with sqlite3.connect(tmp_path / "wh.sqlite") as db:
        db.execute("update invoices set customer = 'Müller GmbH' where id = 1")
    with run(job, instance) as back:
        assert back.success
        assert step_metadata(instance, back.run_id, "deliver_1_email")["reason"].startswith(
            f"content changed since the delivery by run {changed.run_id}"
        )
    assert len(smtp_server.messages) == 3


def test_a_backfill_run_of_a_delivered_period_finds_the_delivery(tmp_path, instance, smtp_server):
    job = one_target_project(tmp_path, smtp_connection(smtp_server), "html", "zip")
    with run(job, instance) as first:
        assert first.success
    with run(job, instance, tags={"dagster/backfill": "backfillid"}) as backfill:
        assert backfill.success
        delivered = step_metadata(instance, backfill.run_id, "deliver_1_email")
    assert delivered["delivered_by_run"] == first.run_id
    assert len(smtp_server.messages) == 1


def outbox_files(tmp_path):
    return sorted((tmp_path / "outbox").glob("*.eml"))


@pytest.mark.parametrize(("format", "compress"), [("xlsx", None), ("csv", "gzip")])
def test_the_outbox_keeps_one_file_per_delivery_and_never_overwrites(
    tmp_path, instance, format, compress
):
    outbox = {"kind": "outbox", "path": str(tmp_path / "outbox")}
    job = one_target_project(tmp_path, outbox, format, compress)
    for _ in range(2):
        with run(job, instance) as result:
            assert result.success
    (first,) = outbox_files(tmp_path)
    written = first.read_bytes()

    change_a_row(tmp_path)
    with run(job, instance) as changed:
        assert changed.success
    with run(job, instance, tags={"reports/force_delivery": "true"}) as forced:
        assert forced.success

    files = outbox_files(tmp_path)
    assert len(files) == 3
    assert first.read_bytes() == written


def test_a_delivery_written_but_not_recorded_is_not_written_twice(tmp_path, instance):
    """A step that wrote its .eml and died before the ledger recorded it leaves a file and no
    entry; here a second instance, whose ledger is empty, plays the next attempt."""
    outbox = {"kind": "outbox", "path": str(tmp_path / "outbox")}
    job = one_target_project(tmp_path, outbox, "xlsx")
    with run(job, instance) as first:
        assert first.success
    (tmp_path / "unrecorded_home").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "unrecorded_home")) as unrecorded:
        with run(job, unrecorded) as again:
            assert again.success
            assert step_metadata(unrecorded, again.run_id, "deliver_1_email")["status"] == (
                "delivered"
            )
    assert len(outbox_files(tmp_path)) == 1


def test_a_delivery_recorded_by_file_sha256_before_fingerprints_is_still_found(instance):
    from reports_pipeline.jobs.ledger import LedgerKey, decide, find_deliveries

    key = LedgerKey("invoices", "2026-11-02", "1_email_abc", "f" * 64)
    old_entry = {"run_id": "old-run", "at": "2026-11-03T09:00:00+00:00", "summary": "sent"}
    file_sha256 = "a" * 64
    instance.run_storage.set_cursor_values(
        {f"reports.delivered/invoices/2026-11-02/1_email_abc/{file_sha256}": json.dumps(old_entry)}
    )

    decision = decide(key, *find_deliveries(instance, key, file_sha256), forced=False)
    assert not decision.send
    assert decision.reason == "already delivered by run old-run at 2026-11-03T09:00:00+00:00"
    other_file = decide(key, *find_deliveries(instance, key, "b" * 64), forced=False)
    assert other_file.send and other_file.reason == ""
