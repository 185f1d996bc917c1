"""The Celery app a report worker runs: ``dagster-celery worker start -A
reports_pipeline.jobs.celery_app``.

dagster-celery's own ``dagster_celery.app`` takes its broker from a YAML file (``-y``) that the
CLI resolves and writes, secrets included, as a Python file under ``$DAGSTER_HOME``. This app
reads the same deployment variables as the run's executor (``reports_pipeline.jobs.executor``)
from the worker's environment instead, so a broker password stays in the environment.
"""

import os

from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task
from kombu import Queue

from reports_pipeline.jobs.executor import (
    BACKEND_VARIABLE,
    BROKER_VARIABLE,
    DEFAULT_BACKEND,
    DEFAULT_BROKER,
    celery_queue,
)


def worker_app_args() -> dict:
    """Celery's settings, as the executor of a run builds them from the same variables."""
    return CeleryExecutor.for_cli(
        broker=os.environ.get(BROKER_VARIABLE) or DEFAULT_BROKER,
        backend=os.environ.get(BACKEND_VARIABLE) or DEFAULT_BACKEND,
        config_source={"task_default_queue": celery_queue()},
    ).app_args()


app = make_app(worker_app_args())
# make_app has the worker consume dagster-celery's "dagster" queue; this one consumes the queue
# the executor sends to, declared as the executor declares it (priorities 0 to 10).
app.conf.task_queues = [
    Queue(celery_queue(), routing_key=f"{celery_queue()}.#", queue_arguments={"x-max-priority": 10})
]

# The task that runs one step of a run; the name the executor sends it under.
execute_plan = create_task(app)
