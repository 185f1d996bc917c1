"""Whatever one report file holds, the other reports load and `reports validate` says why.

Property tests over bytes, YAML structures and mutated real report files. Each example runs
under a generous time bound (a hang fails the test instead of stalling it).
"""

import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reports_pipeline.cli import cli
from reports_pipeline.definitions import build_definitions
from reports_pipeline.locations import PACKAGE_DIR
from reports_pipeline.spec.loader import load_project
from reports_pipeline.spec.yaml_source import SpecFileError, parse_yaml_text
from reports_pipeline_tests.report_files import BASE_REPORT, report_dict, write_report

CONNECTIONS = PACKAGE_DIR / "connections.yaml"
SHIPPED_TEXTS = sorted(path.read_text() for path in (PACKAGE_DIR / "reports").glob("*.yaml"))
# Names no mutation of a shipped file can produce: a file claiming one is a duplicate by design.
KEPT = {"kept_first_zq", "kept_second_zq"}
TIME_BOUND_SECONDS = 120  # per example, for the load, the definitions and the CLI together

HOSTILE_SNIPPETS = [
    "? [a, b]\n: 1\n",
    "{? {a: 1} : 2}",
    "<<: {every: day}\n",
    "x: &x [*x]\n",
    "&a [lol, lol, lol]\n",
    "*a",
    "*undefined",
    "!!python/object:os.system {}",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!int nine",
    "2026-02-30",
    "9" * 5000,
    "\x00",
    "\ufeff",
    "[" * 80,
    "{a: " * 80,
    "- " * 80,
    "\t",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "cron: '0 9 31 4 *'\n",
    "every: cron\n",
    "name: kept_first_zq_not\n",
    '"\\ud800"',
    "\n  - email: {to: [x@example.com]}\n",
]

yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.dates(),
    st.binary(max_size=8),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.integers(), children, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def report_like_documents(draw) -> bytes:
    """A report whose fields are each kept or replaced by any YAML value, dumped in any style."""
    report = {key: draw(st.just(value) | yaml_values) for key, value in BASE_REPORT.items()} | draw(
        st.dictionaries(st.text(max_size=8), yaml_values, max_size=2)
    )
    if isinstance(report.get("name"), str) and report["name"] in KEPT:
        report["name"] = "not_kept"
    flow = draw(st.sampled_from([None, True, False]))
    return yaml.safe_dump(report, default_flow_style=flow, allow_unicode=True).encode()


@st.composite
def mutated_report_files(draw) -> bytes:
    """A shipped report file with a few slices deleted, repeated or replaced by hostile text."""
    text = draw(st.sampled_from(SHIPPED_TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 120)))
        action = draw(st.sampled_from(["delete", "repeat", "insert", "truncate"]))
        if action == "delete":
            text = text[:start] + text[end:]
        elif action == "repeat":
            text = text[:end] + text[start:end] * draw(st.integers(2, 50)) + text[end:]
        elif action == "insert":
            snippet = draw(st.sampled_from(HOSTILE_SNIPPETS) | st.text(max_size=20))
            text = text[:start] + snippet + text[end:]
        else:
            text = text[:start]
    encoded = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        return encoded
    position = draw(st.integers(0, len(encoded)))
    return encoded[:position] + draw(st.binary(max_size=8)) + encoded[position:]


yaml_like_text = (
    st.lists(
        st.sampled_from(list(":-[]{}&*!?<>|#'\",%@`~.\n\t abxyz019") + ["name", "owner", "  "]),
        max_size=120,
    )
    .map("".join)
    .map(str.encode)
)

any_file_bytes = st.one_of(
    mutated_report_files(), report_like_documents(), yaml_like_text, st.binary(max_size=300)
)


@contextmanager
def time_bound(seconds: int) -> Iterator[None]:
    """Fail, rather than hang, when the block runs past ``seconds`` (main thread only)."""

    def expire(_signum, _frame):
        raise TimeoutError(f"took longer than {seconds} s: a report file must not stall loading")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def reports_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile") / "reports"
    for name in sorted(KEPT):
        write_report(folder, report_dict(name=name), f"{name}.yaml")
    return folder


_PROBLEM_LINE = re.compile(r"^\S.*hostile\.yaml:\d+: .+: \S")


def check_one_file_never_stops_the_others(folder: Path, content: bytes) -> None:
    (folder / "team").mkdir(exist_ok=True)
    hostile = folder / "team" / "hostile.yaml"
    hostile.write_bytes(content)
    started = time.monotonic()
    with time_bound(TIME_BOUND_SECONDS):
        project = load_project([folder], CONNECTIONS)
        assert KEPT <= {report.spec.name for report in project.reports}
        hostile_is_valid = any(report.path == hostile for report in project.reports)
        broken = [file for file in project.errors_by_file() if file.endswith("hostile.yaml")]
        assert hostile_is_valid != bool(broken)

        repository = build_definitions([folder], CONNECTIONS).get_repository_def()
        assert KEPT <= set(repository.job_names)
        markers = [s for s in repository.sensor_defs if s.name.startswith("invalid_report_file__")]
        assert hostile_is_valid or any("hostile.yaml" in s.description for s in markers)

        result = CliRunner().invoke(
            cli,
            ["validate", str(folder), "--connections", str(CONNECTIONS)],
            catch_exceptions=False,
        )
    assert time.monotonic() - started < TIME_BOUND_SECONDS
    assert "Traceback" not in result.output
    assert result.exit_code == (0 if hostile_is_valid else 1), result.output
    problems = [line for line in result.output.splitlines() if "hostile.yaml" in line]
    assert all(_PROBLEM_LINE.match(line) for line in problems), problems
    assert hostile_is_valid or problems


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(content=any_file_bytes)
@example(content=b"? [a, b]\n: 1\nname: x\n")
@example(content=b"base: &b {every: day}\nschedule: {<<: *b, at: '09:00'}\n")
@example(content=b"[" * 100_000)
@example(
    content=b"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + b"".join(
        b"%c: &%c [%s]\n" % (97 + i, 97 + i, b", ".join([b"*%c" % (96 + i)] * 10))
        for i in range(1, 9)
    )
)
@example(content=b"name: kept_first_zq\n")  # a mere mention is no claim: the file does not parse
@example(content=b"\xff\xfe\x00n")
@example(content=b"x" * 1_000_001)
def test_one_file_never_stops_the_others(reports_folder, content):
    check_one_file_never_stops_the_others(reports_folder, content)


@given(content=any_file_bytes)
def test_parsing_any_text_gives_a_document_or_located_errors(content):
    text = content.decode("utf-8", "replace")
    with time_bound(TIME_BOUND_SECONDS):
        try:
            parse_yaml_text(text, "r.yaml")
        except SpecFileError as exc:
            last_line = text.count("\n") + 1
            assert exc.errors
            assert all(1 <= error.line <= last_line for error in exc.errors), exc.errors
