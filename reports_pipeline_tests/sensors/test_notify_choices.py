"""A report's ``notify`` decides which failure and late notices go out and to whom: ``on``
leaves a kind out, ``to`` adds people beside the owner (one e-mail to all)."""

from datetime import datetime, timedelta, timezone

from dagster import build_sensor_context

from reports_pipeline.definitions import build_definitions
from reports_pipeline.sensors.failure_notice import FAILURE_SENSOR_NAME
from reports_pipeline.sensors.late_notice import LATE_SENSOR_NAME
from reports_pipeline_tests.report_files import (
    report_dict,
    smtp_connection,
    write_report,
    write_test_connections,
)
from reports_pipeline_tests.test_cli import schedules_running_since

PAST_TICK = datetime.now(timezone.utc) - timedelta(hours=2)
DUE_PERIOD = f"{PAST_TICK.date() - timedelta(days=1)}"


def broken(name: str, notify: dict | None) -> dict:
    """A daily report whose query fails, due two hours ago: failing, and late."""
    return report_dict(
        name=name,
        owner=f"{name}@example.com",
        source={"connection": "warehouse", "sql": "select * from no_such_table"},
        schedule={"every": "day", "at": f"{PAST_TICK:%H:%M}", "timezone": "UTC"},
        deliver=[{"email": {"to": ["reader@example.com"]}}],
        notify=notify,
    )


def project(tmp_path, smtp_server, *reports):
    connections = write_test_connections(tmp_path, {"mail": smtp_connection(smtp_server)})
    for spec in reports:
        write_report(tmp_path / "reports", spec)
    return build_definitions([tmp_path / "reports"], connections)


def evaluate(defs, instance, sensor_name, cursor=None):
    # The daemon has run these schedules for a week: their earlier ticks were theirs to run.
    schedules_running_since(instance, defs, PAST_TICK - timedelta(days=7))
    context = build_sensor_context(
        instance=instance, cursor=cursor, repository_def=defs.get_repository_def()
    )
    return defs.resolve_sensor_def(sensor_name).evaluate_tick(context)


def fail_every_report(defs, instance, *names):
    """A failed run of each report, between two ticks of the failure sensor."""
    cursor = evaluate(defs, instance, FAILURE_SENSOR_NAME).cursor
    for name in names:
        result = defs.resolve_job_def(name).execute_in_process(
            partition_key=DUE_PERIOD, instance=instance, raise_on_error=False
        )
        assert not result.success
    evaluate(defs, instance, FAILURE_SENSOR_NAME, cursor)


def test_a_failure_notice_goes_to_the_owner_and_notify_to_in_one_email(
    tmp_path, sqlite_instance, smtp_server
):
    defs = project(
        tmp_path,
        smtp_server,
        broken("shared", {"to": ["boss@example.com", "ops@example.com"]}),
    )
    fail_every_report(defs, sqlite_instance, "shared")
    (notice,) = smtp_server.wait_for_messages(1)
    assert notice.rcpt_tos == ["shared@example.com", "boss@example.com", "ops@example.com"]
    mail = notice.parsed()
    assert mail["Subject"] == f"Report failed: Shared ({DUE_PERIOD})"
    assert mail["To"] == "shared@example.com, boss@example.com, ops@example.com"


def test_notify_on_without_failure_sends_no_failure_notice(tmp_path, sqlite_instance, smtp_server):
    defs = project(
        tmp_path,
        smtp_server,
        broken("late_only", {"on": ["late"]}),
        broken("told", None),
    )
    fail_every_report(defs, sqlite_instance, "late_only", "told")
    (notice,) = smtp_server.wait_for_messages(1)
    assert notice.rcpt_tos == ["told@example.com"]


def test_late_notices_follow_notify_on_and_to(tmp_path, sqlite_instance, smtp_server):
    defs = project(
        tmp_path,
        smtp_server,
        broken("failures_only", {"on": ["failure"]}),
        broken("with_team", {"on": ["late"], "to": ["team@example.com"]}),
    )
    message = evaluate(defs, sqlite_instance, LATE_SENSOR_NAME).skip_message
    # Both are late, and the tick says so; only the one that asks is told.
    assert f"failures_only {DUE_PERIOD}" in message and f"with_team {DUE_PERIOD}" in message
    (notice,) = smtp_server.wait_for_messages(1)
    assert notice.rcpt_tos == ["with_team@example.com", "team@example.com"]
    assert notice.parsed()["Subject"] == f"Report late: With team ({DUE_PERIOD})"
