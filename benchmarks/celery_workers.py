"""Throughput of report runs whose steps run on dagster-celery workers, per worker core.

    .venv/bin/python benchmarks/celery_workers.py [--reports 12] [--workers 1,2]

Needs RabbitMQ on 127.0.0.1:5672 (guest/guest) and PostgreSQL on 127.0.0.1:5432 (trust auth).
It writes N daily csv reports e-mailed to an outbox (data from a small SQLite warehouse), then,
each on a fresh PostgreSQL database for the Dagster instance and, for Celery, a RabbitMQ queue
of its own:

- the baseline: the N runs started at once with the in-process executor (today's default),
  each in a process of its own, as the daemon's run launcher starts them;
- the same burst with ``REPORTS_EXECUTOR=celery`` and 1, then 2 (``--workers``) worker
  processes of ``--concurrency 1`` each, started by ``dagster-celery worker start``.

For each: the burst's wall time and runs finished per minute, the CPU seconds per run of the
run processes (what stays on the machine of the daemon) and of the workers (what moves to the
worker machines), and runs per minute per worker core. A worker core's capacity is read from
the workers' CPU per run (60 / CPU s per run): on this shared 2-core machine the run processes,
the workers, RabbitMQ and PostgreSQL all compete for the same cores, so wall-clock throughput
says more about the machine than about a worker. Every run must succeed and the outbox must
hold exactly one e-mail per report; the script stops with an error otherwise.
One run each on a shared machine: read the ratios, not the seconds.
"""

import argparse
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from process_cpu import PROCESS_GROUP, cpu_seconds  # noqa: E402

from reports_pipeline_tests.celery_workers import (  # noqa: E402
    celery_deployment,
    start_celery_worker,
    start_run,
    unreachable_services,
)
from reports_pipeline_tests.report_files import (  # noqa: E402
    report_dict,
    write_report,
    write_test_connections,
)

PERIOD = "2026-11-02"
RUN_TIMEOUT = 1800


@dataclass
class Burst:
    label: str
    workers: int
    wall: float
    run_cpu: float
    worker_cpu: float
    reports: int

    @property
    def runs_per_minute(self) -> float:
        return self.reports / self.wall * 60


def write_deployment(folder: Path, reports: int) -> list[str]:
    write_test_connections(
        folder,
        {"mail": {"kind": "outbox", "path": str(folder / "outbox"), "from": "r@example.com"}},
    )
    names = [f"bench_{number}" for number in range(1, reports + 1)]
    for name in names:
        write_report(
            folder / "reports",
            report_dict(
                name=name,
                owner=f"{name}-owner@example.com",  # policy.max_reports_per_owner is 10
                source={
                    "connection": "warehouse",
                    "sql": "select id, customer, amount from invoices"
                    " where issued_at >= :period_start and issued_at < :period_end",
                },
                deliver=[{"email": {"to": [f"{name}@example.com"]}}],
            ),
        )
    return names


def process_group_cpu(group: int) -> float:
    return cpu_seconds(PROCESS_GROUP, group)


def run_burst(names: list[str], env: dict, folder: Path) -> tuple[float, float]:
    """Start every run at once; wall seconds until the last ends, CPU seconds of the runs."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    runs = [start_run(name, PERIOD, env, folder) for name in names]
    for run in runs:
        output, _ = run.communicate(timeout=RUN_TIMEOUT)
        if run.returncode != 0:
            raise SystemExit(f"a run failed:\n{output[-3000:]}")
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(label: str, reports: int, workers: int, root: Path) -> Burst:
    folder = root / label.replace(" ", "_")
    folder.mkdir()
    names = write_deployment(folder, reports)
    with celery_deployment(folder, "celery" if workers else "in_process") as env:
        started = []
        try:
            for number in range(workers):
                started.append(start_celery_worker(f"bench_{number}", env, folder))
            idle = sum(process_group_cpu(worker.process.pid) for worker in started)
            wall, run_cpu = run_burst(names, env, folder)
            worker_cpu = sum(process_group_cpu(worker.process.pid) for worker in started) - idle
        finally:
            for worker in started:
                worker.stop()
    delivered = sorted(path.name for path in (folder / "outbox").glob("*.eml"))
    if len(delivered) != reports:
        raise SystemExit(f"{label}: {len(delivered)} e-mails in the outbox for {reports} reports")
    return Burst(label, workers, wall, run_cpu, worker_cpu, reports)


TABLE_HEADER = (
    "| executor | wall s | runs/min | vs in_process | run process CPU s/run | worker CPU s/run"
    " | runs/min per worker process (wall) | runs/min per busy worker core (60 / CPU) |\n"
    "|---|---|---|---|---|---|---|---|"
)


def table_row(burst: Burst, baseline: Burst) -> str:
    cells = [
        burst.label,
        f"{burst.wall:.1f}",
        f"{burst.runs_per_minute:.1f}",
        f"{burst.runs_per_minute / baseline.runs_per_minute:.2f}x",
        f"{burst.run_cpu / burst.reports:.2f}",
    ]
    if burst.workers:
        worker_cpu = burst.worker_cpu / burst.reports
        cells += [
            f"{worker_cpu:.2f}",
            f"{burst.runs_per_minute / burst.workers:.1f}",
            f"{60 / worker_cpu:.1f}",
        ]
    else:
        cells += ["–", "–", "–"]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=12)
    parser.add_argument("--workers", default="1,2", help="worker processes, comma-separated")
    args = parser.parse_args()
    missing = unreachable_services()
    if missing:
        raise SystemExit("; ".join(missing))
    print("load average before:", Path("/proc/loadavg").read_text().strip())
    results = []
    with tempfile.TemporaryDirectory(prefix="celery_bench_") as root:
        results.append(measure("in_process", args.reports, 0, Path(root)))
        for workers in (int(w) for w in args.workers.split(",")):
            results.append(measure(f"celery {workers} worker", args.reports, workers, Path(root)))
    print("load average after: ", Path("/proc/loadavg").read_text().strip())
    print(f"{args.reports} daily csv reports e-mailed to the outbox, started at once\n")
    print(TABLE_HEADER)
    for burst in results:
        print(table_row(burst, results[0]))


if __name__ == "__main__":
    main()
