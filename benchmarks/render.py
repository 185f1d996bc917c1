"""Time, rows per second and peak RSS of each report format, each beside a baseline of the same run.

    .venv/bin/python benchmarks/render.py [--rows N] [--big-rows N] [--skip-big]
                                          [--formats csv,xlsx,json,parquet,pdf,html]

Needs the PostgreSQL of the tests (127.0.0.1:5432, user postgres; ``--postgres`` for another):
a scratch database is created, the tables are generated in it with ``generate_series``
(deterministic, 12 columns: integers, floats, decimals, text with quotes, commas, line breaks,
accents, CJK and emoji, dates, timestamps, NULLs) and the database is dropped at the end.

Every measurement runs in a child process of its own (multiprocessing, spawn) that times only
the work (not its imports or the loading of its input) and reports its own peak RSS: its VmHWM
(its high-water mark since exec; ``ru_maxrss`` off Linux) when it ends, so each figure is one
process's peak, imports and input included (the in-memory table is memory-mapped Arrow IPC,
counted as its pages are read). One run each on a shared machine: figures vary by 10-20 %.
The script prints; it asserts nothing, and tests never time anything.
"""

import argparse
import multiprocessing
import platform
import resource
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
FORMATS = ("csv", "xlsx", "json", "parquet", "pdf", "html")
DOCUMENT_ROWS = 5_000  # PDF and HTML: a document, not a data dump (their max_rows default)
BATCH_ROWS = 50_000  # what stream_record_batches yields by default
# Deterministic rows from their number alone; %(rows)s is bound by psycopg2.
TABLE_SQL = """
create unlogged table {table} as
select g as id,
       cast(mod(g, 50000) as int4) as customer_id,
       cast(mod(g, 100) as int2) as quantity,
       cast(mod(g, 100000) as float8) / 100 as unit_price,
       case when mod(g, 10) = 0 then null else cast(mod(g, 97) / 97.0 as float4) end as discount,
       cast(mod(g * 7919, 1000000) / 100.0 as numeric(12, 2)) as amount,
       case when mod(g, 13) = 0 then null
            else cast(mod(g, 10007) / 10000.0 as numeric(10, 4)) end as tax_rate,
       case mod(g, 5) when 0 then 'Müller, "Café" ' || g when 1 then '東京商事 ' || g
                      when 2 then 'Plain customer ' || g when 3 then 'Emoji 🚀 ' || g
                      else 'Line' || chr(10) || 'break ' || g end as customer_name,
       case when mod(g, 7) = 0 then null
            else (array['open', 'paid', 'shipped', 'cancelled'])[mod(g, 4) + 1] end as status,
       date '2020-01-01' + cast(mod(g, 2000) as int) as order_date,
       timestamptz '2020-01-01 00:00:00+00' + g * interval '17 seconds' as created_at,
       case when mod(g, 3) = 0 then null
            else timestamp '2020-01-01' + g * interval '23 seconds' end as shipped_at
from generate_series(cast(1 as int8), %(rows)s) g
"""


@dataclass
class Measurement:
    rows: int = 0
    seconds: float = 0.0
    rss_mb: float = 0.0
    error: str | None = None


@dataclass
class Case:
    name: str
    ours: Measurement
    baseline_name: str = ""
    baseline: Measurement | None = None
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None  # None: nothing to pass (information only, or an error)


# The work measured in the children. Each returns (rows, seconds of the timed part) and takes
# the path of its output file second to last: the child deletes it when done.


def ours_from_memory(format: str, table_file: str, out: str, limit: int | None):
    from reports_pipeline.render import render_file

    _import_renderer(format)
    table = _load(table_file, limit)
    batches = table.to_batches(max_chunksize=BATCH_ROWS)
    options = _options(format)
    started = time.perf_counter()
    result = render_file(format, batches, Path(out), options, _document())
    return result.rows, time.perf_counter() - started


def ours_from_postgres(url: str, table: str, out: str, limit: None = None):
    from reports_pipeline.render import render_file
    from reports_pipeline.spec.report import CsvOptions
    from reports_pipeline.warehouse.fetch import create_warehouse_engine, stream_record_batches

    _import_renderer("csv")
    started = time.perf_counter()
    engine = create_warehouse_engine(url)
    batches = stream_record_batches(engine, f"select * from {table}", {})
    result = render_file("csv", batches, Path(out), CsvOptions(), _document())
    engine.dispose()
    return result.rows, time.perf_counter() - started


def fetch_only(url: str, table: str, out: str, limit: None = None):
    """The data path alone: ``stream_record_batches`` read to the end, nothing written."""
    import pyarrow.compute  # noqa: F401  (as _import_renderer: loaded before the clock)

    from reports_pipeline.warehouse.fetch import create_warehouse_engine, stream_record_batches

    started = time.perf_counter()
    engine = create_warehouse_engine(url)
    rows = sum(
        batch.num_rows for batch in stream_record_batches(engine, f"select * from {table}", {})
    )
    engine.dispose()
    return rows, time.perf_counter() - started


def copy_to_file(url: str, table: str, out: str, limit: None = None):
    import psycopg2
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    started = time.perf_counter()
    connection = psycopg2.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        dbname=parsed.database,
    )
    with connection, connection.cursor() as cursor, open(out, "wb") as sink:
        cursor.copy_expert(f"COPY (select * from {table}) TO STDOUT WITH CSV HEADER", sink)
        rows = cursor.rowcount
    connection.close()
    return rows, time.perf_counter() - started


def arrow_write_csv(table_file: str, out: str, limit: int | None):
    import pyarrow.csv as pa_csv

    table = _load(table_file, limit)
    started = time.perf_counter()
    pa_csv.write_csv(table, out)
    return table.num_rows, time.perf_counter() - started


def arrow_write_parquet(table_file: str, out: str, limit: int | None):
    import pyarrow.parquet as pq

    table = _load(table_file, limit)
    started = time.perf_counter()
    pq.write_table(table, out, compression="zstd")
    return table.num_rows, time.perf_counter() - started


def pandas_to_excel(table_file: str, out: str, limit: int | None):
    table = _load(table_file, limit)
    started = time.perf_counter()
    frame = _naive_frame(table)  # Excel has no time zones: pandas refuses aware datetimes
    frame.to_excel(out, index=False, engine="openpyxl")
    return table.num_rows, time.perf_counter() - started


def pandas_to_json(table_file: str, out: str, limit: int | None):
    table = _load(table_file, limit)
    started = time.perf_counter()
    table.to_pandas().to_json(out, orient="records", date_format="iso", force_ascii=False)
    return table.num_rows, time.perf_counter() - started


def pandas_to_html(table_file: str, out: str, limit: int | None):
    table = _load(table_file, limit)
    started = time.perf_counter()
    table.to_pandas().to_html(out, index=False)
    return table.num_rows, time.perf_counter() - started


def _import_renderer(format: str) -> None:
    """Import before the clock starts: a run imports once, and the baselines are imported too."""
    import importlib

    import pyarrow.compute  # noqa: F401  (loads Arrow's compute library, some 40 MB)

    from reports_pipeline import render

    module = getattr(render, "_RENDERERS", {}).get(format)  # private: skipped if it changes
    if module:
        importlib.import_module(module[0])


def _load(table_file: str, limit: int | None):
    import pyarrow as pa

    table = pa.ipc.open_file(pa.memory_map(table_file)).read_all()
    return table if limit is None else table.slice(0, limit)


def _naive_frame(table):
    frame = table.to_pandas()
    for name in frame.columns:
        if getattr(frame[name].dtype, "tz", None) is not None:
            frame[name] = frame[name].dt.tz_localize(None)
    return frame


def _options(format: str):
    from reports_pipeline.spec import report

    chart = report.ChartOptions(type="bar", x="status", y="amount")
    return {
        "csv": report.CsvOptions,
        "xlsx": report.XlsxOptions,
        "json": report.JsonOptions,
        "parquet": report.ParquetOptions,
        "pdf": lambda: report.PdfOptions(chart=chart),
        "html": lambda: report.HtmlOptions(chart=chart),
    }[format]()


def _document():
    from reports_pipeline.render import ReportDocument

    return ReportDocument(
        name="benchmark",
        title="Benchmark orders",
        description="Generated rows for benchmarks/render.py",
        period_key="2025-01",
        period_start=datetime(2025, 1, 1, tzinfo=timezone.utc),
        period_end=datetime(2025, 2, 1, tzinfo=timezone.utc),
        generated_at=datetime.now(timezone.utc),
    )


def _peak_rss_mb() -> float:
    """This process's peak RSS since it started its program (exec).

    Linux: VmHWM, the high-water mark of the process's own memory map. ``ru_maxrss`` would not
    do: it keeps the highest RSS the process ever had, and a child forked by a parent holding
    pyarrow and a database connection starts with the parent's RSS (its pages, shared).
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**10  # kB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if platform.system() == "Darwin" else peak / 2**10  # bytes vs KiB


def _child(connection, function_name: str, args: tuple) -> None:
    try:
        rows, seconds = globals()[function_name](*args)
        connection.send(Measurement(rows, seconds, _peak_rss_mb()))
    except BaseException as exc:  # reported in the table, the run goes on
        traceback.print_exc()
        connection.send(Measurement(error=f"{type(exc).__name__}: {exc}"[:300]))
    finally:
        Path(args[-2]).unlink(missing_ok=True)  # the output file: disk, not evidence


def measure(function, *args, time_limit: float) -> Measurement:
    """Run ``function(*args)`` in a fresh child process; its time, rows and peak RSS."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, function.__name__, args))
    process.start()
    sender.close()
    if not receiver.poll(time_limit):
        process.kill()
        process.join()
        return Measurement(error=f"still running after {time_limit:.0f} s: stopped")
    try:
        result = receiver.recv()
    except EOFError:
        result = Measurement(error="the child process died")
    process.join()
    return result


def _compare(case: Case, target: str = "", limit: float = 0.0) -> Case:
    """The ratio of our time to the baseline's; passed when at most ``limit``, if a target."""
    ours, baseline = case.ours, case.baseline
    case.target = target
    if ours.error or baseline is None or baseline.error or not baseline.seconds:
        return case
    case.ratio = ours.seconds / baseline.seconds
    case.passed = case.ratio <= limit if target else None
    return case


def run(args: argparse.Namespace, work: Path) -> list[Case]:
    import psycopg2
    import pyarrow as pa
    from sqlalchemy.engine import make_url

    from reports_pipeline.warehouse.fetch import create_warehouse_engine, stream_record_batches

    formats = args.formats
    name = f"reports_bench_{uuid.uuid4().hex[:10]}"
    admin_url = make_url(args.postgres)
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    admin = psycopg2.connect(
        host=admin_url.host,
        port=admin_url.port,
        user=admin_url.username,
        password=admin_url.password,
        dbname=admin_url.database,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    cases: list[Case] = []
    limit = args.case_time_limit
    try:
        tables = {"bench": args.rows}
        if "csv" in formats and not args.skip_big:
            tables["bench_big"] = args.big_rows
        scratch = psycopg2.connect(
            host=admin_url.host,
            port=admin_url.port,
            user=admin_url.username,
            password=admin_url.password,
            dbname=name,
        )
        with scratch, scratch.cursor() as cursor:
            for table, rows in tables.items():
                _progress(f"generating {table}: {rows:,} rows in Postgres")
                cursor.execute(TABLE_SQL.format(table=table), {"rows": rows})
        scratch.close()

        table_file = str(work / "bench.arrow")
        _progress(f"reading {args.rows:,} rows into {table_file} (Arrow IPC, the in-memory input)")
        engine = create_warehouse_engine(url)
        batches = stream_record_batches(engine, "select * from bench order by id", {})
        first = next(batches)
        with pa.ipc.new_file(table_file, first.schema) as writer:
            writer.write_batch(first)
            for batch in batches:
                writer.write_batch(batch)
        engine.dispose()

        def memory(format: str, rows: int | None = None) -> Measurement:
            _progress(f"{format}: ours, {rows or args.rows:,} rows from memory")
            out = str(work / f"ours.{format}")
            return measure(ours_from_memory, format, table_file, out, rows, time_limit=limit)

        def baseline(function, suffix: str, rows: int | None = None) -> Measurement:
            _progress(f"{suffix}: baseline {function.__name__}")
            out = str(work / f"baseline.{suffix}")
            return measure(function, table_file, out, rows, time_limit=limit)

        if "csv" in formats:
            case = Case(
                "csv, in memory",
                memory("csv"),
                "pyarrow.csv.write_csv",
                baseline(arrow_write_csv, "csv"),
            )
            cases.append(_compare(case, target="<= 1.5x", limit=1.5))
            end_to_end = {}
            for table, rows in tables.items():
                _progress(f"csv from Postgres, {rows:,} rows: ours, COPY, then the fetch alone")
                end_to_end[table] = measure(
                    ours_from_postgres, url, table, str(work / "e2e.csv"), None, time_limit=limit
                )
                copy = measure(
                    copy_to_file, url, table, str(work / "copy.csv"), None, time_limit=limit
                )
                fetch = measure(fetch_only, url, table, str(work / "none"), None, time_limit=limit)
                copy_name = "COPY TO STDOUT CSV, psycopg2"
                case = Case(
                    f"csv, from Postgres, {_short(rows)}", end_to_end[table], copy_name, copy
                )
                cases.append(_compare(case, target="<= 2x", limit=2.0))
                case = Case(f"  of which fetch alone, {_short(rows)}", fetch, copy_name, copy)
                cases.append(_compare(case))
            if "bench_big" in tables:
                cases.append(_rss_case(end_to_end["bench"], end_to_end["bench_big"], args))
        if "xlsx" in formats:
            rows = min(args.rows, args.xlsx_baseline_rows)
            case = Case(
                f"xlsx, {_short(rows)} rows",
                memory("xlsx", rows),
                "pandas.to_excel, openpyxl",
                baseline(pandas_to_excel, "xlsx", rows),
            )
            cases.append(_compare(case, target="<= 0.33x (3x faster)", limit=1 / 3))
            if rows < args.rows:
                cases.append(Case(f"xlsx, {_short(args.rows)} rows", memory("xlsx")))
        if "json" in formats:
            case = Case("json", memory("json"), "pandas.to_json", baseline(pandas_to_json, "json"))
            cases.append(_compare(case))
        if "parquet" in formats:
            case = Case(
                "parquet",
                memory("parquet"),
                "pyarrow.parquet.write_table",
                baseline(arrow_write_parquet, "parquet"),
            )
            cases.append(_compare(case))
        for format in ("pdf", "html"):
            if format in formats:
                case = Case(
                    f"{format}, {_short(DOCUMENT_ROWS)} rows + chart",
                    memory(format, DOCUMENT_ROWS),
                    "pandas.to_html",
                    baseline(pandas_to_html, "html", DOCUMENT_ROWS),
                )
                case = _compare(case)
                if format == "pdf":
                    case.target = "< 10 s"
                    case.passed = None if case.ours.error else case.ours.seconds < 10
                cases.append(case)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    return cases


def _rss_case(small: Measurement, big: Measurement, args: argparse.Namespace) -> Case:
    case = Case(
        f"peak RSS, csv from Postgres, {_short(args.big_rows)} rows",
        big,
        f"peak RSS, {_short(args.rows)} rows",
        small,
        target="< 400 MB and <= 1.5x",
    )
    if not (big.error or small.error):
        case.ratio = big.rss_mb / small.rss_mb
        case.passed = big.rss_mb < 400 and case.ratio <= 1.5
    return case


def _short(rows: int) -> str:
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if rows >= size and rows % size == 0:
            return f"{rows // size}{suffix}"
    return f"{rows:,}"


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def print_table(cases: list[Case]) -> None:
    header = (
        "case",
        "rows",
        "s",
        "rows/s",
        "RSS MB",
        "baseline",
        "base s",
        "base RSS MB",
        "ratio",
        "target",
        "result",
    )
    lines = [header]
    for case in cases:
        ours, baseline = case.ours, case.baseline
        rss_row = case.name.startswith("peak RSS")
        lines.append(
            (
                case.name,
                f"{ours.rows:,}" if not ours.error else "-",
                f"{ours.seconds:.2f}" if not ours.error else "ERROR",
                f"{ours.rows / ours.seconds:,.0f}" if ours.seconds else "-",
                f"{ours.rss_mb:.0f}" if not ours.error else "-",
                case.baseline_name or "-",
                f"{baseline.seconds:.2f}"
                if baseline and not baseline.error
                else ("ERROR" if baseline else "-"),
                f"{baseline.rss_mb:.0f}" if baseline and not baseline.error else "-",
                f"{case.ratio:.2f}x" + (" RSS" if rss_row else "") if case.ratio else "-",
                case.target or "-",
                {True: "PASS", False: "FAIL", None: "ERROR" if ours.error else "info"}[case.passed],
            )
        )
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    for index, line in enumerate(lines):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))
    errors = [
        (case.name, label, measurement.error)
        for case in cases
        for label, measurement in (("ours", case.ours), ("baseline", case.baseline))
        if measurement and measurement.error
    ]
    for name, label, error in errors:
        print(f"{name} ({label}): {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big-rows", type=int, default=10_000_000)
    parser.add_argument("--skip-big", action="store_true", help="no big-rows CSV/RSS case")
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated")
    parser.add_argument(
        "--xlsx-baseline-rows",
        type=int,
        default=100_000,
        help="rows of the xlsx comparison: pandas with openpyxl writes some 2,000 rows/s here",
    )
    parser.add_argument("--postgres", default=ADMIN_URL, help="URL of a database to connect to")
    parser.add_argument("--case-time-limit", type=float, default=600, help="seconds per child")
    args = parser.parse_args()
    args.formats = [format.strip() for format in args.formats.split(",") if format.strip()]
    unknown = set(args.formats) - set(FORMATS)
    if unknown:
        parser.error(f"unknown formats: {', '.join(sorted(unknown))}")
    others = subprocess.run(["pgrep", "-f", "pytest"], capture_output=True, text=True).stdout
    if others.strip():
        print("warning: pytest is running on this machine: timings share its cores", flush=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reports-bench-") as work:
        cases = run(args, Path(work))
    print(
        f"\nrender benchmark: {args.rows:,} rows x 12 columns, Python {platform.python_version()}"
        f", {multiprocessing.cpu_count()} cores. Each case runs in a child process of its own;"
        " RSS MB = its peak resident memory (VmHWM), imports and input included."
        f" {time.perf_counter() - started:.0f} s in all.\n"
    )
    print_table(cases)


if __name__ == "__main__":
    main()
