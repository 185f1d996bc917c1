"""The shipped reports as Dagster sees them; a change to a report file shows up here as a diff."""

import os
import subprocess
import sys
import textwrap

import pytest
from dagster import DefaultScheduleStatus, DefaultSensorStatus, build_sensor_context

from reports_pipeline.definitions import build_definitions, defs, lazy_repository
from reports_pipeline.sensors.invalid_report_file import InvalidReportFile
from reports_pipeline_tests.report_files import report_dict, write_report

SHIPPED = {
    # job: (schedule, cron, timezone)
    "daily_invoices": ("daily_invoices_schedule", "0 7 * * *", "America/New_York"),
    "monthly_invoice_aging": ("monthly_invoice_aging_schedule", "0 7 1 * *", "America/New_York"),
    "monthly_product_usage": ("monthly_product_usage_schedule", "0 6 1 * *", "Europe/Berlin"),
    "overdue_invoices_live": ("overdue_invoices_live_schedule", "*/2 * * * *", "UTC"),
    "weekly_revenue_by_region": (
        "weekly_revenue_by_region_schedule",
        "0 8 * * 1",
        "America/New_York",
    ),
}


def test_every_shipped_report_is_a_job_with_a_running_schedule():
    jobs = {job.name for job in defs.get_all_jobs() if not job.name.startswith("__")}
    assert jobs == {*SHIPPED, "reports_digest", "reports_retention"}
    for job_name, (schedule_name, cron, zone) in SHIPPED.items():
        schedule = defs.get_schedule_def(schedule_name)
        assert schedule.job_name == job_name
        assert schedule.cron_schedule == cron
        assert schedule.execution_timezone == zone
        assert schedule.default_status == DefaultScheduleStatus.RUNNING
        job = defs.get_job(job_name)
        assert job.partitions_def.timezone == zone
        steps = sorted(node.name for node in job.graph.nodes)
        assert steps == ["deliver_1_email", "fetch_and_render", "persist"]


def test_shipped_schedules_say_their_cadence_in_words():
    descriptions = {name: defs.get_schedule_def(f"{name}_schedule").description for name in SHIPPED}
    assert descriptions == {
        "daily_invoices": "Invoices issued yesterday: every day at 07:00 (America/New_York)",
        "monthly_invoice_aging": (
            "Invoice aging at month end: on the 1st of every month at 07:00 (America/New_York)"
        ),
        "monthly_product_usage": (
            "Monthly product usage by feature: on the 1st of every month at 06:00 (Europe/Berlin)"
        ),
        "overdue_invoices_live": "Overdue invoices (live): every 2 minutes",
        "weekly_revenue_by_region": (
            "Weekly revenue by region: every Monday at 08:00 (America/New_York)"
        ),
    }


def test_the_owners_digest_is_a_job_with_a_running_weekly_schedule():
    schedule = defs.get_schedule_def("reports_digest_schedule")
    assert schedule.job_name == "reports_digest"
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 8 * * 1", "UTC")
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    assert [node.name for node in defs.get_job("reports_digest").graph.nodes] == ["send_digests"]


def test_shipped_definitions_have_their_sensors_and_no_invalid_file_sensors():
    assert [s.name for s in defs.sensor_defs] == [
        "report_catch_up",
        "report_failure_notice",
        "report_late_notice",
        "report_pool_limits",
    ]


def test_disabled_report_gets_a_stopped_schedule(tmp_path):
    write_report(tmp_path / "reports", report_dict(enabled=False))
    built = build_definitions([tmp_path / "reports"], tmp_path / "none.yaml")
    schedule = built.resolve_schedule_def("test_report_schedule")
    assert schedule.default_status == DefaultScheduleStatus.STOPPED


def test_report_tags_are_copied_onto_runs(tmp_path):
    write_report(tmp_path / "reports", report_dict(tags={"domain": "finance"}))
    job = build_definitions([tmp_path / "reports"], tmp_path / "none.yaml").resolve_job_def(
        "test_report"
    )
    assert job.tags["domain"] == "finance"
    assert job.tags["reports/name"] == "test_report"


def test_bad_file_among_good_ones_is_a_visible_sensor_and_the_good_ones_load(tmp_path):
    write_report(tmp_path / "reports", report_dict(), "good.yaml")
    write_report(tmp_path / "reports", report_dict(name="broken", format="docx"), "broken.yaml")
    built = build_definitions([tmp_path / "reports"], tmp_path / "none.yaml")
    assert built.resolve_job_def("test_report").name == "test_report"
    (sensor,) = [s for s in built.sensors if s.name.startswith("invalid_report_file__")]
    assert sensor.name.startswith("invalid_report_file__") and sensor.name.endswith("broken_yaml")
    assert sensor.default_status == DefaultSensorStatus.RUNNING
    assert "broken.yaml:" in sensor.description and "format:" in sensor.description
    with pytest.raises(InvalidReportFile, match=r"'json' or 'parquet' \(got 'docx'\)"):
        sensor(build_sensor_context())


def test_broken_connections_file_is_visible_and_reports_using_it_are_too(tmp_path):
    (tmp_path / "connections.yaml").write_text("connections: {mail: {kind: smtp}}\n")
    write_report(tmp_path / "reports", report_dict())
    built = build_definitions([tmp_path / "reports"], tmp_path / "connections.yaml")
    descriptions = " ".join(sensor.description for sensor in built.sensors)
    assert "connections.mail.host: required field is missing" in descriptions


def _many_reports(folder, count=5):
    return [
        write_report(folder, report_dict(name=f"report_{i}"), f"report_{i}.yaml")
        for i in range(count)
    ]


def test_one_job_is_built_from_its_own_file_alone(tmp_path):
    files = _many_reports(tmp_path / "reports")
    repository = lazy_repository([tmp_path / "reports"], tmp_path / "none.yaml")
    job = repository.get_job("report_3")
    data = repository._repository_data
    assert data.files_loaded_for_single_jobs == [files[3]]
    assert not data.full_load_done
    full_job = build_definitions([tmp_path / "reports"], tmp_path / "none.yaml").resolve_job_def(
        "report_3"
    )
    assert sorted(node.name for node in job.graph.nodes) == sorted(
        node.name for node in full_job.graph.nodes
    )
    assert set(job.resource_defs) == set(full_job.resource_defs)
    assert job.partitions_def == full_job.partitions_def
    # The same job as the daemon's, to the snapshot it stored with the run.
    assert job.get_job_snapshot_id() == full_job.get_job_snapshot_id()


def test_a_run_worker_process_builds_only_the_job_it_runs(tmp_path):
    _many_reports(tmp_path / "reports")
    script = textwrap.dedent(
        """
        from dagster._core.definitions.reconstruct import ReconstructableRepository
        import reports_pipeline.definitions as location
        repository = ReconstructableRepository.for_module("reports_pipeline.definitions", "defs")
        job = repository.get_reconstructable_job("report_1").get_definition()
        data = location.defs._repository_data
        loaded = [path.name for path in data.files_loaded_for_single_jobs]
        print(job.name, data.full_load_done, loaded)
        """
    )
    env = {**os.environ, "REPORTS_DIR": str(tmp_path / "reports")}
    env["REPORTS_CONNECTIONS"] = str(tmp_path / "none.yaml")
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "report_1 False ['report_1.yaml']"


def test_the_full_load_decides_what_the_name_scan_cannot(tmp_path):
    reports = tmp_path / "reports"
    write_report(
        reports,
        '{name: flow_style, owner: o@example.com, source: {sql: "select 1"},'
        ' schedule: {every: day, at: "09:00"}, format: csv,'
        " deliver: [{email: {to: [a@example.com]}}]}\n",
        "flow.yaml",
    )
    write_report(reports, report_dict(name="twice"), "a_twice.yaml")
    write_report(reports, report_dict(name="twice", format="json"), "b_twice.yaml")
    repository = lazy_repository([reports], tmp_path / "none.yaml")
    assert repository.get_job("flow_style").name == "flow_style"
    assert repository._repository_data.full_load_done
    # A name claimed twice is refused in both files, as in the full load: no job, two markers.
    assert not repository.has_job("twice")
    invalid = [s.name for s in repository.sensor_defs if s.name.startswith("invalid_report_file")]
    assert len(invalid) == 2
    assert {name.endswith("a_twice_yaml") for name in invalid} == {True, False}
    assert {name.endswith("b_twice_yaml") for name in invalid} == {True, False}


def test_a_file_whose_name_line_lies_falls_back_to_the_full_load(tmp_path):
    reports = tmp_path / "reports"
    write_report(reports, report_dict(name="real_name"), "real.yaml")
    # The scan finds `name: ghost` but the file is invalid: the full load reports it.
    write_report(reports, "name: ghost\nowner: nobody\n", "ghost.yaml")
    repository = lazy_repository([reports], tmp_path / "none.yaml")
    with pytest.raises(Exception, match="ghost"):
        repository.get_job("ghost")
    assert repository._repository_data.full_load_done


@pytest.mark.parametrize(
    "files",
    [
        ("finance/daily.yaml", "finance_daily.yaml"),
        ("a-b.yaml", "a_b.yaml"),
        ("Bad.yaml", "bad.yaml"),
    ],
)
def test_broken_files_whose_names_collide_are_each_shown_under_their_own_sensor(tmp_path, files):
    reports = tmp_path / "reports"
    write_report(reports, report_dict(name="fine"), "fine.yaml")
    for file in files:
        (reports / file).parent.mkdir(parents=True, exist_ok=True)
        (reports / file).write_text(f"name: [{file}]\n")
    if len(list(reports.rglob("*.yaml"))) != 3:
        pytest.skip("this file system does not tell these names apart")
    repository = build_definitions([reports], tmp_path / "none.yaml").get_repository_def()
    # Dagster's implicit `__ASSET_JOB` (the report assets') is not a report.
    assert [n for n in repository.job_names if not n.startswith("__")] == ["fine", "reports_digest"]
    markers = [s for s in repository.sensor_defs if s.name.startswith("invalid_report_file__")]
    assert len({sensor.name for sensor in markers}) == 2
    for file in files:  # each file's errors under exactly one sensor
        assert sum(f"/{file}:1: name:" in sensor.description for sensor in markers) == 1


def test_a_new_file_claiming_a_deployed_name_does_not_stop_the_deployed_report(
    tmp_path, monkeypatch
):
    from dagster import DagsterInstance
    from dagster._core.test_utils import create_run_for_test

    from reports_pipeline.jobs.report_job import REPORT_FILE_TAG
    from reports_pipeline.locations import PACKAGE_DIR

    reports = tmp_path / "reports"
    deployed = write_report(reports, report_dict(name="twice"), "b_deployed.yaml")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PACKAGE_DIR.parent / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    first = build_definitions([reports], tmp_path / "none.yaml").resolve_job_def("twice")
    with DagsterInstance.get() as instance:  # the report has run: its run names its file
        create_run_for_test(instance, job_name="twice", tags=dict(first.tags))
    assert first.tags[REPORT_FILE_TAG].endswith("b_deployed.yaml")

    newcomer = write_report(reports, report_dict(name="twice", format="json"), "a_new.yaml")
    repository = lazy_repository([reports], tmp_path / "none.yaml")

    # The deployed file keeps the name whatever the files' order; the newcomer is refused.
    assert repository.get_job("twice").tags[REPORT_FILE_TAG] == first.tags[REPORT_FILE_TAG]
    (invalid,) = [s for s in repository.sensor_defs if s.name.startswith("invalid_report_file")]
    assert invalid.name.endswith("a_new_yaml")
    assert "already deployed from" in invalid.description
    assert deployed.name in invalid.description and newcomer.exists()


def test_without_a_deployment_a_name_claimed_twice_goes_to_neither_file(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    reports = tmp_path / "reports"
    write_report(reports, report_dict(name="twice"), "a.yaml")
    write_report(reports, report_dict(name="twice"), "b.yaml")
    assert not lazy_repository([reports], tmp_path / "none.yaml").has_job("twice")


def _csv_by_mail(tmp_path, **other_connections):
    """Definitions with one report, from the warehouse by SMTP mail, among other connections."""
    from reports_pipeline_tests.report_files import write_test_connections

    mail = {"kind": "smtp", "host": "127.0.0.1", "port": 2525, "from": "r@example.com"}
    connections = write_test_connections(tmp_path, {"mail": mail, **other_connections})
    write_report(
        tmp_path / "reports",
        report_dict(
            name="csv_by_mail",
            source={"connection": "warehouse", "sql": "select 1 as one"},
            deliver=[{"email": {"connection": "mail", "to": ["a@example.com"]}}],
        ),
    )
    return build_definitions([tmp_path / "reports"], connections)


def test_a_report_job_carries_only_the_resources_its_steps_use(tmp_path):
    # Each bound resource's config schema is part of the job's snapshot, which the webserver
    # and daemon fetch for every report: other connections must not ride along.
    definitions = _csv_by_mail(
        tmp_path,
        hook={"kind": "webhook", "url": "https://hooks.example.com/x"},
        other_warehouse={"kind": "sql", "url": "sqlite:///" + str(tmp_path / "o.sqlite")},
    )
    job = definitions.resolve_job_def("csv_by_mail")
    assert {"warehouse", "mail", "report_storage"} <= set(job.resource_defs)
    assert not {"hook", "other_warehouse"} & set(job.resource_defs)
    resources_config = job.run_config_schema.config_type.fields["resources"].config_type.fields
    assert "hook" not in resources_config and "warehouse" in resources_config
    # Every connection is still a resource of the location, shown on its Resources page.
    assert {"hook", "other_warehouse"} <= set(
        definitions.get_repository_def().get_top_level_resources()
    )


def test_a_report_job_has_no_settings_to_fill_in_its_run_config(tmp_path):
    # Connections.yaml fixes every resource's settings and the executor has none of its own:
    # their config schemas would make up a third of each report job's snapshot.
    from dagster._config import ConfigTypeKind

    job = _csv_by_mail(tmp_path).resolve_job_def("csv_by_mail")
    fields = job.run_config_schema.config_type.fields
    for key in ("warehouse", "mail", "report_storage"):
        resource_fields = fields["resources"].config_type.fields[key].config_type.fields
        assert resource_fields["config"].config_type.kind == ConfigTypeKind.ANY, key
    assert fields["execution"].config_type.fields["config"].config_type.kind == ConfigTypeKind.ANY
    # The settings are still the connection's: the SMTP resource a run builds has them.
    from dagster import build_resources

    with build_resources({"mail": job.resource_defs["mail"]}) as resources:
        assert (resources.mail.host, resources.mail.port) == ("127.0.0.1", 2525)
