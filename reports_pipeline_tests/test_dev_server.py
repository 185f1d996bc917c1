"""`make dev`'s runner: `dagster dev` and the watcher stop together."""

import os
import signal
import subprocess
import sys

from reports_pipeline_tests.report_files import report_dict, write_report

TIMEOUT = 120
# Stands in for `dagster dev`: handles SIGTERM as SIGINT, as Dagster does, says it is up, and
# ends with 7 when interrupted. It says so inside the `try`: the test signals as soon as it
# reads the line, and an interrupt arriving before `try` would end it by SIGINT instead.
SERVER = (
    "import signal, sys\n"
    "signal.signal(signal.SIGTERM, signal.getsignal(signal.SIGINT))\n"
    "try:\n"
    "    print('up', flush=True)\n"
    "    signal.pause()\n"
    "except KeyboardInterrupt:\n"
    "    sys.exit(7)\n"
)


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell starts a background command


def _runner(tmp_path, *command: str) -> subprocess.Popen:
    write_report(tmp_path / "reports", report_dict())
    env = {
        **os.environ,
        "REPORTS_DIR": str(tmp_path / "reports"),
        "REPORTS_CONNECTIONS": str(tmp_path / "connections.yaml"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "reports_pipeline.dev_server", "--url", "http://127.0.0.1:9", "--"]
        + list(command),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_ignore_interrupts,
    )


def test_the_runner_ends_with_the_command_and_its_exit_code(tmp_path):
    runner = _runner(tmp_path, sys.executable, "-c", "import sys; sys.exit(3)")
    try:
        assert runner.wait(TIMEOUT) == 3
    finally:
        runner.kill()
        runner.communicate()


def test_a_stopped_runner_stops_the_command(tmp_path):
    runner = _runner(tmp_path, sys.executable, "-c", SERVER)
    try:
        assert runner.stdout.readline() == "up\n"  # the command inherits the runner's stdout
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(TIMEOUT) == 7  # the command got the signal and ended, then the runner
    finally:
        try:
            os.killpg(runner.pid, signal.SIGKILL)  # only if the test failed midway
        except ProcessLookupError:
            pass
        runner.communicate()


def test_without_a_reports_folder_the_command_still_runs_and_says_why_nothing_is_watched(
    tmp_path,
):
    runner = subprocess.Popen(
        [sys.executable, "-m", "reports_pipeline.dev_server", "--url", "http://127.0.0.1:9", "--"]
        + [sys.executable, "-c", "import sys; sys.exit(5)"],
        env={**os.environ, "REPORTS_DIR": str(tmp_path / "missing")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, errors = runner.communicate(timeout=TIMEOUT)
    finally:
        runner.kill()
    assert runner.returncode == 5
    assert "no reports folder at" in errors and "files are not watched" in errors
    assert "Traceback" not in errors
