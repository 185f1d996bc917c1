"""What the number of reports costs, beside a naive Dagster location of as many trivial jobs.

    .venv/bin/python benchmarks/scale.py [--n 10,2000] [--keep] [--no-grpc]

For each N it generates N report files into a temporary folder (mixed cadences, time zones,
formats and targets; e-mail to the outbox, data from the demo warehouse) and a naive code
location of N trivial jobs (one op, one schedule each) built by this script, then measures,
each in a fresh process of its own:

- ``reports validate`` of the folder (wall and CPU seconds);
- the code location's full build, as the webserver and daemon need it: import, every job,
  schedule and sensor, and the repository snapshot Dagster serves over gRPC (CPU seconds, peak
  RSS, snapshot size);
- the location served by ``dagster api grpc`` and fetched by a client the way the webserver and
  the daemon fetch it (``GrpcServerCodeLocation``): wall seconds from starting the server to
  holding every job and schedule, the server's CPU and peak RSS (``--no-grpc`` skips this);
- one run of one report in a fresh process, as a run worker does it: the job reconstructed from
  the code location by name (the path of ``dagster api execute_run``) and executed in-process
  against an ephemeral instance (CPU seconds).

The largest N is compared with the smallest, and the figures with the targets of the issue
"10,000 reports in one deployment": one run at N=10,000 ≤ 1.2x the CPU of the same run at
N=10; validate of 10,000 files ≤ 20 s; the location with 10,000 reports built, and served
over gRPC, ≤ 60 s and ≤ 1.5 GB per process. When the largest N is below 10,000 the 10,000
figures are projected on the line through the two sizes and marked so.

With ``--burst N`` (``--burst-only`` leaves the rest out, ``--burst-full`` is N=1,000) it
also sends N csv reports e-mailed to the outbox, all due at the same minute, through a real
``dagster-daemon`` (the project's dagster.yaml: QueuedRunCoordinator, ``--concurrency``
max_concurrent_runs, 4 by default) on a fresh SQLite ``DAGSTER_HOME``, then does the same with a
naive location of N trivial jobs whose schedules are due at one minute, each side with its own
instance and daemon, one after the other: runs created per minute after the tick, runs finished
per minute, CPU per run (every process of the daemon's session after the tick: daemon, code
server, run workers), failures, jobs run more than once. Each side stops at
``--burst-timeout`` seconds after its minute. Target: ≥ 0.9x the trivial jobs' runs finished per
minute, all runs created within 90 s of the minute.

``--created-only`` launches none of the burst's runs (``max_concurrent_runs: 0``) and stops once
all are created: the ticks' own cost, at 1,000 reports. The daemon's periodic reload is
measured by ``daemon_reload.py``. The script prints; it asserts nothing.
One run each on a shared machine: read the ratios, not the seconds.
"""

import argparse
import contextlib
import os
import resource
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml
from process_cpu import SESSION, cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TARGET_N = 10_000
CADENCES = (
    {"every": "day", "at": "{hh}:{mm}"},
    {"every": "week", "on": "monday", "at": "{hh}:{mm}"},
    {"every": "month", "on": 1, "at": "{hh}:{mm}"},
    {"every": "hour", "at": "00:{mm}"},
)
ZONES = ("UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo")
FORMATS = ("csv", "json", "html", "xlsx")
CONNECTIONS = {
    "connections": {
        "demo_warehouse": {"kind": "demo", "path": "{root}/demo_warehouse.sqlite"},
        "outbox": {"kind": "outbox", "path": "{root}/outbox", "from": "reports@example.com"},
        "drop": {
            "kind": "sftp",
            "host": "127.0.0.1",
            "port": 2222,
            "username": "reports",
            "password": {"env": "SCALE_SFTP_PASSWORD"},
            "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9ok"
            "Wi0dh2l9GKJl",
        },
        "hook": {
            "kind": "webhook",
            "url": "http://127.0.0.1:9/reports",
            "allow_http": True,
            "allow_hosts": ["127.0.0.1"],
        },
    },
    "storage": {"kind": "local", "path": "{root}/report_files"},
    "policy": {"timezone": "UTC", "max_reports_per_owner": 10},
}
MEASURED_REPORT = "report_00003"  # a daily csv report e-mailed to the outbox


def report(i: int) -> dict:
    cadence = {
        key: value.format(hh=f"{(i // 60) % 24:02d}", mm=f"{i % 60:02d}")
        if isinstance(value, str)
        else value
        for key, value in CADENCES[i % 4 if i != 3 else 0].items()
    }
    cadence["timezone"] = ZONES[(i // 4) % len(ZONES)]
    deliver = [{"email": {"to": [f"team{i % 97}@example.com"]}}]
    if i % 5 == 1:
        deliver.append({"sftp": {"connection": "drop"}})
    if i % 7 == 2:
        deliver.append({"webhook": {"connection": "hook"}})
    return {
        "name": f"report_{i:05d}",
        "owner": f"owner{i // 10}@example.com",
        "source": {
            "sql": "select id, customer, amount from invoices"
            " where issued_at >= :period_start and issued_at < :period_end"
        },
        "schedule": cadence,
        "format": FORMATS[i % len(FORMATS)] if i != 3 else "csv",
        "deliver": deliver,
    }


def generate_project(root: Path, n: int) -> tuple[Path, Path]:
    reports = root / "reports"
    for i in range(n):
        folder = reports / f"team_{i % 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"report_{i:05d}.yaml").write_text(yaml.safe_dump(report(i), sort_keys=False))
    connections = root / "connections.yaml"
    text = yaml.safe_dump(CONNECTIONS, sort_keys=False).replace("{root}", str(root))
    connections.write_text(text)
    return reports, connections


NAIVE_LOCATION = '''
"""{n} trivial jobs, one op and one schedule each: what Dagster costs with nothing added."""
from dagster import (
    DefaultScheduleStatus, Definitions, ScheduleDefinition, in_process_executor, job, op,
)


def make(i):
    @op(name=f"step_{{i}}")
    def step():
        return i

    @job(name=f"job_{{i:05d}}", executor_def=in_process_executor)
    def trivial():
        step()

    return trivial, ScheduleDefinition(job=trivial, {schedule})


built = [make(i) for i in range({n})]
defs = Definitions(jobs=[j for j, _ in built], schedules=[s for _, s in built])
'''
# The load benchmark's schedules, spread over an hour (Dagster's default status: stopped).
LOAD_SCHEDULE = 'cron_schedule=f"{i % 60} 7 * * *"'

# Run in a child: the location's full build and its snapshot, as the webserver/daemon load it.
BUILD_SCRIPT = """
import sys, time
from dagster._core.definitions.reconstruct import initialize_repository_def_from_pointer
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster_shared.serdes import serialize_value
pointer = ModuleCodePointer(module=sys.argv[1], fn_name="defs", working_directory=None)
repository = initialize_repository_def_from_pointer(pointer)
repository.load_all_definitions()
snapshot = serialize_value(RepositorySnap.from_def(repository))
print("jobs", len(repository.get_all_jobs()), "snapshot_bytes", len(snapshot))
"""

# Run in a child: the location served by `dagster api grpc` and fetched as the webserver and the
# daemon fetch it; the server's own CPU and peak RSS are read from /proc before it stops.
GRPC_SCRIPT = """
import os, socket, subprocess, sys, time
from dagster import DagsterInstance
from dagster._core.remote_origin import GrpcServerCodeLocationOrigin
from dagster._core.remote_representation.code_location import GrpcServerCodeLocation
from dagster._grpc.client import DagsterGrpcClient
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
start = time.perf_counter()
server = subprocess.Popen(
    [sys.executable, "-m", "dagster", "api", "grpc", "-m", sys.argv[1], "-a", "defs",
     "-h", "127.0.0.1", "-p", str(port)],
    stdout=subprocess.DEVNULL,
)
client = DagsterGrpcClient(port=port, host="127.0.0.1")
deadline = time.monotonic() + 900
while True:  # the server answers once it has loaded the location
    try:
        client.ping("up")
        break
    except Exception:
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the gRPC server did not come up")
        time.sleep(0.2)
origin = GrpcServerCodeLocationOrigin(host="127.0.0.1", port=port, location_name="scale")
with DagsterInstance.ephemeral() as instance:
    location = GrpcServerCodeLocation(origin=origin, instance=instance, host="127.0.0.1", port=port)
    repository = next(iter(location.get_repositories().values()))
    jobs, schedules = len(repository.get_all_jobs()), len(repository.get_schedules())
elapsed = time.perf_counter() - start
stat = open(f"/proc/{server.pid}/stat").read().rsplit(")", 1)[1].split()
server_cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
hwm = [l for l in open(f"/proc/{server.pid}/status") if l.startswith("VmHWM:")][0].split()[1]
client.shutdown_server()
server.wait(60)
print("served_s", round(elapsed, 1), "server_cpu_s", server_cpu, "server_peak_mb",
      int(hwm) // 1024, "jobs", jobs, "schedules", schedules)
"""

# Run in a child: the reports split over one code location per folder (`reports workspace
# --per-folder`), each served by its own long-lived `dagster api grpc` process, all started at
# once as an operator's process manager starts them; then one client fetches every location in
# turn, as the webserver and the daemon do. Wall time from the start until the client holds
# every job and schedule; the servers' CPU summed and their largest peak RSS.
SPLIT_GRPC_SCRIPT = """
import os, socket, subprocess, sys, time
from dagster import DagsterInstance
from dagster._core.remote_origin import GrpcServerCodeLocationOrigin
from dagster._core.remote_representation.code_location import GrpcServerCodeLocation
from dagster._grpc.client import DagsterGrpcClient
from reports_pipeline.folder_locations import location_attributes
from pathlib import Path
attributes = location_attributes(Path(os.environ["REPORTS_DIR"]))
def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
start = time.perf_counter()
servers = []
for attribute in attributes:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "dagster", "api", "grpc", "-m", "reports_pipeline.folder_locations",
         "-a", attribute, "-h", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
    )
    servers.append((attribute, port, process))
jobs = schedules = 0
server_cpu, server_peak = 0.0, 0
with DagsterInstance.ephemeral() as instance:
    for attribute, port, process in servers:
        client = DagsterGrpcClient(port=port, host="127.0.0.1")
        deadline = time.monotonic() + 1800
        while True:
            try:
                client.ping("up")
                break
            except Exception:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the gRPC server of {attribute} did not come up")
                time.sleep(0.2)
        origin = GrpcServerCodeLocationOrigin(host="127.0.0.1", port=port, location_name=attribute)
        location = GrpcServerCodeLocation(
            origin=origin, instance=instance, host="127.0.0.1", port=port
        )
        repository = next(iter(location.get_repositories().values()))
        jobs += len([j for j in repository.get_all_jobs() if not j.name.startswith("__")])
        schedules += len(repository.get_schedules())
elapsed = time.perf_counter() - start
for attribute, port, process in servers:
    stat = open(f"/proc/{process.pid}/stat").read().rsplit(")", 1)[1].split()
    server_cpu += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    hwm = [l for l in open(f"/proc/{process.pid}/status") if l.startswith("VmHWM:")][0].split()[1]
    server_peak = max(server_peak, int(hwm) // 1024)
    DagsterGrpcClient(port=port, host="127.0.0.1").shutdown_server()
for attribute, port, process in servers:
    process.wait(60)
print("served_s", round(elapsed, 1), "server_cpu_s", round(server_cpu, 1), "server_peak_mb",
      server_peak, "jobs", jobs, "schedules", schedules, "locations", len(servers))
"""

# Run in a child: one job reconstructed by name from the location and executed in-process.
RUN_SCRIPT = """
import sys
from dagster import DagsterInstance, execute_job
from dagster._core.definitions.reconstruct import ReconstructableRepository
repository = ReconstructableRepository.for_module(sys.argv[1], "defs")
job = repository.get_reconstructable_job(sys.argv[2])
with DagsterInstance.ephemeral() as instance:
    result = execute_job(job, instance, tags=dict(a.split("=", 1) for a in sys.argv[3:]))
print("success", result.success)
"""


@dataclass
class Measured:
    wall: float
    cpu: float
    peak_mb: float
    out: str


def measure(args: list[str], env: dict, cwd: Path) -> Measured:
    """Wall, CPU (user+sys) and peak RSS of one child process; its output checked."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    wrapped = [PYTHON, "-c", _HWM_WRAPPER, *args]
    done = subprocess.run(wrapped, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):  # validate exits 1 on errors: shown, not fatal
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    peak = 0.0
    for line in done.stderr.splitlines():
        if line.startswith("VMHWM_KB "):
            peak = int(line.split()[1]) / 1024
    return Measured(wall, cpu, peak, done.stdout)


# Runs the measured program in this same process (no extra interpreter in the CPU figure)
# and prints its own high-water mark of memory when it ends.
_HWM_WRAPPER = textwrap.dedent(
    """
    import atexit, runpy, sys
    def hwm():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                sys.stderr.write("VMHWM_KB " + line.split()[1] + "\\n")
    atexit.register(hwm)
    program, *sys.argv = sys.argv[1:]
    if program == "-c":
        code, *sys.argv = sys.argv
        sys.argv.insert(0, "-c")
        exec(compile(code, "<measured>", "exec"), {"__name__": "__main__"})
    elif program == "-m":
        runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
    """
)


def measure_size(n: int, work: Path, serve_grpc: bool) -> dict:
    root = work / f"n{n}"
    root.mkdir()
    reports, connections = generate_project(root, n)
    naive_dir = root / "naive"
    naive_dir.mkdir()
    location = NAIVE_LOCATION.format(n=n, schedule=LOAD_SCHEDULE)
    (naive_dir / f"naive_location_{n}.py").write_text(location)
    env = {
        **os.environ,
        "REPORTS_DIR": str(reports),
        "REPORTS_CONNECTIONS": str(connections),
        "PYTHONPATH": os.pathsep.join([str(naive_dir), str(ROOT)]),
    }
    env.pop("DAGSTER_HOME", None)  # runs go to an ephemeral instance
    naive = f"naive_location_{n}"
    figures = {}
    # The one run first: the many code servers of the per-folder measurement leave the machine
    # busy for a while after they stop.
    partition = "dagster/partition=2026-11-29"
    figures["run"] = measure(
        ["-c", RUN_SCRIPT, "reports_pipeline.definitions", MEASURED_REPORT, partition], env, root
    )
    figures["naive_run"] = measure(["-c", RUN_SCRIPT, naive, "job_00003"], env, root)
    validate = measure(
        ["-c", "from reports_pipeline.cli import main; main()", "validate", str(reports)],
        env,
        root,
    )
    figures["validate"] = validate
    figures["build"] = measure(["-c", BUILD_SCRIPT, "reports_pipeline.definitions"], env, root)
    figures["naive_build"] = measure(["-c", BUILD_SCRIPT, naive], env, root)
    if serve_grpc:
        figures["grpc"] = measure(["-c", GRPC_SCRIPT, "reports_pipeline.definitions"], env, root)
        figures["naive_grpc"] = measure(["-c", GRPC_SCRIPT, naive], env, root)
        figures["split_grpc"] = measure(["-c", SPLIT_GRPC_SCRIPT], env, root)
    for key in ("run", "naive_run"):
        if "success True" not in figures[key].out:
            raise RuntimeError(f"the measured run did not succeed ({key}):\n{figures[key].out}")
    figures["outbox"] = len(list(root.rglob("*.eml")))
    return figures


def _word(m: Measured, key: str) -> str:
    """The value printed after ``key`` on the child's last line."""
    words = m.out.split()
    return words[words.index(key) + 1]


def _snapshot_mb(m: Measured) -> float:
    words = m.out.split()
    return int(words[words.index("snapshot_bytes") + 1]) / 1e6


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, r in enumerate(rows):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def _verdict(ok: bool, projected: bool) -> str:
    return ("PASS" if ok else "FAIL") + (" (projected)" if projected else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", default="10,2000", help="report counts, comma-separated")
    parser.add_argument("--keep", action="store_true", help="keep the generated folders")
    parser.add_argument("--no-grpc", action="store_true", help="skip the location served by gRPC")
    parser.add_argument(
        "--burst", type=int, default=0, metavar="N", help="also N reports due in one minute"
    )
    parser.add_argument("--burst-full", action="store_true", help="the burst with 1,000 reports")
    parser.add_argument("--burst-only", action="store_true", help="the burst and nothing else")
    parser.add_argument("--concurrency", type=int, default=4, help="max_concurrent_runs")
    parser.add_argument(
        "--burst-lead", type=float, default=90, help="s from start to the due minute, at least"
    )
    parser.add_argument(
        "--burst-timeout", type=float, default=1800, help="s after the due minute, each side"
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="burst instances in a fresh database each on this Postgres server "
        "(e.g. postgresql://postgres@127.0.0.1:5432/postgres); default SQLite",
    )
    parser.add_argument(
        "--created-only",
        action="store_true",
        help="burst: launch nothing (max_concurrent_runs 0) and stop once every run is created: "
        "the ticks alone",
    )
    parser.add_argument(
        "--code-server",
        action="store_true",
        help="burst daemons connect to a long-lived `dagster code-server` instead of starting "
        "their own",
    )
    options = parser.parse_args()
    burst_n = 1000 if options.burst_full else options.burst or (200 if options.burst_only else 0)
    if options.burst_only:
        work = Path(tempfile.mkdtemp(prefix="reports-burst-"))
        try:
            burst_report(burst_n, options.concurrency, work, options)
        finally:
            if not options.keep:
                subprocess.run(["rm", "-rf", str(work)], check=False)
        return
    sizes = sorted(int(x) for x in options.n.split(","))
    work = Path(tempfile.mkdtemp(prefix="reports-scale-"))
    print(f"load average before: {os.getloadavg()}; generated under {work}", flush=True)
    results = {}
    for n in sizes:
        print(f"measuring N={n} ...", flush=True)
        results[n] = measure_size(n, work, not options.no_grpc)
    print(f"load average after: {os.getloadavg()}\n")
    rows = [("what", *(f"N={n} ours" for n in sizes), *(f"N={n} naive" for n in sizes))]

    def row(label, key, naive_key, fmt):
        ours = [fmt(results[n][key]) for n in sizes]
        theirs = [fmt(results[n][naive_key]) if naive_key else "" for n in sizes]
        rows.append((label, *ours, *theirs))

    row("reports validate: wall s", "validate", None, lambda m: f"{m.wall:.1f}")
    row("  CPU s", "validate", None, lambda m: f"{m.cpu:.1f}")
    row("location full build + snapshot: CPU s", "build", "naive_build", lambda m: f"{m.cpu:.1f}")
    row("  wall s", "build", "naive_build", lambda m: f"{m.wall:.1f}")
    row("  peak RSS MB", "build", "naive_build", lambda m: f"{m.peak_mb:.0f}")
    row("  snapshot MB", "build", "naive_build", lambda m: f"{_snapshot_mb(m):.1f}")
    if not options.no_grpc:
        row(
            "served by gRPC and fetched: wall s",
            "grpc",
            "naive_grpc",
            lambda m: _word(m, "served_s"),
        )
        row("  server CPU s", "grpc", "naive_grpc", lambda m: _word(m, "server_cpu_s"))
        row("  server peak RSS MB", "grpc", "naive_grpc", lambda m: _word(m, "server_peak_mb"))
        row("  CPU s, client and server", "grpc", "naive_grpc", lambda m: f"{m.cpu:.1f}")
        row("  client peak RSS MB", "grpc", "naive_grpc", lambda m: f"{m.peak_mb:.0f}")
        row(
            "  jobs, schedules",
            "grpc",
            "naive_grpc",
            lambda m: _word(m, "jobs") + ", " + _word(m, "schedules"),
        )
        row(
            "per-folder locations served, fetched: wall s",
            "split_grpc",
            None,
            lambda m: _word(m, "served_s"),
        )
        row("  locations (code servers)", "split_grpc", None, lambda m: _word(m, "locations"))
        row("  servers' CPU s, summed", "split_grpc", None, lambda m: _word(m, "server_cpu_s"))
        row(
            "  largest server peak RSS MB", "split_grpc", None, lambda m: _word(m, "server_peak_mb")
        )
        row("  CPU s, client and servers", "split_grpc", None, lambda m: f"{m.cpu:.1f}")
        row("  client peak RSS MB", "split_grpc", None, lambda m: f"{m.peak_mb:.0f}")
        row(
            "  report jobs, schedules",
            "split_grpc",
            None,
            lambda m: _word(m, "jobs") + ", " + _word(m, "schedules"),
        )
    row("one run, fresh process: CPU s", "run", "naive_run", lambda m: f"{m.cpu:.2f}")
    row("  wall s", "run", "naive_run", lambda m: f"{m.wall:.2f}")
    row("  peak RSS MB", "run", "naive_run", lambda m: f"{m.peak_mb:.0f}")
    _print_table(rows)

    small, big = sizes[0], sizes[-1]
    projected = big < TARGET_N

    def at_target(value) -> float:
        """The figure at 10,000 reports: measured, or the line through the two sizes run."""
        if not projected or big == small:
            return value(results[big])
        slope = (value(results[big]) - value(results[small])) / (big - small)
        return max(value(results[big]), value(results[big]) + slope * (TARGET_N - big))

    run_ratio = results[big]["run"].cpu / results[small]["run"].cpu
    naive_run_ratio = results[big]["naive_run"].cpu / results[small]["naive_run"].cpu
    build_ratio = results[big]["build"].cpu / results[big]["naive_build"].cpu
    validate_10k = at_target(lambda r: r["validate"].wall)
    build_10k = at_target(lambda r: r["build"].wall)
    peak_10k = at_target(lambda r: r["build"].peak_mb)
    print()
    print("| target | measured | verdict |\n|---|---|---|")
    print(
        f"| one run at N={big} ≤ 1.2× its CPU at N={small} | {run_ratio:.2f}× "
        f"(naive: {naive_run_ratio:.2f}×) | {_verdict(run_ratio <= 1.2, False)} |"
    )
    print(
        f"| `reports validate` of {TARGET_N:,} files ≤ 20 s | {validate_10k:.0f} s | "
        f"{_verdict(validate_10k <= 20, projected)} |"
    )
    print(
        f"| location with {TARGET_N:,} reports built and snapshotted ≤ 60 s | {build_10k:.0f} s "
        f"(ours / naive CPU at N={big}: {build_ratio:.2f}×) | "
        f"{_verdict(build_10k <= 60, projected)} |"
    )
    print(
        f"| peak RSS of that process ≤ 1.5 GB | {peak_10k:.0f} MB | "
        f"{_verdict(peak_10k <= 1536, projected)} |"
    )
    if not options.no_grpc:
        served_10k = at_target(lambda r: float(_word(r["grpc"], "served_s")))
        served_peak_10k = at_target(
            lambda r: max(float(_word(r["grpc"], "server_peak_mb")), r["grpc"].peak_mb)
        )
        print(
            f"| {TARGET_N:,} reports served by gRPC and fetched ≤ 60 s | {served_10k:.0f} s | "
            f"{_verdict(served_10k <= 60, projected)} |"
        )
        print(
            f"| peak RSS of the server or the client ≤ 1.5 GB | {served_peak_10k:.0f} MB | "
            f"{_verdict(served_peak_10k <= 1536, projected)} |"
        )
        split_10k = at_target(lambda r: float(_word(r["split_grpc"], "served_s")))
        split_peak_10k = at_target(
            lambda r: max(float(_word(r["split_grpc"], "server_peak_mb")), r["split_grpc"].peak_mb)
        )
        print(
            f"| {TARGET_N:,} reports in per-folder locations served and fetched ≤ 60 s |"
            f" {split_10k:.0f} s | {_verdict(split_10k <= 60, projected)} |"
        )
        print(
            f"| peak RSS of any per-folder server or the client ≤ 1.5 GB |"
            f" {split_peak_10k:.0f} MB | {_verdict(split_peak_10k <= 1536, projected)} |"
        )
    print(f"\nruns delivered to the outbox: {[results[n]['outbox'] for n in sizes]}")
    if projected:
        print(f"(projected: straight line through N={small} and N={big}, to N={TARGET_N:,})")
    if burst_n:
        print()
        burst_report(burst_n, options.concurrency, work, options)
    if not options.keep:
        subprocess.run(["rm", "-rf", str(work)], check=False)


# --- Bursts: N reports due in the same minute, through a real dagster-daemon ---------------

# The burst's schedules: every one due at the same minute, running from the start.
BURST_SCHEDULE = (
    'cron_schedule="{mm} {hh} * * *", execution_timezone="UTC", '
    "default_status=DefaultScheduleStatus.RUNNING"
)

FINISHED = ("SUCCESS", "FAILURE", "CANCELED")


def _burst_report(i: int, at: datetime) -> dict:
    return {
        "name": f"burst_{i:05d}",
        "owner": f"owner{i // 10}@example.com",
        "source": {
            "sql": "select id, customer, amount from invoices"
            " where issued_at >= :period_start and issued_at < :period_end"
        },
        "schedule": {"every": "day", "at": at.strftime("%H:%M"), "timezone": "UTC"},
        "format": "csv",
        "deliver": [{"email": {"to": [f"team{i % 97}@example.com"]}}],
    }


def _instance_home(home: Path, concurrency: int, env: dict, storage_url: str | None) -> None:
    """The project's own dagster.yaml with the concurrency asked for, migrated before use;
    storage in the Postgres database ``storage_url`` if given, else SQLite under ``home``."""
    home.mkdir(parents=True)
    settings = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    settings["run_coordinator"]["config"]["max_concurrent_runs"] = concurrency
    if storage_url:
        settings["storage"] = {"postgres": {"postgres_url": storage_url}}
    (home / "dagster.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    # A fresh SQLite home is created by whichever process comes first; migrate it first so the
    # daemon's threads do not race on it.
    subprocess.run(
        [str(Path(PYTHON).parent / "dagster"), "instance", "migrate"],
        env={**env, "DAGSTER_HOME": str(home)},
        check=True,
        capture_output=True,
        timeout=600,
    )


@contextlib.contextmanager
def _fresh_database(server_url: str | None, name: str):
    """A new, empty Postgres database ``name`` on ``server_url``'s server for one side of the
    burst (its SQLAlchemy URL, with the psycopg2 driver named), dropped afterwards."""
    if not server_url:
        yield None
        return
    import psycopg2
    from sqlalchemy.engine import make_url

    server = make_url(server_url)
    admin = psycopg2.connect(
        host=server.host,
        port=server.port or 5432,
        user=server.username,
        password=server.password,
        dbname=server.database or "postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'drop database if exists "{name}" with (force)')
        cursor.execute(f'create database "{name}"')
    try:
        yield server.set(drivername="postgresql+psycopg2", database=name).render_as_string(
            hide_password=False
        )
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


def _start(command: list[str], root: Path, env: dict, log_name: str) -> subprocess.Popen:
    """A Dagster command in a session of its own: the processes it starts share the session."""
    with open(root / log_name, "w") as log:
        return subprocess.Popen(
            [str(Path(PYTHON).parent / command[0]), *command[1:]],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(60)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_code_server(port: int, env: dict, timeout: float = 1800) -> None:
    """Until the code server answers a health check (it loads every report first)."""
    deadline = time.monotonic() + timeout
    check = [str(Path(PYTHON).parent / "dagster"), "api", "grpc-health-check", "-p", str(port)]
    while subprocess.run(check, env=env, capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the code server on port {port} did not answer in {timeout} s")
        time.sleep(2)


def _session_cpu(session: int) -> float:
    """CPU seconds of every process in a session, with the children they have already reaped."""
    return cpu_seconds(SESSION, session)


def _due_minute(lead_s: float) -> datetime:
    """The first whole minute at least ``lead_s`` from now: the daemon has loaded by then."""
    soon = datetime.now(timezone.utc) + timedelta(seconds=lead_s + 59)
    return soon.replace(second=0, microsecond=0)


def _wait_until(moment: datetime) -> None:
    while (left := (moment - datetime.now(timezone.utc)).total_seconds()) > 0:
        time.sleep(min(left, 5))


def run_burst(side: str, n: int, concurrency: int, work: Path, options) -> dict:
    """One side of the burst: its own fresh instance and daemon, stopped at the time limit."""
    with _fresh_database(options.postgres, f"reports_burst_{side}_{os.getpid()}") as storage:
        return _run_burst(side, n, concurrency, work, options, storage)


def _run_burst(side: str, n: int, concurrency: int, work: Path, options, storage) -> dict:
    from dagster import DagsterInstance

    root = work / f"burst_{side}"
    root.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(ROOT)])}
    env.pop("DAGSTER_HOME", None)
    home = root / "dagster_home"
    _instance_home(home, concurrency, env, storage)
    due = _due_minute(options.burst_lead)
    if side == "ours":
        from reports_pipeline.warehouse.demo import ensure_demo_warehouse

        reports = root / "reports"
        reports.mkdir()
        for i in range(n):
            text = yaml.safe_dump(_burst_report(i, due), sort_keys=False)
            (reports / f"burst_{i:05d}.yaml").write_text(text)
        connections = dict(CONNECTIONS, connections=dict(CONNECTIONS["connections"]))
        del connections["connections"]["drop"], connections["connections"]["hook"]
        # Only the burst's runs: no catch-up of earlier days, no warning for a full minute.
        connections["policy"] = {
            **CONNECTIONS["policy"],
            "max_catchup_periods": 0,
            "max_reports_per_slot": n,
        }
        text = yaml.safe_dump(connections, sort_keys=False).replace("{root}", str(root))
        (root / "connections.yaml").write_text(text)
        ensure_demo_warehouse(root / "demo_warehouse.sqlite")  # not built by 4 runs at once
        env.update(REPORTS_DIR=str(reports), REPORTS_CONNECTIONS=str(root / "connections.yaml"))
        module = "reports_pipeline.definitions"
    else:
        code = NAIVE_LOCATION.format(
            n=n, schedule=BURST_SCHEDULE.format(hh=due.hour, mm=due.minute)
        )
        (root / "naive_burst.py").write_text(code)
        module = "naive_burst"
    env["DAGSTER_HOME"] = str(home)
    processes = []
    if options.code_server:
        # The production shape: one long-lived code server the daemon connects to. A daemon that
        # starts its own (python_module) replaces it with a new process every 60 s, and each new
        # one loads every report again.
        port = _free_port()
        processes.append(
            _start(
                [
                    "dagster",
                    "code-server",
                    "start",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-m",
                    module,
                    "-a",
                    "defs",
                    "-d",
                    str(root),
                    "--location-name",
                    side,
                ],
                root,
                env,
                "code_server.log",
            )
        )
        _wait_for_code_server(port, env)
        location = {"grpc_server": {"host": "127.0.0.1", "port": port, "location_name": side}}
    else:
        location = {
            "python_module": {
                "module_name": module,
                "attribute": "defs",
                "working_directory": str(root),
                "location_name": side,
            }
        }
    (root / "workspace.yaml").write_text(yaml.safe_dump({"load_from": [location]}))
    daemon = _start(
        ["dagster-daemon", "run", "-w", str(root / "workspace.yaml")], root, env, "daemon.log"
    )
    processes.append(daemon)
    print(f"  {side}: {n} runs due at {due:%H:%M} UTC, daemon pid {daemon.pid}", flush=True)
    try:
        _wait_until(due)
        cpu_at_tick = sum(_session_cpu(p.pid) for p in processes)
        deadline = time.monotonic() + options.burst_timeout
        with DagsterInstance.from_config(str(home)) as instance:
            while time.monotonic() < deadline and daemon.poll() is None:
                records = instance.get_run_records()
                if sum(r.dagster_run.status.value in FINISHED for r in records) >= n:
                    break
                if options.created_only and len(records) >= n:
                    break
                time.sleep(3)
            cpu = sum(_session_cpu(p.pid) for p in processes) - cpu_at_tick
            records = instance.get_run_records()
    finally:
        for process in reversed(processes):
            _stop(process)
    return _burst_figures(records, n, due, cpu, root)


def _burst_figures(records, n: int, due: datetime, cpu: float, root: Path) -> dict:
    tick = due.timestamp()
    created = sorted(r.create_timestamp.timestamp() - tick for r in records)
    finished = [r for r in records if r.dagster_run.status.value in FINISHED]
    ends = sorted(r.end_time - tick for r in finished if r.end_time)
    spans = sorted(r.end_time - r.start_time for r in finished if r.end_time and r.start_time)
    per_minute = [0] * (int(max(created, default=0) // 60) + 1)
    for seconds in created:
        per_minute[max(0, int(seconds // 60))] += 1
    per_job: dict[str, int] = {}
    for r in records:
        per_job[r.dagster_run.job_name] = per_job.get(r.dagster_run.job_name, 0) + 1
    return {
        "runs": len(records),
        "created_per_minute": per_minute,
        "all_created_s": created[-1] if len(created) >= n else None,
        "finished_per_minute": 60 * len(ends) / ends[-1] if ends else 0.0,
        "finished": len(finished),
        "failed": sum(r.dagster_run.status.value != "SUCCESS" for r in finished),
        "unfinished": len(records) - len(finished),
        "missing": n - len(per_job),
        "duplicates": sum(count - 1 for count in per_job.values()),
        "cpu_per_run": cpu / max(len(finished), 1),
        "median_run_s": spans[len(spans) // 2] if spans else 0.0,
        "delivered": len(list((root / "outbox").rglob("*.eml"))),
    }


def burst_report(n: int, concurrency: int, work: Path, options) -> None:
    if options.created_only:
        concurrency = 0  # the queue launches nothing: the runs the ticks create, and no more
    print(f"burst: {n} reports due in the same minute, max_concurrent_runs {concurrency}")
    storage = "Postgres" if options.postgres else "SQLite"
    server = "a long-lived code server" if options.code_server else "the daemon's own code server"
    print(f"instance storage: {storage}; {server}")
    print(f"load average before: {os.getloadavg()}", flush=True)
    ours = run_burst("ours", n, concurrency, work, options)
    naive = run_burst("naive", n, concurrency, work, options)
    print(f"load average after: {os.getloadavg()}\n")
    ratio = ours["finished_per_minute"] / naive["finished_per_minute"] if naive["finished"] else 0

    def created(figures):
        s = figures["all_created_s"]
        return "not all" if s is None else f"{s:.0f}"

    rows = [
        ("what", "ours", "naive trivial jobs", "ours / naive"),
        (
            "runs created per minute after the tick",
            ", ".join(map(str, ours["created_per_minute"])),
            ", ".join(map(str, naive["created_per_minute"])),
            "",
        ),
        ("all runs created, s after the minute", created(ours), created(naive), ""),
        (
            "runs finished per minute (tick to last end)",
            f"{ours['finished_per_minute']:.1f}",
            f"{naive['finished_per_minute']:.1f}",
            f"{ratio:.2f}×",
        ),
        (
            "CPU s per run (daemon, code server, run workers)",
            f"{ours['cpu_per_run']:.2f}",
            f"{naive['cpu_per_run']:.2f}",
            f"{ours['cpu_per_run'] / max(naive['cpu_per_run'], 1e-9):.2f}×",
        ),
        (
            "a run's wall s, start to end (median)",
            f"{ours['median_run_s']:.1f}",
            f"{naive['median_run_s']:.1f}",
            "",
        ),
        (
            "runs finished / created",
            f"{ours['finished']} / {ours['runs']}",
            f"{naive['finished']} / {naive['runs']}",
            "",
        ),
        (
            "failed, unfinished at the time limit",
            f"{ours['failed']}, {ours['unfinished']}",
            f"{naive['failed']}, {naive['unfinished']}",
            "",
        ),
        (
            "jobs without a run, runs beyond one per job",
            f"{ours['missing']}, {ours['duplicates']}",
            f"{naive['missing']}, {naive['duplicates']}",
            "",
        ),
        ("e-mails in the outbox", str(ours["delivered"]), "", ""),
    ]
    if options.created_only:  # nothing ran: only the rows about creating the runs
        rows = [
            row for row in rows if row[0].startswith(("what", "runs created", "all runs", "jobs"))
        ]
    _print_table(rows)
    all_in_90 = ours["all_created_s"] is not None and ours["all_created_s"] <= 90
    clean = not (ours["failed"] or ours["unfinished"] or ours["missing"] or ours["duplicates"])
    print()
    print("| target | measured | verdict |\n|---|---|---|")
    if options.created_only:
        print(
            f"| all {n} runs created within 90 s of the minute, each once | {created(ours)} s, "
            f"{ours['missing']} missing, {ours['duplicates']} duplicates | "
            f"{_verdict(all_in_90 and not ours['missing'] and not ours['duplicates'], False)} |"
        )
        return
    print(
        f"| runs finished per minute ≥ 0.9× the trivial jobs' | {ratio:.2f}× | "
        f"{_verdict(ratio >= 0.9, False)} |"
    )
    print(
        f"| all {n} runs created within 90 s of the minute | {created(ours)} s | "
        f"{_verdict(all_in_90, False)} |"
    )
    print(
        f"| every report run once, none failed | {ours['finished'] - ours['failed']} succeeded "
        f"of {n}, {ours['duplicates']} duplicates | {_verdict(clean, False)} |"
    )


if __name__ == "__main__":
    main()
