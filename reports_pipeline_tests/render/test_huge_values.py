"""One huge value (100 MB in one cell) renders in bounded memory, in every format.

Formats read by people (PDF, HTML, XLSX) cut the value to what they show, before it becomes a
Python string: their memory does not grow with it. Formats read by programs (CSV, JSON,
Parquet) write it whole: their memory stays within a few times its size. Each render runs in
its own process, whose peak resident memory is compared before and after.
"""

import json
import subprocess
import sys

import pytest

from reports_pipeline.render import FORMATS

VALUE_BYTES = 100_000_000
# Text with what makes each writer work hardest: a formula to escape (CSV), quotes and line
# breaks to quote and escape (CSV, JSON), characters that are not ASCII.
UNIT = '=é"a,\n'

_RENDER = """
import gc, importlib, json, resource, sys
from pathlib import Path
import pyarrow as pa
from reports_pipeline.render import _RENDERERS, render_file
from reports_pipeline.spec.report import FORMAT_OPTIONS

format, size, unit, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
importlib.import_module(_RENDERERS[format][0])
if format == "pdf":
    import weasyprint  # noqa: F401  (its import is not what is measured)
data = unit.encode() * (size // len(unit.encode()))
offsets = pa.array([0, len(data)], pa.int64()).buffers()[1]
value = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
note = pa.concat_arrays([value, pa.array(["short"], pa.large_string())])
del data, value
batch = pa.record_batch({"id": [1, 2], "note": note, "amount": [-1.5, 2.0]})
del note
gc.collect()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
destination = folder / f"out.{format}"
render_file(format, [batch], destination, FORMAT_OPTIONS[format]())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"before": before, "peak": peak, "bytes": destination.stat().st_size}))
"""

# Extra peak memory allowed, in multiples of the value's size.
MACHINE_FORMATS = {"csv": 8, "json": 8, "parquet": 6}  # measured: 5.1, 5.4, 3.1
PEOPLE_FORMATS = ("pdf", "html", "xlsx")


def _render_huge_value(format: str, folder) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _RENDER, format, str(VALUE_BYTES), UNIT, str(folder)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_every_format_is_measured():
    assert set(FORMATS) == set(MACHINE_FORMATS) | set(PEOPLE_FORMATS)


@pytest.mark.parametrize("format", PEOPLE_FORMATS)
def test_a_format_for_people_shows_a_huge_value_cut_in_memory_that_does_not_grow(format, tmp_path):
    measured = _render_huge_value(format, tmp_path)

    assert measured["peak"] - measured["before"] < 64_000_000, measured
    assert measured["bytes"] < 10_000_000, measured


@pytest.mark.parametrize("format", sorted(MACHINE_FORMATS))
def test_a_format_for_programs_writes_a_huge_value_whole_in_a_few_times_its_size(format, tmp_path):
    measured = _render_huge_value(format, tmp_path)

    assert measured["peak"] - measured["before"] < MACHINE_FORMATS[format] * VALUE_BYTES, measured
    if format != "parquet":  # compressed
        assert measured["bytes"] > VALUE_BYTES, measured
