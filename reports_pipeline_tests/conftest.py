"""Fixtures shared by all test packages: a real PostgreSQL database for the session; and the
hypothesis profiles.

hypothesis is imported here, before any test runs: its pytest plugin otherwise imports it while
writing the summary, and on CPython 3.11 that import can fail once a test has changed the
interpreter's recursion limit ("AST constructor recursion depth mismatch").
"""

import os
from collections.abc import Iterator

import hypothesis
import psycopg2
import pytest

from reports_pipeline_tests.postgres_databases import (
    POSTGRES_HOST,
    POSTGRES_PORT,
    connect_admin,
    fresh_database,
)

# Property tests build Dagster definitions per example: on a loaded machine one example can take
# seconds, so no profile has a per-example deadline.
# - ci: the same examples on every run (derandomized, no example database), so CI is never red
#   because of a newly drawn example; a failure found elsewhere becomes an explicit test.
# - dev: the default locally, random examples, failures remembered in .hypothesis/.
# - explore: many more examples, to search for bugs (`make test-explore`, not run by CI).
# Each profile starts from hypothesis's own "default", not from what hypothesis picks when it
# sees a CI variable, so every profile means the same wherever it runs.
_SLOW_EXAMPLES_ARE_FINE = [hypothesis.HealthCheck.too_slow]
_BASE = hypothesis.settings.get_profile("default")
hypothesis.settings.register_profile(
    "ci",
    parent=_BASE,
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=100,
    print_blob=True,
    suppress_health_check=_SLOW_EXAMPLES_ARE_FINE,
)
hypothesis.settings.register_profile(
    "dev",
    parent=_BASE,
    deadline=None,
    max_examples=50,
    suppress_health_check=_SLOW_EXAMPLES_ARE_FINE,
)
hypothesis.settings.register_profile(
    "explore",
    parent=_BASE,
    deadline=None,
    max_examples=2000,
    suppress_health_check=_SLOW_EXAMPLES_ARE_FINE,
)
hypothesis.settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE")
    or ("ci" if os.environ.get("CI", "").lower() == "true" else "dev")
)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a new, uniquely named database on the local PostgreSQL, dropped at session end.

    Skips when PostgreSQL is unreachable, except in CI (``CI=true``), where that is a failure.
    """
    try:
        admin = connect_admin()
    except psycopg2.OperationalError as exc:
        reason = f"PostgreSQL at {POSTGRES_HOST}:{POSTGRES_PORT} is unreachable: {exc}".strip()
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        with fresh_database(admin, "reports_test") as url:
            yield url
    finally:
        admin.close()


@pytest.fixture
def postgres_instance(tmp_path, postgres_url):
    """A Dagster instance with its storage in the session's PostgreSQL database (as
    deploy/dagster.postgres.yaml configures it, with the explicit driver)."""
    import yaml
    from dagster import DagsterInstance

    url = postgres_url.replace("postgresql:", "postgresql+psycopg2:")
    home = tmp_path / "postgres_home"
    home.mkdir()
    config = {"storage": {"postgres": {"postgres_url": url}}}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    with DagsterInstance.from_config(str(home)) as instance:
        yield instance


@pytest.fixture
def smtp_server():
    """A started plain SMTP server on 127.0.0.1 (no TLS, no auth), stopped after the test."""
    from reports_pipeline_tests.smtp_server import SmtpTestServer

    with SmtpTestServer() as server:
        yield server


@pytest.fixture
def second_smtp():
    """Another SMTP server like ``smtp_server``, for reports with a second mail connection."""
    from reports_pipeline_tests.smtp_server import SmtpTestServer

    with SmtpTestServer() as server:
        yield server


@pytest.fixture
def sqlite_instance(tmp_path):
    """A Dagster instance with SQLite storage (schedule states, run history, the ledger)."""
    from dagster import DagsterInstance

    home = tmp_path / "dagster_home"
    home.mkdir()
    with DagsterInstance.local_temp(str(home)) as instance:
        yield instance


@pytest.fixture
def instance(sqlite_instance):
    """The Dagster instance of tests that only need one: the SQLite one (a module that runs on
    other storages too, like the ledger's tests, defines its own)."""
    return sqlite_instance
