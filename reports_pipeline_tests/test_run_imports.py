"""What a run worker imports: only what its own report needs (README, "Scale").

Every run process builds its job from the code location; a library imported there that the
run never uses is paid for by every run of every report. The check runs in a fresh interpreter
so that nothing imported by other tests hides an import.
"""

import json
import os
import subprocess
import sys
import textwrap

from reports_pipeline_tests.report_files import report_dict, write_connections, write_report

# Libraries only some formats or targets need; a csv report e-mailed must not load them.
HEAVY = (
    "pandas",
    "weasyprint",
    "matplotlib",
    "boto3",
    "paramiko",
    "slack_sdk",
    "sendgrid",
    "openpyxl",
    "xlsxwriter",
    "holidays",  # only reports that skip public holidays look a calendar up
)

# Every kind of target and a format of each kind in the same deployment, so that the csv
# report's job is built beside connections and reports that do need those libraries.
CONNECTIONS = {
    "connections": {
        "warehouse": {"kind": "demo", "path": "{root}/demo.sqlite"},
        "outbox": {"kind": "outbox", "path": "{root}/outbox", "from": "reports@example.com"},
        "drop": {
            "kind": "sftp",
            "host": "127.0.0.1",
            "username": "reports",
            "password": {"env": "RUN_IMPORTS_SFTP_PASSWORD"},
            "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9ok"
            "Wi0dh2l9GKJl",
        },
        "bucket": {"kind": "s3", "bucket": "reports-bucket", "endpoint_url": "http://127.0.0.1:9"},
        "chat": {"kind": "slack", "token": {"env": "RUN_IMPORTS_SLACK_TOKEN"}},
        "grid": {
            "kind": "sendgrid",
            "api_key": {"env": "RUN_IMPORTS_SENDGRID_KEY"},
            "from": "reports@example.com",
        },
    },
    "storage": {"kind": "local", "path": "{root}/files"},
}

BUILD_ONE_JOB = textwrap.dedent(
    """
    import json, sys
    from dagster._core.definitions.reconstruct import ReconstructableRepository
    repository = ReconstructableRepository.for_module("reports_pipeline.definitions", "defs")
    job = repository.get_reconstructable_job(sys.argv[1]).get_definition()
    heavy = sys.argv[2].split(",")
    print(json.dumps({"job": job.name, "imported": [m for m in heavy if m in sys.modules]}))
    """
)


def _deployment(tmp_path):
    root = str(tmp_path)
    text = json.dumps(CONNECTIONS).replace("{root}", root)
    connections = write_connections(tmp_path, json.loads(text))
    reports = tmp_path / "reports"
    write_report(reports, report_dict(name="csv_by_email", format="csv"))
    others = [
        ("xlsx_to_sftp", "xlsx", {"sftp": {"connection": "drop"}}),
        ("pdf_to_s3", "pdf", {"s3": {"connection": "bucket"}}),
        ("html_to_slack", "html", {"slack": {"connection": "chat", "channel": "#reports"}}),
        ("csv_by_sendgrid", "csv", {"email": {"connection": "grid", "to": ["a@example.com"]}}),
    ]
    for name, fmt, target in others:
        write_report(reports, report_dict(name=name, format=fmt, deliver=[target]))
    return reports, connections


def _imports_when_building(job_name, reports, connections):
    env = {**os.environ, "REPORTS_DIR": str(reports), "REPORTS_CONNECTIONS": str(connections)}
    env.pop("DAGSTER_HOME", None)
    result = subprocess.run(
        [sys.executable, "-c", BUILD_ONE_JOB, job_name, ",".join(HEAVY)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_building_a_csv_report_e_mailed_imports_no_library_of_other_formats_or_targets(
    tmp_path,
):
    reports, connections = _deployment(tmp_path)
    built = _imports_when_building("csv_by_email", reports, connections)
    assert built == {"job": "csv_by_email", "imported": []}
