"""A report that asks for it (``notify.on: [success]``) has each successful run told once, to
its owner and ``notify.to``; a failed run, or a report that does not ask, tells nobody."""

from dagster import build_sensor_context

from reports_pipeline.definitions import build_definitions
from reports_pipeline.sensors.success_notice import SUCCESS_SENSOR_NAME
from reports_pipeline_tests.report_files import (
    report_dict,
    smtp_connection,
    write_report,
    write_test_connections,
)

PERIOD = "2026-11-02"


def report(name: str, notify: dict | None, sql: str = "select 1 as one") -> dict:
    return report_dict(
        name=name,
        owner=f"{name}@example.com",
        source={"connection": "warehouse", "sql": sql},
        schedule={"every": "day", "timezone": "UTC", "start": "2026-01-01"},
        deliver=[{"email": {"to": ["reader@example.com"]}}],
        notify=notify,
    )


def project(tmp_path, smtp_server, *reports):
    connections = write_test_connections(
        tmp_path,
        {"mail": smtp_connection(smtp_server)},
        policy={"notify": {"ui_base_url": "http://dagster.example.com"}},
    )
    for spec in reports:
        write_report(tmp_path / "reports", spec)
    return build_definitions([tmp_path / "reports"], connections)


class SensorTicks:
    """The sensor evaluated tick after tick as the daemon does, its cursor carried over."""

    def __init__(self, defs, instance):
        self.defs, self.instance, self.cursor = defs, instance, None

    def tick(self):
        context = build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            repository_def=self.defs.get_repository_def(),
        )
        result = self.defs.resolve_sensor_def(SUCCESS_SENSOR_NAME).evaluate_tick(context)
        self.cursor = result.cursor
        return result


def notices(smtp_server):
    return [m for m in smtp_server.messages if m.rcpt_tos != ["reader@example.com"]]


def test_a_successful_run_is_told_once_to_the_owner_and_the_extra_people(
    tmp_path, sqlite_instance, smtp_server
):
    defs = project(
        tmp_path,
        smtp_server,
        report("daily_sales", {"on": ["failure", "success"], "to": ["boss@example.com"]}),
    )
    ticks = SensorTicks(defs, sqlite_instance)
    ticks.tick()  # the first tick starts from the latest event, as on a fresh deployment
    result = defs.resolve_job_def("daily_sales").execute_in_process(
        partition_key=PERIOD, instance=sqlite_instance
    )
    assert result.success
    ticks.tick()
    smtp_server.wait_for_messages(2)
    (notice,) = notices(smtp_server)
    assert notice.rcpt_tos == ["daily_sales@example.com", "boss@example.com"]
    mail = notice.parsed()
    assert mail["Subject"] == f"Report done: Daily sales ({PERIOD})"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert f"ran for period {PERIOD}" in text
    assert "File: 1 row, " in text
    assert "deliver_1_email: delivered" in text
    assert f"http://dagster.example.com/runs/{result.run_id}" in text

    ticks.tick()
    ticks.tick()
    assert len(notices(smtp_server)) == 1  # told once


def test_failed_runs_and_reports_that_do_not_ask_tell_no_success(
    tmp_path, sqlite_instance, smtp_server
):
    defs = project(
        tmp_path,
        smtp_server,
        report("quiet", None),  # the default: failure and late only
        report("broken", {"on": ["success"]}, sql="select * from no_such_table"),
    )
    ticks = SensorTicks(defs, sqlite_instance)
    ticks.tick()
    assert (
        defs.resolve_job_def("quiet")
        .execute_in_process(partition_key=PERIOD, instance=sqlite_instance)
        .success
    )
    failed = defs.resolve_job_def("broken").execute_in_process(
        partition_key=PERIOD, instance=sqlite_instance, raise_on_error=False
    )
    assert not failed.success
    ticks.tick()
    smtp_server.wait_for_messages(1)  # the quiet report itself, to its reader
    assert notices(smtp_server) == []


def test_no_report_asks_for_success_notices_and_no_sensor_watches_for_them(tmp_path, smtp_server):
    defs = project(tmp_path, smtp_server, report("quiet", {"on": ["failure"]}))
    sensors = [sensor.name for sensor in defs.get_repository_def().sensor_defs]
    assert SUCCESS_SENSOR_NAME not in sensors
