"""A deployment whose report steps run on real ``dagster-celery`` workers: a fresh PostgreSQL
database for the Dagster instance, a RabbitMQ queue of its own, worker processes, and runs each
started in a process of its own, as a run worker is.

Shared by ``jobs/test_celery_workers.py`` and ``benchmarks/celery_workers.py``.
"""

import json
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import kombu

from reports_pipeline.jobs.executor import (
    BACKEND_VARIABLE,
    BROKER_VARIABLE,
    EXECUTOR_VARIABLE,
    QUEUE_VARIABLE,
)
from reports_pipeline.locations import PACKAGE_DIR
from reports_pipeline_tests.dagster_processes import (
    BIN,
    STARTUP_TIMEOUT,
    DagsterProcess,
    initialise_instance,
)
from reports_pipeline_tests.postgres_databases import connect_admin, fresh_database

BROKER_URL = "pyamqp://guest:guest@127.0.0.1:5672//"


def unreachable_services() -> list[str]:
    """What of RabbitMQ (127.0.0.1:5672) and PostgreSQL (127.0.0.1:5432) does not answer."""
    missing = []
    for name, port in (("RabbitMQ", 5672), ("PostgreSQL", 5432)):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=10).close()
        except OSError as exc:
            missing.append(f"{name} at 127.0.0.1:{port} is unreachable: {exc}")
    return missing


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new database for one Dagster instance, dropped afterwards (its URL, psycopg2 driver)."""
    admin = connect_admin()
    try:
        # The explicit driver: SQLAlchemy 2.1 would pick psycopg 3 (deploy/dagster.postgres.yaml).
        with fresh_database(admin, "reports_celery", "postgresql+psycopg2") as url:
            yield url
    finally:
        admin.close()


def celery_deployment_env(folder: Path, postgres_url: str, executor: str = "celery") -> dict:
    """Environment of every process of the deployment: the instance in Postgres (from
    ``deploy/dagster.postgres.yaml``), the reports and connections of ``folder``, and the
    executor with a queue no other deployment on the broker uses."""
    home = folder / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(PACKAGE_DIR.parent / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        # dagster-celery starts the `celery` command found on PATH.
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DAGSTER_HOME": str(home),
        "DAGSTER_POSTGRES_URL": postgres_url,
        "REPORTS_DIR": str(folder / "reports"),
        "REPORTS_CONNECTIONS": str(folder / "connections.yaml"),
        EXECUTOR_VARIABLE: executor,
        BROKER_VARIABLE: BROKER_URL,
        BACKEND_VARIABLE: "rpc://",
        QUEUE_VARIABLE: f"reports_test_{uuid.uuid4().hex[:12]}",
    }
    initialise_instance(env)
    return env


@contextmanager
def celery_deployment(folder: Path, executor: str = "celery") -> Iterator[dict]:
    """``celery_deployment_env`` on a fresh database; the database and the deployment's queue
    are removed afterwards (RabbitMQ keeps a durable queue until it is deleted)."""
    with fresh_postgres_database() as postgres_url:
        env = celery_deployment_env(folder, postgres_url, executor)
        try:
            yield env
        finally:
            with kombu.Connection(BROKER_URL, connect_timeout=30) as broker:
                broker.default_channel.queue_delete(env[QUEUE_VARIABLE])


def start_celery_worker(name: str, env: dict, cwd: Path, concurrency: int = 1) -> DagsterProcess:
    """A worker started as an operator starts one (``deploy/celery_worker.sh``), named
    ``name@<host>``; returns once it has connected to the broker and listens."""
    worker = DagsterProcess(
        ["bash", str(PACKAGE_DIR.parent / "deploy" / "celery_worker.sh")],
        {**env, "REPORTS_WORKER_NAME": name, "REPORTS_WORKER_CONCURRENCY": str(concurrency)},
        cwd,
    )
    try:
        worker.wait_for_line(" ready.", timeout=STARTUP_TIMEOUT)
    except BaseException:
        worker.stop()
        raise
    return worker


def start_run(job: str, period: str, env: dict, cwd: Path) -> subprocess.Popen:
    """One run of ``job`` for ``period``, in a process of its own (as a run worker is)."""
    return subprocess.Popen(
        [
            str(BIN / "dagster"),
            "job",
            "execute",
            "-m",
            "reports_pipeline.definitions",
            "-a",
            "defs",
            "-j",
            job,
            "--tags",
            json.dumps({"dagster/partition": period}),
        ],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
