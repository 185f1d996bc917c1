"""What the late-notice sensor, the catch-up sensor and `reports status` cost at N reports.

`reports status` reads every report's health from the instance (`reports_health`: one query of
each report's recent runs); the late-notice sensor, every five minutes, needs lateness only
(`reports_lateness`: one query per day of due ticks proves most reports on time, and only the
others are read one by one). The catch-up sensor, every minute, looks at the reports with a
tick since its last evaluation (its cursor); its first evaluation, with no cursor, at every
report; before it had a cursor it read each report's last 1,000 runs. This script puts N
reports' worth of runs into a fresh Postgres instance (or SQLite with `--sqlite`), the latest
due period of every report delivered but for one report in a hundred, and prints the wall and
CPU time of each evaluation beside the baseline: one query returning the same runs for every
report at once (what Dagster's run storage costs with nothing added). Nothing asserts;
read the figures.

    .venv/bin/python benchmarks/health_queries.py                # N=10,000, 3 runs each
    .venv/bin/python benchmarks/health_queries.py --n 1000 --sqlite
"""

import argparse
import os
import sys
import tempfile
import time
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import ROOT, _fresh_database, generate_project  # noqa: E402

warnings.filterwarnings("ignore")


def _timed(action):
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _instance(home: Path, storage_url: str | None):
    from dagster import DagsterInstance

    home.mkdir()
    settings = {"storage": {"postgres": {"postgres_url": storage_url}}} if storage_url else {}
    (home / "dagster.yaml").write_text(yaml.safe_dump(settings))
    os.environ["DAGSTER_HOME"] = str(home)
    return DagsterInstance.get()


def _add_runs(instance, specs, per_report: int, now: datetime) -> int:
    """Runs of each report's latest due period and the ones before it (one report in a hundred
    misses its latest: late), schedules running for a month."""
    from dagster import DagsterRunStatus
    from dagster._core.remote_origin import (
        RegisteredCodeLocationOrigin,
        RemoteInstigatorOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.scheduler.instigation import (
        InstigatorState,
        InstigatorStatus,
        InstigatorType,
        ScheduleInstigatorData,
    )
    from dagster._core.storage.dagster_run import DagsterRun

    from reports_pipeline.health import latest_due
    from reports_pipeline.jobs.report_job import REPORT_TAG
    from reports_pipeline.scheduling.cadence import partitions_definition
    from reports_pipeline.scheduling.report_schedule import schedule_name

    added = 0
    for index, spec in enumerate(specs):
        # The schedule's state as the daemon records it for the location `make dev` serves.
        repository = RemoteRepositoryOrigin(
            RegisteredCodeLocationOrigin("reports_pipeline.definitions"), "__repository__"
        )
        origin = RemoteInstigatorOrigin(repository, schedule_name(spec.name))
        since = (now - timedelta(days=40)).timestamp()
        instance.add_instigator_state(
            InstigatorState(
                origin,
                InstigatorType.SCHEDULE,
                InstigatorStatus.RUNNING,
                ScheduleInstigatorData("0 7 * * *", since),
            )
        )
        partitions_def = partitions_definition(spec.schedule, today=now.date())
        found = latest_due(spec, partitions_def, now)
        if found is None:
            continue  # nothing of this report is due yet (its first period has not ended)
        _, due = found
        keys = partitions_def.get_partition_keys(current_time=now)
        latest = keys.index(due.period.key)
        periods = keys[max(0, latest - per_report + 1) : latest + (0 if index % 100 == 7 else 1)]
        for period in periods:
            instance.run_storage.add_run(
                DagsterRun(
                    job_name=spec.name,
                    status=DagsterRunStatus.SUCCESS,
                    tags={REPORT_TAG: spec.name, "dagster/partition": period},
                )
            )
            added += 1
    return added


def _catch_up_figures(instance, specs, now: datetime) -> list[tuple[str, float, float]]:
    """Wall and CPU of catch-up sensor evaluations: the first one (no cursor), one a minute
    after the last, and what it cost before it had a cursor (each report's last 1,000 runs)."""
    from dagster import RunsFilter

    from reports_pipeline.scheduling.cadence import partitions_definition
    from reports_pipeline.sensors.catch_up import Cursor, PeriodicReport, catch_up

    periodic = sorted(
        (
            PeriodicReport(spec, spec.name, partitions_definition(spec.schedule, today=now.date()))
            for spec in specs
            if spec.schedule.every != "once"
        ),
        key=lambda report: report.spec.name,
    )
    figures = []
    for label, cursor in (
        ("catch-up sensor, first evaluation (no cursor)", Cursor()),
        (
            "catch-up sensor, a minute after the last",
            Cursor(checked_until=(now - timedelta(minutes=1)).timestamp()),
        ),
    ):
        result, wall, cpu = _timed(
            lambda cursor=cursor: catch_up(
                instance, periodic, cursor, now, 7, budget_seconds=float("inf")
            )
        )
        figures.append((f"{label}: {len(result.requests)} requested", wall, cpu))
    _, wall, cpu = _timed(
        lambda: [
            instance.get_runs(RunsFilter(job_name=report.job_name), limit=1000)
            for report in periodic
        ]
    )
    figures.append(("catch-up sensor before its cursor: each report's last 1,000 runs", wall, cpu))
    return figures


def _no_synchronous_commit(url: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        name = engine.url.database
        connection.execute(sqlalchemy.text(f'alter database "{name}" set synchronous_commit = off'))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="reports")
    parser.add_argument("--runs", type=int, default=3, help="runs per report already stored")
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres", metavar="URL"
    )
    parser.add_argument("--sqlite", action="store_true", help="a SQLite instance instead")
    options = parser.parse_args()

    from dagster import RunsFilter

    from reports_pipeline.deployment_health import (
        hold_connection,
        reports_health,
        reports_lateness,
    )
    from reports_pipeline.jobs.report_job import REPORT_TAG
    from reports_pipeline.spec.loader import load_project

    work = Path(tempfile.mkdtemp(prefix="reports-health-"))
    reports, connections = generate_project(work, options.n)
    specs = [report.spec for report in load_project([reports], connections).reports]
    names = [spec.name for spec in specs]
    print(f"load average before: {os.getloadavg()}; {len(specs)} reports", flush=True)
    server = None if options.sqlite else options.postgres
    now = datetime.now(timezone.utc)
    with _fresh_database(server, "reports_health_bench") as url:
        if url:  # the runs are a fixture: no need to wait for each commit to reach the disk
            _no_synchronous_commit(url)
        with _instance(work / "home", url) as instance:
            added, add_wall, _ = _timed(lambda: _add_runs(instance, specs, options.runs, now))
            print(f"stored {added} runs in {add_wall:.0f} s", flush=True)
            lateness, late_wall, late_cpu = _timed(lambda: reports_lateness(instance, specs, now))
            # Sensors query as Dagster gives them the instance: a new connection per query.
            catch_ups = _catch_up_figures(instance, specs, now)
            health, wall, cpu = _timed(lambda: reports_health(instance, specs, now))
            # What `reports status` does: the same with one connection held open.
            hold_connection(instance)
            _, held_wall, held_cpu = _timed(lambda: reports_health(instance, specs, now))
            records, base_wall, base_cpu = _timed(
                lambda: instance.get_run_records(RunsFilter(tags={REPORT_TAG: names}), limit=added)
            )
    print(f"load average after: {os.getloadavg()}\n")
    storage = "SQLite" if options.sqlite else "Postgres"
    rows = [
        (f"one evaluation, {len(specs):,} reports, {storage}", "wall s", "CPU s"),
        ("`reports_lateness` (a late-notice sensor tick)", f"{late_wall:.1f}", f"{late_cpu:.1f}"),
        ("`reports_health` (the digest), a connection per query", f"{wall:.1f}", f"{cpu:.1f}"),
        ("`reports status`: the same, one held connection", f"{held_wall:.1f}", f"{held_cpu:.1f}"),
        (
            f"baseline: one query of all {len(records):,} runs",
            f"{base_wall:.1f}",
            f"{base_cpu:.1f}",
        ),
    ]
    rows += [(label, f"{wall:.1f}", f"{cpu:.1f}") for label, wall, cpu in catch_ups]
    for index, row in enumerate(rows):
        print("| " + " | ".join(row) + " |")
        if index == 0:
            print("|---|---|---|")
    print(f"| lateness / baseline | {late_wall / base_wall:.1f}× | |")
    print(f"| health / baseline | {wall / base_wall:.1f}× | |")
    print(f"| status / baseline | {held_wall / base_wall:.1f}× | |")
    late = sorted(h.name for h in health if h.late)
    agree = late == sorted(h.name for h in lateness if h.late)
    print(f"\nreports evaluated: {len(health)}; late: {len(late)}; the two agree: {agree}")
    os.system(f"rm -rf {work}")


if __name__ == "__main__":
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    main()
