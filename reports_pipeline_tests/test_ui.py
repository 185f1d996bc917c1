"""The Dagster UI in a real headless browser (Debian's chromium, driven by Playwright): the job
page shows a report's SQL and targets, and an invalid report file's sensor shows its failure."""

import os
import threading
import time
from pathlib import Path

import pytest
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from reports_pipeline_tests.dagster_processes import (
    STARTUP_TIMEOUT,
    free_port,
    prepare_deployment,
    start_daemon,
    start_webserver,
)
from reports_pipeline_tests.report_files import report_dict, write_report, write_test_connections

pytestmark = pytest.mark.daemon

CHROMIUM = Path("/usr/bin/chromium")  # Debian's, installed by `make test`; never a download
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
LOCATION = "reports_pipeline.definitions"  # the workspace's python_module
# The file as messages show it: relative to the working directory, the deployment's folder.
BROKEN = "reports/broken.yaml"
SENSOR = "invalid_report_file__reports_broken_yaml"
SQL = "select id, customer, amount\nfrom invoices\nwhere status = :status"
# Playwright's waits: generous, as the UI loads and polls slowly on a loaded machine.
UI_TIMEOUT_MS = 120_000

TICK_QUERY = """
query ($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    ... on Sensor {
      sensorState { ticks(limit: 1) { status error { message errorChain { error { message } } } } }
    }
  }
}
"""


def _browser_or_skip():
    """Playwright and Debian's chromium; missing, a skip locally and a failure under CI=true."""
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "the playwright package (pip install -e '.[test]')"
    if missing is None and not CHROMIUM.exists():
        missing = f"{CHROMIUM} (make test installs Debian's chromium)"
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the UI test needs {missing}")
        pytest.skip(f"the UI test needs {missing}")
    return sync_playwright


@pytest.fixture
def deployment(tmp_path):
    """One valid report with two targets and one invalid file, as an operator deploys them."""
    connections = {
        "hook": {"kind": "webhook", "url": "https://hooks.example.com/services/secret-path"},
    }
    write_test_connections(tmp_path, connections)
    write_report(
        tmp_path / "reports",
        report_dict(
            name="open_invoices",
            team="collections",
            source={"connection": "warehouse", "sql": SQL, "params": {"status": "open"}},
            schedule={"every": "day", "at": "09:00", "timezone": "America/New_York"},
            deliver=[
                {"email": {"to": ["collections@example.com"]}},
                {"webhook": {"connection": "hook"}},
            ],
        ),
    )
    write_report(tmp_path / "reports", "name: broken\nowner: nobody\n", "broken.yaml")
    return tmp_path, prepare_deployment(tmp_path)


def _wait_for_failed_tick(client: DagsterGraphQLClient) -> str:
    """The error of the invalid file's first tick (with its causes), once the daemon has it."""
    selector = {
        "repositoryLocationName": LOCATION,
        "repositoryName": "__repository__",
        "sensorName": SENSOR,
    }
    pause = threading.Event()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    ticks = []
    while time.monotonic() < deadline:
        try:
            result = client._execute(TICK_QUERY, {"selector": selector})["sensorOrError"]
        except DagsterGraphQLClientError:  # "Serving" is printed just before it listens
            pause.wait(0.5)
            continue
        ticks = (result.get("sensorState") or {}).get("ticks") or []
        if ticks and ticks[0]["status"] != "STARTED":
            break
        pause.wait(0.5)
    assert ticks and ticks[0]["status"] == "FAILURE", ticks
    error = ticks[0]["error"]
    return "\n".join(
        [error["message"], *(link["error"]["message"] for link in error["errorChain"])]
    )


def test_the_job_page_shows_the_report_and_the_invalid_file_fails_visibly(deployment):
    sync_playwright = _browser_or_skip()
    from playwright.sync_api import expect

    folder, env = deployment
    port = free_port()
    webserver = start_webserver(folder / "workspace.yaml", env, port)
    daemon = start_daemon(folder / "workspace.yaml", env)
    try:
        webserver.wait_for_line("Serving dagster-webserver", timeout=STARTUP_TIMEOUT)
        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        # The daemon's first sensor tick is the sync point: the UI shows what it recorded.
        error = _wait_for_failed_tick(client)
        assert f"{BROKEN}:2: owner: value is not a valid email address" in error

        base = f"http://127.0.0.1:{port}/locations/{LOCATION}"
        ARTIFACTS.mkdir(exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                headless=True,
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-dev-shm-usage",
                ],
            )
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.set_default_timeout(UI_TIMEOUT_MS)
                # The "Join the Dagster community" dialog, shown on localhost until dismissed,
                # would cover the page: dismissed as a returning user has.
                page.add_init_script("window.localStorage.setItem('communityNux', '\"1\"')")

                page.goto(f"{base}/jobs/open_invoices")
                description = page.locator(".dagster-markdown").first
                expect(description).to_contain_text("where status = :status")
                expect(description).to_contain_text("every day at 09:00 (America/New_York)")
                expect(description).to_contain_text("email to collections@example.com")
                expect(description).to_contain_text("webhook json to host hooks.example.com")
                expect(description).to_contain_text("reports preview open_invoices")
                expect(description).to_contain_text("owner@example.com · team collections")
                expect(description).not_to_contain_text("secret-path")
                # The metadata table beside it repeats the short facts as plain text.
                metadata_cadence = page.get_by_text(
                    "every day at 09:00 (America/New_York)", exact=True
                )
                expect(metadata_cadence).to_be_visible()
                page.get_by_role("button", name="Show more").click()  # the whole description
                page.screenshot(path=str(ARTIFACTS / "ui_job_page.png"))

                page.goto(f"{base}/sensors/{SENSOR}")
                # The latest tick, a red "Failure" whose error lists the file's mistakes.
                expect(page.get_by_text("Failure", exact=True).first).to_be_visible()
                page.get_by_role("button", name="View", exact=True).first.click()
                dialog = page.get_by_role("dialog")
                expect(dialog).to_contain_text(
                    f"{BROKEN}:2: owner: value is not a valid email address"
                )
                expect(dialog).to_contain_text(f"{BROKEN}:1: deliver: required field is missing")
                page.screenshot(path=str(ARTIFACTS / "ui_invalid_file_sensor.png"))
            finally:
                browser.close()
    finally:
        daemon.stop()
        webserver.stop()
