"""Does the daemon keep ticking on time while it reloads a large code location?

    .venv/bin/python benchmarks/daemon_reload.py [--n 10000] [--minutes 8]

`dagster-daemon run` fetches every code location again every 60 seconds (Dagster's own
interval, not a setting): with N reports that is N job snapshots each time, on top of the
schedule ticks. This script generates N report files as ``scale.py`` does (mixed cadences and
zones: at 10,000 about 45 schedules are due each minute) plus a probe report due every minute,
serves them from one long-lived ``dagster code-server`` (the production shape) and starts a real
``dagster-daemon`` on a fresh SQLite instance whose queue launches nothing
(``max_concurrent_runs: 0``), so the figures are the scheduler's alone, not run workers'.

After the daemon's first tick it watches ``--minutes`` whole minutes, then reads from the
instance, for the runs the schedules created in that window, how late each was: its creation
time minus the tick's due time (Dagster's ``scheduled_execution_time`` tag). It prints the
daemon's start to its first tick, the probe's ticks (due, created, missing), the lateness of
every tick (median, 95th percentile, largest), the CPU seconds per minute of the daemon and of
the code server during the window, the daemon's peak RSS, and the catch-up sensor's
evaluations in the window (by status, the longest) with the runs it requested for ticks the
scheduler missed. Nothing here asserts; one run on a shared machine.
"""

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml
from dagster._core.storage.tags import SCHEDULE_NAME_TAG, SCHEDULED_EXECUTION_TIME_TAG

sys.path.insert(0, str(Path(__file__).parent))
from scale import (  # noqa: E402  (the benchmark's own helpers, beside this file)
    ROOT,
    _due_minute,
    _free_port,
    _instance_home,
    _session_cpu,
    _start,
    _stop,
    _wait_for_code_server,
    _wait_until,
    generate_project,
)

from reports_pipeline.sensors.catch_up import CATCH_UP_SENSOR_NAME, CATCH_UP_TAG  # noqa: E402

PROBE = "probe_every_minute"
SCHEDULED_TAG = SCHEDULED_EXECUTION_TIME_TAG  # the tick's due time, on each run it creates
SCHEDULE_TAG = SCHEDULE_NAME_TAG


def probe_report() -> dict:
    return {
        "name": PROBE,
        "owner": "probe@example.com",
        "source": {"sql": "select 1 as one"},
        "schedule": {"every": "cron", "cron": "* * * * *", "timezone": "UTC"},
        "format": "csv",
        "deliver": [{"email": {"to": ["probe@example.com"]}}],
    }


def _peak_rss_mb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) // 1024


def _catch_up_ticks(instance, since: datetime) -> dict:
    """The catch-up sensor's evaluations since ``since``: how many ended in each status, and
    the longest one (Dagster stops a sensor call at 60 s)."""
    from dagster._core.definitions.run_request import InstigatorType

    states = [
        state
        for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
        if state.instigator_name == CATCH_UP_SENSOR_NAME
    ]
    ticks = []
    for state in states:
        ticks += instance.get_ticks(
            state.instigator_origin_id, state.selector_id, after=since.timestamp()
        )
    statuses: dict[str, int] = {}
    for tick in ticks:
        statuses[tick.status.value] = statuses.get(tick.status.value, 0) + 1
    durations = [t.end_timestamp - t.timestamp for t in ticks if t.end_timestamp]
    return {"statuses": statuses, "longest": max(durations, default=None)}


def measure(n: int, minutes: int, work: Path) -> dict:
    from dagster import DagsterInstance, RunsFilter

    root = work / "reload"
    root.mkdir()
    reports, connections = generate_project(root, n)
    (reports / f"{PROBE}.yaml").write_text(yaml.safe_dump(probe_report(), sort_keys=False))
    settings = yaml.safe_load(connections.read_text())
    settings["policy"]["min_interval"] = "1m"  # the probe's cadence
    connections.write_text(yaml.safe_dump(settings, sort_keys=False))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.update(REPORTS_DIR=str(reports), REPORTS_CONNECTIONS=str(connections))
    home = root / "dagster_home"
    _instance_home(home, 0, env, None)  # 0: nothing launched, the runs stay queued
    env["DAGSTER_HOME"] = str(home)
    port = _free_port()
    server = _start(
        [
            "dagster", "code-server", "start", "-h", "127.0.0.1", "-p", str(port),
            "-m", "reports_pipeline.definitions", "-a", "defs", "-d", str(root),
            "--location-name", "reports",
        ],
        root, env, "code_server.log",
    )  # fmt: skip
    processes = [server]
    try:
        started = time.monotonic()
        _wait_for_code_server(port, env)
        server_ready_s = time.monotonic() - started
        location = {"grpc_server": {"host": "127.0.0.1", "port": port, "location_name": "reports"}}
        (root / "workspace.yaml").write_text(yaml.safe_dump({"load_from": [location]}))
        daemon_started = datetime.now(timezone.utc)
        daemon = _start(
            ["dagster-daemon", "run", "-w", str(root / "workspace.yaml")], root, env, "daemon.log"
        )
        processes.append(daemon)
        print(f"  code server up after {server_ready_s:.0f} s; daemon pid {daemon.pid}", flush=True)
        with DagsterInstance.from_config(str(home)) as instance:
            while not instance.get_runs(RunsFilter(tags={SCHEDULE_TAG: f"{PROBE}_schedule"})):
                if daemon.poll() is not None:
                    raise SystemExit(f"the daemon stopped: see {root / 'daemon.log'}")
                time.sleep(2)
            first_tick_s = (datetime.now(timezone.utc) - daemon_started).total_seconds()
            window_start = _due_minute(0)  # the next whole minute
            window_end = window_start + timedelta(minutes=minutes)
            _wait_until(window_start)
            cpu_before = {p.pid: _session_cpu(p.pid) for p in processes}
            print(f"  watching {window_start:%H:%M}-{window_end:%H:%M} UTC", flush=True)
            # The ticks of the window's last minute get up to a minute to be created.
            _wait_until(window_end + timedelta(seconds=60))
            cpu = {p.pid: _session_cpu(p.pid) - cpu_before[p.pid] for p in processes}
            daemon_peak = _peak_rss_mb(daemon.pid)
            records = instance.get_run_records()
            sensor_ticks = _catch_up_ticks(instance, window_start)
    finally:
        for process in reversed(processes):
            _stop(process)
    late, probe_due = [], set()
    for record in records:
        tags = record.dagster_run.tags
        if SCHEDULED_TAG not in tags:
            continue
        due = datetime.fromisoformat(tags[SCHEDULED_TAG])
        if not window_start <= due < window_end:
            continue
        late.append(record.create_timestamp.timestamp() - due.timestamp())
        if tags.get(SCHEDULE_TAG) == f"{PROBE}_schedule":
            probe_due.add(due)
    late.sort()
    caught_up = sum(1 for r in records if r.dagster_run.tags.get(CATCH_UP_TAG) == "true")
    return {
        "catch_up_ticks": sensor_ticks,
        "caught_up_runs": caught_up,
        "first_tick_s": first_tick_s,
        "server_ready_s": server_ready_s,
        "probe_due": minutes,
        "probe_created": len(probe_due),
        "ticks": len(late),
        "late_median": statistics.median(late) if late else None,
        # Nearest rank: the smallest lateness that 95 % of the ticks do not exceed.
        "late_p95": late[math.ceil(0.95 * len(late)) - 1] if late else None,
        "late_max": late[-1] if late else None,
        "daemon_cpu_per_min": cpu[daemon.pid] / (minutes + 1),
        "server_cpu_per_min": cpu[server.pid] / (minutes + 1),
        "daemon_peak_mb": daemon_peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="report files")
    parser.add_argument("--minutes", type=int, default=8, help="whole minutes watched")
    parser.add_argument("--keep", action="store_true", help="keep the generated folder")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="reports-reload-"))
    print(f"N={options.n}, load average before: {os.getloadavg()}", flush=True)
    try:
        f = measure(options.n, options.minutes, work)
    finally:
        if not options.keep:
            subprocess.run(["rm", "-rf", str(work)], check=False)
    print(f"load average after: {os.getloadavg()}\n")

    def seconds(value):
        return "none" if value is None else f"{value:.1f}"

    rows = [
        ("code server up (loads every report), s", f"{f['server_ready_s']:.0f}"),
        ("daemon start to its first tick, s", f"{f['first_tick_s']:.0f}"),
        ("probe ticks due, created", f"{f['probe_due']}, {f['probe_created']}"),
        ("schedule ticks in the window", str(f["ticks"])),
        ("  late, s: median", seconds(f["late_median"])),
        ("  95th percentile", seconds(f["late_p95"])),
        ("  largest", seconds(f["late_max"])),
        ("daemon CPU s per minute", f"{f['daemon_cpu_per_min']:.1f}"),
        ("code server CPU s per minute", f"{f['server_cpu_per_min']:.1f}"),
        ("daemon peak RSS MB", str(f["daemon_peak_mb"])),
        (
            "catch-up sensor evaluations by status",
            ", ".join(f"{k} {v}" for k, v in sorted(f["catch_up_ticks"]["statuses"].items())),
        ),
        ("  longest, s", seconds(f["catch_up_ticks"]["longest"])),
        ("runs it requested (missed ticks caught up)", str(f["caught_up_runs"])),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"| {'what':<{width}} | N={options.n} |\n|{'-' * (width + 2)}|------|")
    for label, value in rows:
        print(f"| {label:<{width}} | {value} |")
    missing = f["probe_due"] - f["probe_created"]
    print(f"\nprobe ticks missed: {missing}; every tick within 60 s of its time: "
          f"{'yes' if f['late_max'] is not None and f['late_max'] <= 60 else 'no'}")  # fmt: skip


if __name__ == "__main__":
    main()
