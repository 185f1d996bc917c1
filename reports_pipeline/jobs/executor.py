"""Where a report's steps run: in the run's own process (the default), or on Celery workers on
other machines (``REPORTS_EXECUTOR=celery``).

Every process that builds report jobs reads the same variables (run workers, code servers,
Celery workers), so each sees the same job. Broker and backend URLs may hold passwords: the
executor's config names their variables (``{"env": ...}``), never their values, so run config,
job snapshots and the UI show only the names, and each process resolves them from its own
environment.
"""

import os

from dagster import ExecutorDefinition, in_process_executor

EXECUTOR_VARIABLE = "REPORTS_EXECUTOR"
BROKER_VARIABLE = "REPORTS_CELERY_BROKER"
BACKEND_VARIABLE = "REPORTS_CELERY_BACKEND"
QUEUE_VARIABLE = "REPORTS_CELERY_QUEUE"

DEFAULT_BROKER = "pyamqp://guest@localhost//"
DEFAULT_BACKEND = "rpc://"
# dagster-celery's own queue: the only one it declares with message priorities.
DEFAULT_QUEUE = "dagster"

EXECUTORS = ("in_process", "celery")


class ExecutorSettingError(ValueError):
    """A deployment variable names an executor or queue this project does not know."""


def executor_choice() -> str:
    choice = os.environ.get(EXECUTOR_VARIABLE, "").strip() or "in_process"
    if choice not in EXECUTORS:
        raise ExecutorSettingError(
            f"{EXECUTOR_VARIABLE}={choice!r}: unknown executor; use one of {', '.join(EXECUTORS)}"
            " (unset means in_process)"
        )
    return choice


def celery_queue() -> str:
    queue = os.environ.get(QUEUE_VARIABLE, "").strip() or DEFAULT_QUEUE
    if not all(c.isalnum() or c in "_-." for c in queue):
        raise ExecutorSettingError(
            f"{QUEUE_VARIABLE}={queue!r}: a queue name has only letters, digits, '_', '-', '.'"
        )
    return queue


def _from_environment(variable: str, default: str):
    # A variable that is set is named, not copied: its value may hold a password.
    return {"env": variable} if os.environ.get(variable) else default


def celery_executor_config() -> dict:
    """The ``celery_executor`` config that the run's process and the workers agree on."""
    return {
        "broker": _from_environment(BROKER_VARIABLE, DEFAULT_BROKER),
        "backend": _from_environment(BACKEND_VARIABLE, DEFAULT_BACKEND),
        "config_source": {"task_default_queue": celery_queue()},
    }


# Dagster's in-process executor with its settings fixed (step retries on, as by default): a
# report job has no executor settings to offer in its run config, and their schema would take
# a tenth of every report job's snapshot (README, "Scale"). One object for every job.
FIXED_IN_PROCESS_EXECUTOR = in_process_executor.configured({}, name="in_process")


def report_executor() -> ExecutorDefinition:
    """The executor of every report job, as this deployment's environment chooses it."""
    if executor_choice() == "in_process":
        return FIXED_IN_PROCESS_EXECUTOR
    # Imported only when chosen: dagster_celery is an optional dependency (the `celery` extra).
    from dagster_celery import celery_executor

    return celery_executor.configured(celery_executor_config())
