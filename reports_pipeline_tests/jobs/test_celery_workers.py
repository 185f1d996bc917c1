"""A burst of reports through the dagster-celery executor: two real Celery workers on RabbitMQ,
the Dagster instance in PostgreSQL, every report delivered once, steps on both workers."""

import os
from collections import Counter

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster._core.instance.ref import InstanceRef

from reports_pipeline_tests.celery_workers import (
    celery_deployment,
    start_celery_worker,
    start_run,
    unreachable_services,
)
from reports_pipeline_tests.report_files import (
    report_dict,
    smtp_connection,
    write_report,
    write_test_connections,
)

pytestmark = pytest.mark.celery

REPORTS = 8
PERIOD = "2026-11-02"
# Generous: ten runs on two busy cores, each a fresh Dagster process, each step a Celery task.
RUN_TIMEOUT = 600


@pytest.fixture
def services():
    missing = unreachable_services()
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("; ".join(missing))
        pytest.skip("; ".join(missing))


@pytest.fixture
def deployment(services, tmp_path, smtp_server):
    """Report files, connections, and the environment every process of the deployment has."""
    write_test_connections(tmp_path, {"mail": smtp_connection(smtp_server)})
    for number in range(1, REPORTS + 1):
        write_report(
            tmp_path / "reports",
            report_dict(
                name=f"burst_{number}",
                source={
                    "connection": "warehouse",
                    "sql": "select id, customer from invoices"
                    " where issued_at >= :period_start and issued_at < :period_end",
                },
                deliver=[
                    {"email": {"to": [f"reader{number}@example.com"], "subject": "{{ name }}"}}
                ],
            ),
        )
    with celery_deployment(tmp_path) as env:
        yield tmp_path, env


@pytest.fixture
def two_workers(deployment):
    folder, env = deployment
    workers = []
    try:
        for name in ("worker_a", "worker_b"):
            workers.append(start_celery_worker(name, env, folder))
        yield workers
    finally:
        for worker in workers:
            worker.stop()


def run_burst(jobs: list[str], env: dict, folder) -> None:
    """Start every run at once, each in its own process, and wait for all of them."""
    runs = [start_run(job, PERIOD, env, folder) for job in jobs]
    try:
        for run in runs:
            output, _ = run.communicate(timeout=RUN_TIMEOUT)
            assert run.returncode == 0, output[-4000:]
    finally:
        for run in runs:
            if run.poll() is None:
                os.killpg(run.pid, 9)
                run.wait(timeout=30)


def celery_worker_of_each_step(instance: DagsterInstance, run_id: str) -> dict[str, str]:
    """Which worker ran each step, from the engine event the dagster-celery task records."""
    workers = {}
    for record in instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ENGINE_EVENT
    ).records:
        event = record.event_log_entry.dagster_event
        metadata = event.engine_event_data.metadata if event else {}
        if "Celery worker" in metadata:
            workers[event.step_key] = metadata["Celery worker"].value
    return workers


def test_a_burst_runs_on_both_workers_and_each_report_is_delivered_once(
    deployment, two_workers, smtp_server, monkeypatch
):
    folder, env = deployment
    jobs = [f"burst_{number}" for number in range(1, REPORTS + 1)]

    run_burst(jobs, env, folder)

    # Every e-mail is in once the runs have ended: delivery is a step of each run.
    recipients = Counter(to for message in smtp_server.messages for to in message.rcpt_tos)
    assert recipients == Counter(f"reader{n}@example.com" for n in range(1, REPORTS + 1))

    # The instance as the deployment's processes see it: the URL comes from the environment.
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", env["DAGSTER_POSTGRES_URL"])
    with DagsterInstance.from_ref(InstanceRef.from_dir(env["DAGSTER_HOME"])) as instance:
        runs = instance.get_runs()
        assert sorted(run.job_name for run in runs) == sorted(jobs)
        assert {run.status for run in runs} == {DagsterRunStatus.SUCCESS}
        steps_by_worker = Counter()
        for run in runs:
            workers = celery_worker_of_each_step(instance, run.run_id)
            assert set(workers) == {"fetch_and_render", "persist", "deliver_1_email"}
            steps_by_worker.update(name.split("@")[0] for name in workers.values())
    assert set(steps_by_worker) == {"worker_a", "worker_b"}, steps_by_worker

    # The same period again: the ledger in the Postgres instance says it is delivered.
    run_burst(jobs[:1], env, folder)
    assert len(smtp_server.messages) == REPORTS
