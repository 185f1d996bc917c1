"""Owners hear once about each late period of their report, by e-mail through a real SMTP
server; the sensor's tick says which reports are late."""

from datetime import datetime, timedelta, timezone

from dagster import build_sensor_context

from reports_pipeline.definitions import build_definitions
from reports_pipeline.sensors.late_notice import LATE_SENSOR_NAME, told_key
from reports_pipeline_tests.report_files import (
    report_dict,
    smtp_connection,
    write_report,
    write_test_connections,
)
from reports_pipeline_tests.test_cli import schedules_running_since, set_schedule_state

# Daily reports whose tick was two hours ago: due for the day before that tick, and late.
PAST_TICK = datetime.now(timezone.utc) - timedelta(hours=2)
DUE_PERIOD = f"{PAST_TICK.date() - timedelta(days=1)}"


def daily(name: str, owner: str) -> dict:
    return report_dict(
        name=name,
        owner=owner,
        source={"connection": "warehouse", "sql": "select 1 as one"},
        schedule={"every": "day", "at": f"{PAST_TICK:%H:%M}", "timezone": "UTC"},
        deliver=[{"email": {"to": ["reader@example.com"]}}],
    )


def project(tmp_path, smtp_server, *names):
    connections = write_test_connections(
        tmp_path,
        {"mail": smtp_connection(smtp_server)},
        policy={"notify": {"ui_base_url": "http://dagster.example.com"}},
    )
    for name in names:
        write_report(tmp_path / "reports", daily(name, f"{name}@example.com"))
    return build_definitions([tmp_path / "reports"], connections)


def evaluate(defs, instance):
    """One tick of the sensor as the daemon runs it; returns its skip message."""
    # The daemon has run these schedules for a week: their earlier ticks were theirs to run.
    schedules_running_since(instance, defs, PAST_TICK - timedelta(days=7))
    context = build_sensor_context(instance=instance, repository_def=defs.get_repository_def())
    result = defs.resolve_sensor_def(LATE_SENSOR_NAME).evaluate_tick(context)
    assert result.run_requests == []
    return result.skip_message


def test_the_owner_of_a_late_report_is_told_once_what_is_late(
    tmp_path, sqlite_instance, smtp_server
):
    defs = project(tmp_path, smtp_server, "overdue")
    message = evaluate(defs, sqlite_instance)
    assert message == f"late: overdue {DUE_PERIOD} (due {PAST_TICK:%Y-%m-%d %H:%M} UTC)"
    (notice,) = smtp_server.wait_for_messages(1)
    assert notice.rcpt_tos == ["overdue@example.com"]
    mail = notice.parsed()
    assert mail["Subject"] == f"Report late: Overdue ({DUE_PERIOD})"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert f"has not delivered period {DUE_PERIOD}" in text
    assert f"due at {PAST_TICK:%Y-%m-%d %H:%M} UTC and is late after 15 minutes" in text
    assert "Last finished run: none yet." in text
    assert "http://dagster.example.com/runs?q%5B%5D=job%3Aoverdue" in text

    # Later ticks still show it in the UI, and tell nobody again.
    assert evaluate(defs, sqlite_instance) == message
    assert evaluate(defs, sqlite_instance) == message
    assert len(smtp_server.messages) == 1


def test_a_new_late_period_is_told_again(tmp_path, sqlite_instance, smtp_server):
    defs = project(tmp_path, smtp_server, "overdue")
    earlier = f"{PAST_TICK.date() - timedelta(days=2)}"
    sqlite_instance.run_storage.set_cursor_values({told_key("overdue"): earlier})
    evaluate(defs, sqlite_instance)
    (notice,) = smtp_server.wait_for_messages(1)
    assert notice.parsed()["Subject"] == f"Report late: Overdue ({DUE_PERIOD})"
    assert sqlite_instance.run_storage.get_cursor_values({told_key("overdue")}) == {
        told_key("overdue"): DUE_PERIOD
    }


def test_delivered_and_stopped_reports_are_not_late(tmp_path, sqlite_instance, smtp_server):
    defs = project(tmp_path, smtp_server, "delivered", "paused", "overdue")
    result = defs.resolve_job_def("delivered").execute_in_process(
        partition_key=DUE_PERIOD, instance=sqlite_instance
    )
    assert result.success
    smtp_server.wait_for_messages(1)  # the report itself, to its reader
    set_schedule_state(sqlite_instance, "paused_schedule", running=False)

    assert evaluate(defs, sqlite_instance).startswith(f"late: overdue {DUE_PERIOD} ")
    notices = smtp_server.wait_for_messages(2)
    assert [n.rcpt_tos for n in notices] == [["reader@example.com"], ["overdue@example.com"]]
    assert len(smtp_server.messages) == 2  # the delivered and the paused report: no notice


def test_no_late_report_says_so(tmp_path, sqlite_instance, smtp_server):
    defs = project(tmp_path, smtp_server, "delivered")
    defs.resolve_job_def("delivered").execute_in_process(
        partition_key=DUE_PERIOD, instance=sqlite_instance
    )
    assert evaluate(defs, sqlite_instance) == "no late reports"
    assert len(smtp_server.wait_for_messages(1)) == 1  # only the report itself


def test_a_report_the_daemon_has_not_run_yet_is_not_late_for_earlier_ticks(
    tmp_path, sqlite_instance, smtp_server
):
    # A report just deployed (or a daemon just started): its schedule has no state in the
    # instance yet, and ticks before now were never its to run. The sensor may evaluate before
    # the scheduler first records the schedule.
    defs = project(tmp_path, smtp_server, "new_report")
    context = build_sensor_context(
        instance=sqlite_instance, repository_def=defs.get_repository_def()
    )
    result = defs.resolve_sensor_def(LATE_SENSOR_NAME).evaluate_tick(context)
    assert result.skip_message == "no late reports"
    assert smtp_server.messages == []
