"""Real ``dagster-daemon`` and ``dagster-webserver`` processes for end-to-end tests.

Every process starts on an initialised ``DAGSTER_HOME`` (``initialise_instance``): on a new SQLite
home each Dagster process creates and migrates the storage itself, and two doing it at the same
moment race on the schedule storage ("Version table 'alembic_version' has more than one head
present").
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import yaml

from reports_pipeline.locations import PACKAGE_DIR

BIN = Path(sys.executable).parent

# Generous limits: the suite must pass on a loaded machine, and waiting longer costs nothing when
# the condition is met early.
STARTUP_TIMEOUT = 300


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DagsterProcess:
    """A Dagster command in its own process group, its output collected line by line.

    ``wait_for_line`` blocks on a condition set by the reader thread, so tests wait for what the
    process says rather than for a guessed amount of time.
    """

    def __init__(self, args: list[str], env: dict, cwd: Path):
        self.lines: list[str] = []
        self._output_ended = False
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip())
                self._changed.notify_all()
        with self._changed:
            # The output ends when the process does: a process that died at start-up is seen
            # at once, not when the wait times out (it may not be reaped yet).
            self._output_ended = True
            self._changed.notify_all()

    def wait_for_line(self, fragment: str, timeout: float) -> str:
        def found():
            return next((line for line in self.lines if fragment in line), None)

        with self._changed:
            if (
                not self._changed.wait_for(
                    lambda: found() or self._output_ended or self.process.poll() is not None,
                    timeout=timeout,
                )
                or not found()
            ):
                raise AssertionError(
                    f"no line with {fragment!r} within {timeout}s; output:\n"
                    + "\n".join(self.lines[-40:])
                )
            return found()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        # The group is the process's own session: whatever it started and left behind (a code
        # server spawned while the daemon shut down) goes too, so no test leaks a process.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)


def prepare_deployment(folder: Path) -> dict:
    """``folder/workspace.yaml`` and a DAGSTER_HOME with the project's dagster.yaml, as an
    operator has them, for the reports in ``folder/reports`` and ``folder/connections.yaml``.

    Returns the environment for Dagster processes; the instance's storage is created, so a
    daemon and a webserver may start together.
    """
    (folder / "workspace.yaml").write_text(
        yaml.safe_dump(
            {
                "load_from": [
                    {
                        "python_module": {
                            "module_name": "reports_pipeline.definitions",
                            "working_directory": str(folder),
                        }
                    }
                ]
            }
        )
    )
    home = folder / "dagster_home"
    home.mkdir()
    shutil.copy(PACKAGE_DIR.parent / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "REPORTS_DIR": str(folder / "reports"),
        "REPORTS_CONNECTIONS": str(folder / "connections.yaml"),
    }
    initialise_instance(env)
    return env


def initialise_instance(env: dict) -> None:
    """Create and migrate the storage of the instance at ``env["DAGSTER_HOME"]``, once.

    The same step as ``make dev``: ``dagster instance migrate`` is a no-op on an up-to-date home.
    """
    migrate = subprocess.run(
        [str(BIN / "dagster"), "instance", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
    )
    if migrate.returncode != 0:
        raise AssertionError(
            f"dagster instance migrate failed on {env['DAGSTER_HOME']}:\n"
            + migrate.stdout
            + migrate.stderr
        )


def start_daemon(workspace: Path, env: dict) -> DagsterProcess:
    return DagsterProcess(
        [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)], env, workspace.parent
    )


def start_webserver(workspace: Path, env: dict, port: int) -> DagsterProcess:
    return DagsterProcess(
        [str(BIN / "dagster-webserver"), "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)]
        # uvicorn's info lines include "Uvicorn running on", which serving_webserver waits for.
        + ["--uvicorn-log-level", "info"],
        env,
        workspace.parent,
    )


def serving_webserver(workspace: Path, env: dict, port: int) -> DagsterProcess:
    """A webserver that answers requests: Dagster's own "Serving dagster-webserver" line comes
    before the socket listens, uvicorn's "running on" after."""
    webserver = start_webserver(workspace, env, port)
    try:
        webserver.wait_for_line("Uvicorn running on", timeout=STARTUP_TIMEOUT)
    except BaseException:
        webserver.stop()
        raise
    return webserver


def backfill(workspace: Path, env: dict, job: str, first: str, last: str) -> None:
    """``dagster job backfill`` of ``job``'s partitions ``first``..``last``, run by the daemon."""
    result = subprocess.run(
        [
            str(BIN / "dagster"),
            "job",
            "backfill",
            "-w",
            str(workspace),
            "-j",
            job,
            "--from",
            first,
            "--to",
            last,
            "--noprompt",
        ],
        env=env,
        cwd=workspace.parent,
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
