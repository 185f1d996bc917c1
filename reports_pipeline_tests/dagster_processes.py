"""Real ``dagster-daemon`` and ``dagster-webserver`` processes for end-to-end tests."""

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

BIN = Path(sys.executable).parent


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
            self._changed.notify_all()

    def wait_for_line(self, fragment: str, timeout: float) -> str:
        def found():
            return next((line for line in self.lines if fragment in line), None)

        with self._changed:
            if (
                not self._changed.wait_for(
                    lambda: found() or self.process.poll() is not None, timeout=timeout
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
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_daemon(workspace: Path, env: dict) -> DagsterProcess:
    return DagsterProcess(
        [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)], env, workspace.parent
    )


def start_webserver(workspace: Path, env: dict, port: int) -> DagsterProcess:
    return DagsterProcess(
        [str(BIN / "dagster-webserver"), "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)],
        env,
        workspace.parent,
    )
