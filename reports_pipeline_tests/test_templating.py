"""Templates do bounded work, at validation and in runs, and load only files they may."""

import os
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment

from reports_pipeline.render import ReportDocument
from reports_pipeline.render.document import TEMPLATES_DIR, render_html
from reports_pipeline.spec.loader import load_project
from reports_pipeline.spec.report import HtmlOptions
from reports_pipeline.templating import (
    MAX_OUTPUT_CHARS,
    ConfinedFileSystemLoader,
    PeriodContext,
    TemplateLimitError,
    TemplateRenderError,
    render_template,
    template_context,
)
from reports_pipeline_tests.report_files import report_dict, write_report

START = datetime(2026, 1, 5, tzinfo=timezone.utc)
CONTEXT = template_context(
    name="weekly_revenue",
    title="Weekly revenue",
    owner="owner@example.com",
    period=PeriodContext(start=START, end=START, key="2026-01-05"),
    rows=3,
    ext="csv",
    format="csv",
    run_id="run-1",
    params={"regions": ["EMEA", "APAC"], "status": "paid"},
)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("{{ title }}: {{ period.key }}", "Weekly revenue: 2026-01-05"),
        ("{{ title }}, week of {{ period.start | date }}", "Weekly revenue, week of 2026-01-05"),
        (
            "/out/{{ name }}/{{ period.start | date('%Y%m%d') }}.{{ ext }}",
            "/out/weekly_revenue/20260105.csv",
        ),
        ("{{ params.regions | join(', ') }}", "EMEA, APAC"),
        ("{% if rows %}{{ rows }} rows{% else %}no rows{% endif %}", "3 rows"),
        ("{{ '%05d' | format(rows) }} {{ '%s-%s' % (name, ext) }}", "00003 weekly_revenue-csv"),
        ("{{ title | upper | replace('REVENUE', 'SALES') }}", "WEEKLY SALES"),
        ("{{ '{:>6}'.format(rows) }}|{{ title | center(20) | length }}", "     3|20"),
        ("{% filter upper %}{{ params.status }}{% endfilter %}", "PAID"),
        ("{{ range(3) | map('string') | join('-') }}", "0-1-2"),
        ("{{ 'Account 123456789: %s' % params.status }}", "Account 123456789: paid"),
        ("{{ 'Ref 99999999 {}'.format(rows) }}", "Ref 99999999 3"),
        ("{{ period.start.strftime('%Y-%m-%d 1234567') }}", "2026-01-05 1234567"),
    ],
)
def test_templates_that_analysts_write_still_render(source, expected):
    assert render_template(source, CONTEXT) == expected


# Work that repeats itself: refused when the template is compiled, before anything runs.


@pytest.mark.parametrize(
    "source, construct",
    [
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            "loops",
        ),
        ("{% for r in params.regions %}{{ r }}{% endfor %}", "loops"),
        ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "macros"),
        ("{% macro d(s) %}{{ d(s ~ s) }}{% endmacro %}{{ d('x') }}", "macros"),
        ("{% block b %}{{ self.b() ~ self.b() }}{% endblock %}", "blocks"),
        ("{% set a = 'x' * 900000 %}{% set b = a ~ a %}{{ b ~ b }}", "variables"),
        ("{% with a = title %}{{ a }}{% endwith %}", "{% with %}"),
        ("{% include '/etc/passwd' %}", "{% include %}"),
        ("{% extends 'report.html.j2' %}", "{% extends %}"),
        ("{% import 'x.j2' as x %}", "{% import %}"),
        ("{% from 'x.j2' import y %}", "{% from … import %}"),
        ("{% macro m() %}{% endmacro %}{% call m() %}x{% endcall %}", "macros"),
    ],
)
def test_constructs_that_repeat_or_store_work_are_refused_at_compile(source, construct):
    with pytest.raises(TemplateRenderError) as caught:
        render_template(source, CONTEXT)
    message = str(caught.value)
    assert construct in message and "cannot be used in subjects" in message, message


# Single steps that would make a huge value: refused before they run.


@pytest.mark.parametrize(
    "source",
    [
        "{{ lipsum(n=2000000) }}",
        "{{ lipsum(2000000) }}",
        "{{ 'x' * 10**10 }}",
        "{{ ['x'] * 10**9 }}",
        "{{ 7 ** 9999999 }}",
        "{{ (7 ** 99999) * (7 ** 99999) }}",
        "{{ '%099999999d' % 1 }}",
        "{{ '%*d' % (99999999, 1) }}",
        "{{ '%099999999d' | format(1) }}",
        "{{ '{:>99999999}'.format(1) }}",
        "{{ '{x:>99999999}'.format_map({'x': 1}) }}",
        "{{ '{:>{w}}'.format(1, w=99999999) }}",
        "{{ period.start.strftime('%999999999Y') }}",
        "{{ period.start | date('%_999999999Y') }}",
        "{{ range(99999999) | list }}",
        "{{ range(100000) | join('x' * 900000) }}",
        "{{ range(100000) | map('string') | join('x' * 900) }}",
        "{{ title | replace('', 'x' * 900000) }}",
        "{{ ('x\\n' * 400000) | indent(100) }}",
        "{{ ('x\\n' * 400000) | indent('y' * 100) }}",
        "{{ ('x ' * 400000) | wordwrap(1, wrapstring='y' * 100) }}",
        "{{ title.ljust(99999999) }}",
        "{{ title | center(99999999) }}",
        "{{ ('\\t' * 900000).expandtabs(100) }}",
        "{{ ('x' * 900000).replace('x', 'yy') }}",
        "{{ ', '.join(['x' * 900000, 'y' * 900000]) }}",
        "{{ range(100000) | batch(1) | sum(start=[]) }}",
        "{{ ('x' * 900000 + 'y' * 900000) | length }}",
        "{{ ('x' * 900000 ~ 'y' * 900000) | length }}",
        "{{ 'x' * 900000 ~ 'y' * 900000 }}",
    ],
)
def test_a_step_that_would_make_a_huge_value_is_refused(source):
    with pytest.raises(TemplateLimitError):
        render_template(source, CONTEXT)


def test_the_sandbox_still_refuses_python_internals_and_mutation():
    for source in ("{{ title.__class__ }}", "{{ params.regions.append(1) }}"):
        with pytest.raises(TemplateRenderError, match="unsafe"):
            render_template(source, CONTEXT)


def test_the_output_stops_at_max_chars():
    assert render_template("{{ 'x' * 10 }}", CONTEXT, max_chars=10) == "x" * 10
    with pytest.raises(TemplateLimitError, match="rendered text would be 11 characters"):
        render_template("{{ 'x' * 10 }}y", CONTEXT, max_chars=10)


# Any combination of amplifying steps ends quickly, in an error or a bounded text.

_NUMBERS = st.one_of(st.integers(-3, 12), st.integers(0, 10**12), st.sampled_from([10**5, 99999]))
_STEPS = st.one_of(
    _NUMBERS.map(lambda n: f" * {n}"),
    _NUMBERS.map(lambda n: f" ** {n}"),
    _NUMBERS.map(lambda n: f" | center({n})"),
    _NUMBERS.map(lambda n: f" | indent({n})"),
    _NUMBERS.map(lambda n: f" | truncate({n})"),
    _NUMBERS.map(lambda n: f" | format({n})"),
    st.just(" | replace('', title)"),
    st.just(" | replace('e', title ~ title)"),
    st.just(" | list | join(title)"),
    st.just(" ~ title"),
    st.just(" | string | wordwrap(2)"),
    st.just(" | string"),
)
_ATOMS = st.sampled_from(["title", "'%0999d'", "'ab\\ncd'", "rows", "(2 ** 60)", "'{:>99}'"])


@given(_ATOMS, st.lists(_STEPS, min_size=1, max_size=6))
def test_any_chain_of_steps_renders_a_bounded_text_or_is_refused(atom, steps):
    expression = "(" * len(steps) + atom + "".join(f"{step})" for step in steps)
    try:
        text = render_template("{{ " + expression + " }}", CONTEXT)
    except TemplateRenderError:
        return
    assert len(text) <= MAX_OUTPUT_CHARS


# At load: a hostile subject is an error on that field, and the load ends.


@pytest.mark.parametrize(
    "subject",
    [
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{{ lipsum(n=2000000) }}",
        "{{ 'x' * 10**12 }}",
        "{{ ('x' * 999999) | replace('x', title) }}",
    ],
)
def test_a_subject_that_would_hang_the_load_is_an_error_at_its_field(tmp_path, subject):
    target = {"email": {"to": ["a@example.com"], "subject": subject}}
    write_report(tmp_path / "reports", report_dict(deliver=[target]))
    project = load_project([tmp_path / "reports"], None)
    assert [error.field for error in project.errors] == ["deliver[0].email.subject"]
    assert project.errors[0].message.startswith("template error: ")


# Template files: include, extends and import stay inside the given folders.


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """A report folder with a partial and links of every kind, and a secret outside it."""
    reports = tmp_path / "reports"
    (reports / "parts").mkdir(parents=True)
    (reports / "parts" / "footer.html.j2").write_text("footer {{ title }}", encoding="utf-8")
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:SECRET", encoding="utf-8")
    (reports / "secret_link.html").symlink_to(secret)
    (reports / "etc_link").symlink_to("/etc/passwd")
    (reports / "zero_link").symlink_to("/dev/zero")
    (reports / "outside_dir").symlink_to(tmp_path, target_is_directory=True)
    (reports / "footer_link.html.j2").symlink_to(reports / "parts" / "footer.html.j2")
    os.mkfifo(reports / "pipe.html.j2")
    return reports, secret


def _environment(reports: Path) -> SandboxedEnvironment:
    return SandboxedEnvironment(loader=ConfinedFileSystemLoader([reports, TEMPLATES_DIR]))


@pytest.mark.parametrize(
    "statement",
    [
        "{% include 'secret_link.html' %}",
        "{% include 'etc_link' %}",
        "{% include 'zero_link' %}",
        "{% include 'pipe.html.j2' %}",
        "{% include 'outside_dir/secret.txt' %}",
        "{% include '../secret.txt' %}",
        "{% include '/etc/passwd' %}",
        "{% extends 'secret_link.html' %}",
        "{% import 'etc_link' as passwd %}",
        "{% from 'outside_dir/secret.txt' import x %}",
    ],
)
def test_template_files_outside_the_folders_are_not_loaded(folders, statement):
    reports, _ = folders
    with pytest.raises(TemplateNotFound):
        _environment(reports).from_string(statement).render(title="t")


def test_template_files_inside_the_folders_load_through_links_too(folders):
    reports, _ = folders
    environment = _environment(reports)
    template = "{% include 'parts/footer.html.j2' %}|{% include 'footer_link.html.j2' %}"
    assert environment.from_string(template).render(title="t") == "footer t|footer t"
    _, filename, _ = environment.loader.get_source(environment, "report.html.j2")
    assert Path(filename).parent == TEMPLATES_DIR.resolve()


def test_an_html_report_cannot_include_a_linked_file_from_outside(folders, tmp_path):
    reports, secret = folders
    (reports / "leak.html.j2").write_text(
        '{% extends "report.html.j2" %}{% block header %}{% include "secret_link.html" %}'
        "{% endblock %}",
        encoding="utf-8",
    )
    document = ReportDocument(
        name="weekly_revenue",
        title="Weekly revenue",
        description="",
        period_key="2026-01-05",
        period_start=START,
        period_end=START,
        generated_at=START,
    )
    document = replace(document, template_dir=reports)
    destination = tmp_path / "report.html"
    with pytest.raises(Exception) as caught:
        render_html(
            [pa.record_batch({"a": [1]})],
            destination,
            HtmlOptions(template="leak.html.j2"),
            document,
        )
    assert "SECRET" not in str(caught.value)
    assert not destination.exists() or "SECRET" not in destination.read_text(encoding="utf-8")
