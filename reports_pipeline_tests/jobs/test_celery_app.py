"""The workers' Celery app agrees with the runs' executor: same broker, backend and queue."""

from reports_pipeline.jobs.celery_app import app, worker_app_args


def test_the_worker_takes_broker_backend_and_queue_from_the_environment(monkeypatch):
    monkeypatch.setenv("REPORTS_CELERY_BROKER", "pyamqp://reports:pw@rabbit.internal:5672//")
    monkeypatch.setenv("REPORTS_CELERY_BACKEND", "redis://cache.internal:6379/0")
    monkeypatch.setenv("REPORTS_CELERY_QUEUE", "reports_eu")

    args = worker_app_args()

    assert args["broker"] == "pyamqp://reports:pw@rabbit.internal:5672//"
    assert args["backend"] == "redis://cache.internal:6379/0"
    assert args["config_source"].task_default_queue == "reports_eu"


def test_unset_variables_mean_dagster_celerys_defaults(monkeypatch):
    for variable in ("REPORTS_CELERY_BROKER", "REPORTS_CELERY_BACKEND", "REPORTS_CELERY_QUEUE"):
        monkeypatch.delenv(variable, raising=False)

    args = worker_app_args()

    assert (args["broker"], args["backend"]) == ("pyamqp://guest@localhost//", "rpc://")
    assert args["config_source"].task_default_queue == "dagster"


def test_the_app_runs_the_task_the_executor_sends():
    assert "execute_plan" in app.tasks
    assert [queue.name for queue in app.conf.task_queues] == [app.conf.task_default_queue]
