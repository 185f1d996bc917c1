"""The reports_digest job against a real SQLite instance with real report runs, sending to a
real SMTP server: one e-mail per owner, with the right content; its schedule; and the run
worker's fast path, which never builds it for a report's run."""

from datetime import datetime, timedelta, timezone

from dagster import build_schedule_context

from reports_pipeline.definitions import build_definitions, lazy_repository
from reports_pipeline.jobs.digest_job import DIGEST_JOB_NAME, DIGEST_SCHEDULE_NAME
from reports_pipeline_tests.report_files import (
    report_dict,
    smtp_connection,
    write_report,
    write_test_connections,
)
from reports_pipeline_tests.test_cli import schedules_running_since

# Daily reports whose latest tick was two hours ago, due for the day before it.
PAST_TICK = (datetime.now(timezone.utc) - timedelta(hours=2)).replace(second=0, microsecond=0)
DUE_PERIOD = f"{PAST_TICK.date() - timedelta(days=1)}"


def daily(name: str, owner: str, sql: str = "select 1 as one") -> dict:
    return report_dict(
        name=name,
        owner=owner,
        source={"connection": "warehouse", "sql": sql},
        schedule={"every": "day", "at": f"{PAST_TICK:%H:%M}", "timezone": "UTC"},
        deliver=[{"email": {"to": ["reader@example.com"]}}],
    )


def project(tmp_path, smtp_server, digest=None):
    policy = {"notify": {"ui_base_url": "http://dagster.example.com"}}
    if digest is not None:
        policy["digest"] = digest
    connections = write_test_connections(
        tmp_path, {"mail": smtp_connection(smtp_server)}, policy=policy
    )
    reports = tmp_path / "reports"
    write_report(reports, daily("invoices", "finance@example.com"))
    write_report(reports, daily("broken", "finance@example.com", "select * from no_such_table"))
    write_report(reports, daily("usage", "product@example.com"))
    return reports, connections


def run_period(defs, name, instance):
    return defs.resolve_job_def(name).execute_in_process(
        partition_key=DUE_PERIOD, instance=instance, raise_on_error=False
    )


def digests_by_owner(smtp_server) -> dict:
    return {
        tuple(message.rcpt_tos): message.parsed()
        for message in smtp_server.messages
        if message.rcpt_tos != ["reader@example.com"]  # the reports themselves
    }


def test_each_owner_gets_one_digest_of_their_reports_runs(tmp_path, sqlite_instance, smtp_server):
    reports, connections = project(tmp_path, smtp_server)
    defs = build_definitions([reports], connections)
    assert run_period(defs, "invoices", sqlite_instance).success
    failed = run_period(defs, "broken", sqlite_instance)
    assert not failed.success
    assert run_period(defs, "usage", sqlite_instance).success
    smtp_server.wait_for_messages(2)  # the two reports that ran, to their reader
    # The daemon has run these schedules for a week: their earlier ticks were theirs to run.
    schedules_running_since(sqlite_instance, defs, PAST_TICK - timedelta(days=7))

    result = defs.resolve_job_def(DIGEST_JOB_NAME).execute_in_process(instance=sqlite_instance)
    assert result.success
    assert result.output_for_node("send_digests") == 2
    smtp_server.wait_for_messages(4)
    digests = digests_by_owner(smtp_server)
    assert sorted(digests) == [("finance@example.com",), ("product@example.com",)]

    finance = digests[("finance@example.com",)]
    assert finance["Subject"] == "Weekly reports digest: 2 reports, 1 failing"
    text = finance.get_body(preferencelist=("plain",)).get_content()
    assert "Broken (broken): failing" in text and "Invoices (invoices): ok" in text
    assert "Usage" not in text  # another owner's report
    assert f"every day at {PAST_TICK:%H:%M} (UTC); schedule running" in text
    assert f"failure {DUE_PERIOD} at " in text and f"(run {failed.run_id[:8]})" in text
    assert "fetch_and_render:" in text and "no_such_table" in text
    assert f"{DUE_PERIOD}: due {PAST_TICK:%a %Y-%m-%d %H:%M}, not delivered" in text
    assert f"Last file: {DUE_PERIOD}, 1 row, " in text  # invoices' stored file
    assert "Last file: none stored yet" in text  # broken never stored one
    next_tick = PAST_TICK + timedelta(days=1)
    assert f"Next runs: {next_tick:%a %Y-%m-%d %H:%M} ({PAST_TICK.date()})" in text
    html = finance.get_body(preferencelist=("html",)).get_content()
    assert f'href="http://dagster.example.com/runs/{failed.run_id}"' in html

    product = digests[("product@example.com",)]
    assert product["Subject"] == "Weekly reports digest: 1 report, all ok"
    text = product.get_body(preferencelist=("plain",)).get_content()
    assert "Usage (usage): ok" in text and "Runs: 1 succeeded" in text
    assert "Broken" not in text


def test_runs_outside_the_window_are_left_out(tmp_path, sqlite_instance, smtp_server):
    reports, connections = project(tmp_path, smtp_server)
    defs = build_definitions([reports], connections)
    assert run_period(defs, "usage", sqlite_instance).success
    smtp_server.wait_for_messages(1)
    a_week_later = datetime.now(timezone.utc) + timedelta(days=8)
    result = defs.resolve_job_def(DIGEST_JOB_NAME).execute_in_process(
        instance=sqlite_instance,
        run_config={"ops": {"send_digests": {"config": {"until": a_week_later.isoformat()}}}},
    )
    assert result.success
    smtp_server.wait_for_messages(3)
    text = digests_by_owner(smtp_server)[("product@example.com",)].get_body(
        preferencelist=("plain",)
    )
    content = text.get_content()
    assert "Runs: no runs" in content
    assert f"Last file: {DUE_PERIOD}, 1 row, " in content  # the last file is the last file


def test_the_schedule_ticks_on_monday_at_eight_and_hands_its_tick_to_the_run(
    tmp_path, sqlite_instance, smtp_server
):
    reports, connections = project(tmp_path, smtp_server)
    defs = build_definitions([reports], connections)
    schedule = defs.resolve_schedule_def(DIGEST_SCHEDULE_NAME)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 8 * * 1", "UTC")
    tick = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
    context = build_schedule_context(instance=sqlite_instance, scheduled_execution_time=tick)
    (request,) = schedule.evaluate_tick(context).run_requests
    assert request.run_key == "2026-11-30T08:00:00+00:00"
    assert request.run_config == {
        "ops": {"send_digests": {"config": {"until": "2026-11-30T08:00:00+00:00"}}}
    }


def test_the_policy_sets_the_digest_cadence_or_turns_it_off(tmp_path, smtp_server):
    reports, connections = project(tmp_path, smtp_server, digest={"every": "day", "at": "06:30"})
    daily_defs = build_definitions([reports], connections)
    schedule = daily_defs.resolve_schedule_def(DIGEST_SCHEDULE_NAME)
    assert schedule.cron_schedule == "30 6 * * *"

    (tmp_path / "off").mkdir()
    reports, connections = project(tmp_path / "off", smtp_server, digest=False)
    repository = build_definitions([reports], connections).get_repository_def()
    assert DIGEST_JOB_NAME not in repository.job_names
    assert not repository.has_schedule_def(DIGEST_SCHEDULE_NAME)


def test_a_report_run_never_builds_the_digest_and_a_digest_run_finds_it(tmp_path, smtp_server):
    reports, connections = project(tmp_path, smtp_server)
    one_report = lazy_repository([reports], connections)
    assert one_report.get_job("usage").name == "usage"
    assert not one_report._repository_data.full_load_done  # the run worker's fast path

    digest_run = lazy_repository([reports], connections)
    assert digest_run.get_job(DIGEST_JOB_NAME).name == DIGEST_JOB_NAME
    assert digest_run._repository_data.full_load_done  # no file declares it: the full load


def test_an_owner_whose_mail_is_refused_does_not_stop_the_others(
    tmp_path, sqlite_instance, smtp_server
):
    reports, connections = project(tmp_path, smtp_server)
    defs = build_definitions([reports], connections)
    smtp_server.refuse_recipient("finance@example.com")
    result = defs.resolve_job_def(DIGEST_JOB_NAME).execute_in_process(
        instance=sqlite_instance, raise_on_error=False
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    error = failure.step_failure_data.user_failure_data.description
    assert error.startswith("1 of 2 digests not sent: e-mailing the digest failed: ")
    assert "finance@example.com" in error
    (sent,) = smtp_server.wait_for_messages(1)
    assert sent.rcpt_tos == ["product@example.com"]
