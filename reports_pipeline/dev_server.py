"""``make dev``: ``dagster dev``, plus a watcher that reloads it when report files change.

    python -m reports_pipeline.dev_server --url http://127.0.0.1:3000 -- dagster dev ...

The watcher is a thread of this process and the command its child, so they stop together:
when ``dagster dev`` ends (Ctrl-C reaches both, as one terminal's process group), this
process ends with its exit code, and a SIGTERM sent here is passed on to it.
"""

import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import click

from reports_pipeline import locations
from reports_pipeline.code_reload import DEFAULT_URL, ReloadError, reload_locations
from reports_pipeline.locations import display_path
from reports_pipeline.reload_watcher import watch_and_reload


def reload_after(url: str) -> Callable[[list[str]], None]:
    """The watcher's action: reload the webserver at ``url``, one line per location."""

    def reload(changed: list[str]) -> None:
        names = ", ".join(display_path(Path(path)) for path in changed[:3])
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        try:
            results = reload_locations(url)
        except ReloadError as exc:
            click.echo(f"reports reload after {names}{more} changed: {exc}", err=True)
            return
        for result in results:
            click.echo(f"reports reload after {names}{more} changed: {result.line()}", err=True)

    return reload


def _start_forwarding_sigterm(command: tuple[str, ...]) -> subprocess.Popen:
    """Start ``command``; a SIGTERM sent here from now on is passed on to it, even one that
    arrives while it is starting."""
    started: list[subprocess.Popen] = []
    asked = threading.Event()

    def forward(*_) -> None:
        asked.set()
        for process in started:
            process.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    started.append(subprocess.Popen(command, preexec_fn=_default_interrupts))
    if asked.is_set():
        started[0].send_signal(signal.SIGTERM)
    return started[0]


def _default_interrupts() -> None:
    """In the command, before it starts: SIGINT as by default. A shell without job control
    starts background commands with SIGINT ignored, and `dagster dev` handles SIGTERM as it
    handles SIGINT, so it would ignore the SIGTERM passed on to it too."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _watch(reports_dir: Path, url: str, stop: threading.Event) -> None:
    """The watcher thread: a missing folder or a failing watch costs the automatic reload
    only (said in one line), never `dagster dev` itself."""
    if not reports_dir.is_dir():
        click.echo(
            f"no reports folder at {display_path(reports_dir)}: files are not watched;"
            " create it and restart, or reload by hand (`reports reload`)",
            err=True,
        )
        return
    try:
        watch_and_reload(reports_dir, locations.connections_path(), reload_after(url), stop)
    except Exception as exc:
        click.echo(
            f"report files are no longer watched ({exc}); reload with `reports reload`", err=True
        )


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--url", default=DEFAULT_URL, show_default=True, help="The webserver to reload.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def main(url: str, command: tuple[str, ...]) -> None:
    """Run COMMAND (``dagster dev ...``) and reload it whenever report files change."""
    stop = threading.Event()
    watcher = threading.Thread(
        target=_watch, args=(locations.reports_dir(), url, stop), daemon=True
    )
    process = _start_forwarding_sigterm(command)
    watcher.start()
    try:
        while True:
            try:
                code = process.wait()
                break
            except KeyboardInterrupt:
                continue  # dagster dev got the same Ctrl-C and is shutting down: wait for it
    finally:
        stop.set()
        watcher.join(timeout=10)
    sys.exit(code)


if __name__ == "__main__":
    main()
