import pytest
from dagster import DagsterInstance

from reports_pipeline.definitions import build_definitions
from reports_pipeline.delivery.errors import PermanentDeliveryError
from reports_pipeline.delivery.target_paths import contained_path
from reports_pipeline.spec.loader import load_project
from reports_pipeline_tests.jobs.test_channels import QUERY
from reports_pipeline_tests.jobs.test_file_channels import sftp_connection
from reports_pipeline_tests.report_files import report_dict, write_report, write_test_connections
from reports_pipeline_tests.sftp_server import SftpTestServer

SFTP_PASSWORD = "sftp-secret-pw-path"


@pytest.mark.parametrize(
    ("template", "rendered"),
    [
        ("/out/{{ params.dir }}/x.csv", "/out/../../etc/x.csv"),
        ("out/{{ params.dir }}/x.csv", "out/..\\..\\x.csv"),
        ("{{ params.dir }}/x.csv", "../x.csv"),
        ("{{ params.dir }}/x.csv", "/etc/x.csv"),
        ("{{ params.dir }}/x.csv", "\\\\server\\share\\x.csv"),
        ("/out/{{ params.name }}.csv", "/out/a\nb.csv"),
    ],
)
def test_a_rendered_path_that_leaves_its_folder_is_refused(template, rendered):
    with pytest.raises(PermanentDeliveryError, match="refused"):
        contained_path(template, rendered, "sftp path")


@pytest.mark.parametrize(
    ("template", "rendered"),
    [
        ("/out/{{ name }}/{{ period.key }}.csv", "/out/daily/2026-11-02.csv"),
        ("reports/{{ name }}/x..y.csv", "reports/daily/x..y.csv"),
        ("reports/./{{ name }}.csv", "reports/./daily.csv"),
    ],
)
def test_a_path_inside_its_folder_is_kept_as_it_is(template, rendered):
    assert contained_path(template, rendered, "s3 key") == rendered


@pytest.mark.parametrize(
    ("target", "field"),
    [
        ({"sftp": {"connection": "partner", "path": "/out/../../etc/{{ name }}.csv"}}, "path"),
        ({"s3": {"connection": "archive", "key": "reports/../{{ name }}.csv"}}, "key"),
        ({"sftp": {"connection": "partner", "path": "/out/{{ name }}\n.csv"}}, "path"),
    ],
)
def test_a_template_that_climbs_out_is_a_validation_error(tmp_path, target, field):
    connections = {
        "partner": {
            "kind": "sftp",
            "host": "h",
            "username": "u",
            "host_key": "k",
            "password": {"env": "P"},
        },
        "archive": {"kind": "s3", "bucket": "reports"},
    }
    write_test_connections(tmp_path, connections)
    write_report(tmp_path / "reports", report_dict(deliver=[target]))
    errors = [
        str(e) for e in load_project([tmp_path / "reports"], tmp_path / "connections.yaml").errors
    ]
    assert any(f".{field}: " in e and ("'..'" in e or "control" in e) for e in errors), errors


def test_a_parameter_that_climbs_out_of_the_sftp_folder_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("PARTNER_PASSWORD", SFTP_PASSWORD)
    with SftpTestServer(username="reports", password=SFTP_PASSWORD) as sftp:
        write_test_connections(tmp_path, sftp_connection(sftp))
        path = "/outbound/{{ params.folder }}/{{ name }}.{{ ext }}"
        report = report_dict(
            name="channels",
            source={"connection": "warehouse", "sql": QUERY, "params": {"folder": "../../etc"}},
            schedule={"every": "day", "timezone": "America/New_York", "start": "2026-01-01"},
            deliver=[{"sftp": {"connection": "partner", "path": path}}],
            retry={"attempts": 2, "delay": "0.1s"},
        )
        write_report(tmp_path / "reports", report)
        defs = build_definitions([tmp_path / "reports"], tmp_path / "connections.yaml")
        result = defs.resolve_job_def("channels").execute_in_process(
            partition_key="2026-11-02", instance=DagsterInstance.ephemeral(), raise_on_error=False
        )
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure)
        assert "contains '..' once rendered: refused" in str(failure.step_failure_data.error)
        assert sftp.files() == []
