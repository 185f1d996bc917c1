"""The fetch step retries a warehouse that is briefly unreachable, and nothing else."""

import base64
import os
import uuid
from datetime import timedelta

import pytest
from dagster import Backoff, DagsterEventType, DagsterInstance, RetryPolicy

from reports_pipeline.jobs.fetch_retry import fetch_failure
from reports_pipeline.warehouse.errors import QueryError, QueryTimeout
from reports_pipeline_tests.jobs.test_report_job import make_project
from reports_pipeline_tests.jobs.warehouses import create_postgres_warehouse
from reports_pipeline_tests.postgres_databases import POSTGRES_HOST, POSTGRES_PORT
from reports_pipeline_tests.tcp_proxy import TcpProxy

WHERE = "weekly_revenue (connection 'warehouse')"
THREE_ATTEMPTS = RetryPolicy(max_retries=2, delay=2, backoff=Backoff.EXPONENTIAL)
REFUSED = QueryError(
    "the postgresql query failed: connection to server at \"db\", port 5432 failed:"
    " Connection refused",
    "connection refused by db:5432",
)


def _fetch_failure(error, attempt=1, policy=THREE_ATTEMPTS, retry_on_timeout=False):
    return fetch_failure(
        error, where=WHERE, attempt=attempt, policy=policy, retry_on_timeout=retry_on_timeout
    )


def test_a_transient_error_is_retried_and_the_retry_logged_with_its_reason():
    failed = _fetch_failure(REFUSED, attempt=1)

    assert failed.failure.allow_retries
    assert failed.note == "attempt 1 of 3: connection refused by db:5432; retrying in 2 s"
    assert failed.failure.description == (
        f"{WHERE}: the query failed (attempt 1 of 3): connection refused by db:5432"
    )
    # The second wait doubles (exponential backoff), as Dagster computes it.
    assert _fetch_failure(REFUSED, attempt=2).note.endswith("retrying in 6 s")


def test_the_last_attempt_fails_with_the_root_cause_not_the_retry_count():
    failed = _fetch_failure(REFUSED, attempt=3)

    assert not failed.failure.allow_retries
    assert failed.note is None
    assert failed.failure.description == (
        f"{WHERE}: the query failed after 3 attempts: connection refused by db:5432"
    )


def test_without_a_retry_policy_a_transient_error_fails_after_one_attempt():
    failed = _fetch_failure(REFUSED, policy=None)

    assert not failed.failure.allow_retries
    assert "after 1 attempt: connection refused" in failed.failure.description


def test_a_permanent_error_fails_at_once_with_the_database_message():
    error = QueryError('the postgresql query failed: column "regoin" does not exist')

    failed = _fetch_failure(error)

    assert not failed.failure.allow_retries
    assert failed.note is None
    assert failed.failure.description.startswith(
        f'{WHERE}: the postgresql query failed: column "regoin" does not exist; not retried'
    )


@pytest.mark.parametrize("retry_on_timeout", [False, True])
def test_a_timeout_is_retried_only_when_the_report_asks_for_it(retry_on_timeout):
    timeout = QueryTimeout(f"query ran longer than {timedelta(minutes=10)}")

    failed = _fetch_failure(timeout, retry_on_timeout=retry_on_timeout)

    assert failed.failure.allow_retries is retry_on_timeout
    if retry_on_timeout:
        assert failed.note == "attempt 1 of 3: query ran longer than 0:10:00; retrying in 2 s"
    else:
        assert "set source.retry_on_timeout: true" in failed.failure.description


# Whole runs against the real PostgreSQL, through a proxy that can refuse connections.


@pytest.fixture
def warehouse(postgres_url, monkeypatch):
    """The invoices warehouse, reached through a proxy that starts closed (refusing)."""
    create_postgres_warehouse(postgres_url)
    with TcpProxy((POSTGRES_HOST, POSTGRES_PORT)) as proxy:
        monkeypatch.setenv("TEST_WAREHOUSE_URL", proxy.url(postgres_url))
        yield proxy


def _project(tmp_path, smtp_server, attempts=3, **report_changes):
    return make_project(
        tmp_path,
        smtp_server,
        warehouse_url=None,
        warehouse_env="TEST_WAREHOUSE_URL",
        report_changes={"retry": {"attempts": attempts, "delay": "0.1s"}, **report_changes},
    )


def _run(defs, instance, on_event=None):
    run_id = str(uuid.uuid4())
    if on_event:
        instance.add_event_listener(run_id, on_event)
    return defs.resolve_job_def("invoices_daily").execute_in_process(
        partition_key="2026-11-02", instance=instance, run_id=run_id, raise_on_error=False
    )


def _events(result, event_type, step="fetch_and_render"):
    return [e for e in result.all_events if e.event_type == event_type and e.step_key == step]


def _log_messages(instance, run_id):
    return [record.user_message for record in instance.all_logs(run_id)]


def test_a_warehouse_refusing_the_first_attempt_is_retried_and_delivered_once(
    tmp_path, smtp_server, warehouse
):
    def open_after_the_first_attempt(entry):
        event = entry.dagster_event
        if event and event.event_type == DagsterEventType.STEP_UP_FOR_RETRY:
            warehouse.open()  # before the second attempt starts: the step waits for this

    instance = DagsterInstance.ephemeral()
    result = _run(_project(tmp_path, smtp_server), instance, open_after_the_first_attempt)

    assert result.success
    assert len(smtp_server.messages) == 1
    assert len(_events(result, DagsterEventType.STEP_UP_FOR_RETRY)) == 1
    assert len(_events(result, DagsterEventType.STEP_RESTARTED)) == 1  # 2 attempts in all
    assert len(_events(result, DagsterEventType.STEP_SUCCESS)) == 1
    assert warehouse.accepted >= 1
    note = f"attempt 1 of 3: connection refused by 127.0.0.1:{warehouse.port}; retrying in 0.1 s"
    assert note in _log_messages(instance, result.run_id)


def test_a_warehouse_that_stays_down_fails_after_its_attempts_naming_the_cause(
    tmp_path, smtp_server, warehouse
):
    result = _run(_project(tmp_path, smtp_server, attempts=2), DagsterInstance.ephemeral())

    assert not result.success
    assert len(_events(result, DagsterEventType.STEP_RESTARTED)) == 1
    (failure,) = _events(result, DagsterEventType.STEP_FAILURE)
    description = failure.step_failure_data.user_failure_data.description
    assert description == (
        "invoices_daily (connection 'warehouse'): the query failed after 2 attempts:"
        f" connection refused by 127.0.0.1:{warehouse.port}"
    )
    assert "Exceeded max_retries" not in failure.step_failure_data.error.message
    assert smtp_server.messages == []
    assert list((tmp_path / "files" / ".staging").iterdir()) == []  # no attempt left its file


def test_a_sql_syntax_error_fails_after_one_attempt_with_the_database_message(
    tmp_path, smtp_server, warehouse
):
    warehouse.open()
    source = {"connection": "warehouse", "sql": "select id, from invoices"}
    result = _run(_project(tmp_path, smtp_server, source=source), DagsterInstance.ephemeral())

    assert not result.success
    assert _events(result, DagsterEventType.STEP_UP_FOR_RETRY) == []
    assert _events(result, DagsterEventType.STEP_RESTARTED) == []
    (failure,) = _events(result, DagsterEventType.STEP_FAILURE)
    description = failure.step_failure_data.user_failure_data.description
    assert description.startswith(
        "invoices_daily (connection 'warehouse'): the postgresql query failed:"
        ' syntax error at or near "from"; not retried'
    )
    assert "psycopg2" not in description and "Error:" not in description
    assert smtp_server.messages == []


@pytest.mark.parametrize("retry_on_timeout", [False, True])
def test_a_query_over_its_timeout_is_retried_only_when_the_report_says_so(
    tmp_path, smtp_server, postgres_url, monkeypatch, retry_on_timeout
):
    # Straight to the server: the timeout cancels the query, and psycopg2's cancel() holds the
    # interpreter lock, which an in-process proxy would need to pass the request on.
    monkeypatch.setenv("TEST_WAREHOUSE_URL", postgres_url)
    source = {
        "connection": "warehouse",
        "sql": "select pg_sleep(60) as slept",
        "timeout": "0.3s",
        "retry_on_timeout": retry_on_timeout,
    }
    defs = _project(tmp_path, smtp_server, attempts=2, source=source)
    result = _run(defs, DagsterInstance.ephemeral())

    assert not result.success
    restarts = _events(result, DagsterEventType.STEP_RESTARTED)
    assert len(restarts) == (1 if retry_on_timeout else 0)
    (failure,) = _events(result, DagsterEventType.STEP_FAILURE)
    description = failure.step_failure_data.user_failure_data.description
    if retry_on_timeout:
        assert description.endswith("failed after 2 attempts: query ran longer than 0:00:00.300000")
    else:
        assert "query ran longer than 0:00:00.300000; not retried" in description


def test_a_database_error_quoting_the_connection_password_is_stored_without_it(
    tmp_path, smtp_server, warehouse, monkeypatch
):
    # The test server trusts every login, so the password is accepted and ignored; the query
    # makes Postgres quote it back in its error, base64-encoded as in an Authorization header
    # (the warehouse layer already masks the raw password itself).
    secret = "Wh5ecret9pass"
    encoded = base64.b64encode(secret.encode()).decode()
    url = os.environ["TEST_WAREHOUSE_URL"]
    assert "://postgres@" in url
    monkeypatch.setenv("TEST_WAREHOUSE_URL", url.replace("://postgres@", f"://postgres:{secret}@"))
    warehouse.open()
    source = {"connection": "warehouse", "sql": f"select '{encoded}'::int as id"}
    instance = DagsterInstance.ephemeral()
    result = _run(_project(tmp_path, smtp_server, source=source), instance)

    assert not result.success
    (failure,) = _events(result, DagsterEventType.STEP_FAILURE)
    description = failure.step_failure_data.user_failure_data.description
    assert "invalid input syntax for type integer" in description
    assert "***" in description
    stored = " ".join(str(entry) for entry in instance.all_logs(result.run_id))
    assert secret not in stored and encoded not in stored
