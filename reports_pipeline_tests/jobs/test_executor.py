"""The deployment's choice of executor: in the run's process unless REPORTS_EXECUTOR=celery."""

import pytest
from dagster import in_process_executor
from dagster._config import ConfigTypeKind

from reports_pipeline.jobs.executor import (
    ExecutorSettingError,
    celery_executor_config,
    report_executor,
)
from reports_pipeline.spec.loader import load_project
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report

BROKER_WITH_PASSWORD = "pyamqp://reports:s3cret-broker@rabbit.internal:5672//"


def test_unset_means_dagsters_in_process_executor_with_nothing_to_configure(monkeypatch):
    monkeypatch.delenv("REPORTS_EXECUTOR", raising=False)
    executor = report_executor()
    assert executor.name == "in_process"
    assert executor.executor_creation_fn is in_process_executor.executor_creation_fn
    # Its settings are fixed: a report job's run config and snapshot carry no executor schema.
    assert executor.config_field.config_type.kind == ConfigTypeKind.ANY
    assert report_executor() is executor  # one object for every report job


def test_an_unknown_executor_is_refused_naming_the_variable_and_the_choices(monkeypatch):
    monkeypatch.setenv("REPORTS_EXECUTOR", "kubernetes")
    with pytest.raises(
        ExecutorSettingError, match="REPORTS_EXECUTOR='kubernetes'.*in_process, celery"
    ):
        report_executor()


def test_a_queue_name_rabbitmq_would_not_route_is_refused(monkeypatch):
    monkeypatch.setenv("REPORTS_CELERY_QUEUE", "reports queue")
    with pytest.raises(ExecutorSettingError, match="REPORTS_CELERY_QUEUE='reports queue'"):
        celery_executor_config()


def test_celery_config_names_the_broker_variable_never_its_value(monkeypatch):
    monkeypatch.setenv("REPORTS_CELERY_BROKER", BROKER_WITH_PASSWORD)
    monkeypatch.delenv("REPORTS_CELERY_BACKEND", raising=False)
    monkeypatch.setenv("REPORTS_CELERY_QUEUE", "reports_eu")
    assert celery_executor_config() == {
        "broker": {"env": "REPORTS_CELERY_BROKER"},
        "backend": "rpc://",
        "config_source": {"task_default_queue": "reports_eu"},
    }


def test_with_celery_chosen_every_report_job_runs_its_steps_on_celery(monkeypatch, tmp_path):
    from reports_pipeline.jobs.report_job import build_report_job
    from reports_pipeline.scheduling.cadence import partitions_definition

    monkeypatch.setenv("REPORTS_EXECUTOR", "celery")
    write_connections(tmp_path, {"connections": {}})
    write_report(tmp_path / "reports", report_dict(name="on_celery"))
    project = load_project([tmp_path / "reports"], tmp_path / "connections.yaml")
    (report,) = project.reports

    job = build_report_job(
        report, project.connections, partitions_definition(report.spec.schedule)
    )

    assert job.executor_def.name == "celery"
