"""Parsing one report file: YAML that is hostile or odd becomes one clear error with its line."""

import os

import pytest

from reports_pipeline.spec.yaml_source import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_VALUES,
    SpecError,
    SpecFileError,
    parse_yaml_text,
    read_yaml_file,
)


def parse_error(text: str) -> str:
    with pytest.raises(SpecFileError) as raised:
        parse_yaml_text(text, "r.yaml")
    (error,) = raised.value.errors
    return str(error)


def test_lines_of_nested_keys_and_list_items():
    document = parse_yaml_text("name: x\ndeliver:\n  - email:\n      to: [a@example.com]\n", "r")
    assert document.line_of(("deliver", 0, "email", "to")) == 4
    assert document.line_of(("deliver", 0, "email", "to", 0)) == 4
    assert document.line_of(("missing", "deeper")) == 1


@pytest.mark.parametrize(
    "text, line",
    [
        ("name: x\n? [a, b]\n: 1\n", 2),
        ("name: x\nkey: {? {a: 1} : 2}\n", 2),
        ("name: x\n? {a: 1}\n", 2),
    ],
)
def test_complex_keys_are_refused_at_their_line(text, line):
    error = parse_error(text)
    assert error.startswith(f"r.yaml:{line}: (file): a key must be a plain name")
    assert "complex keys are not supported" in error


def test_merge_keys_are_refused_with_what_to_write_instead():
    text = "defaults: &defaults {every: day, at: '09:00'}\nschedule:\n  <<: *defaults\n"
    error = parse_error(text)
    assert error.startswith("r.yaml:3: (file): merge keys (<<) are not supported")
    assert "key: *name" in error


def test_an_alias_for_a_whole_value_is_fine():
    text = "team: &team [a@example.com, b@example.com]\ncc: *team\n"
    document = parse_yaml_text(text, "r.yaml")
    assert document.data["cc"] == ["a@example.com", "b@example.com"]
    assert document.line_of(("cc",)) == 2


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000 + "]" * 5000,
        "{a: " * 5000 + "1" + "}" * 5000,
        "".join(f"{'  ' * level}k:\n" for level in range(200)),
        "- " * 3000 + "x\n",
    ],
    ids=["flow lists", "flow mappings", "block mappings", "block lists"],
)
def test_deep_nesting_is_refused_without_a_recursion_error(text):
    assert f"values nested more than {MAX_DEPTH} levels deep" in parse_error(text)


def test_aliases_cannot_nest_deeper_than_text_can():
    # Each alias wraps the one before: 60 short lines, 60 levels once expanded.
    lines = ["a0: &a0 {x: 1}"] + [f"a{i}: &a{i} {{x: *a{i - 1}}}" for i in range(1, 60)]
    error = parse_error("\n".join(lines) + "\n")
    assert f"aliases here nest values more than {MAX_DEPTH} levels deep" in error


def test_billion_laughs_is_refused_at_once():
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):
        previous = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{previous}]")
    text = "\n".join(lines) + "\n"
    assert len(text) < 1000  # a few hundred bytes that stand for 10**10 values
    error = parse_error(text)
    assert f"aliases here expand to more than {MAX_VALUES:,} values" in error
    # The line of the first anchor past the limit: a3 (line 4) stands for 11,111 values.
    assert error.startswith("r.yaml:4:")


def test_an_alias_inside_its_own_anchor_is_refused():
    assert "an alias refers to a value that contains it" in parse_error("a: &loop [1, *loop]\n")


def test_too_many_values_without_aliases_is_refused():
    text = "[" + ", ".join(["1"] * (MAX_VALUES + 10)) + "]\n"
    assert f"more than {MAX_VALUES:,} values in one file" in parse_error(text)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("a: 2026-02-30\n", "cannot read '2026-02-30' as timestamp; quote it"),
        ("a: !!int nine\n", "cannot read 'nine' as int"),
        ("a: !!float x\n", "cannot read 'x' as float"),
        ("a: " + "9" * 5000 + "\n", "cannot read '" + "9" * 40 + "…' as int"),
    ],
)
def test_scalars_python_cannot_build_are_errors_at_their_line(text, fragment):
    error = parse_error(text)
    assert error.startswith("r.yaml:1: (file): ")
    assert fragment in error


def test_a_control_character_is_named_with_its_line():
    error = parse_error("name: x\nowner: a\x00b\n")
    assert error == (
        "r.yaml:2: (file): character #x0000 is not allowed in YAML (a control character); remove it"
    )


def test_python_tags_are_not_constructed():
    assert "could not determine a constructor" in parse_error("a: !!python/object:os.system {}\n")


def test_a_file_over_one_megabyte_is_refused_without_parsing(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("name: big\nsource: {sql: '" + "x" * MAX_FILE_BYTES + "'}\n")
    with pytest.raises(SpecFileError) as raised:
        read_yaml_file(path, "big.yaml")
    assert str(raised.value).startswith("big.yaml:1: (file): file is larger than 1,000,000 bytes")


def test_a_file_just_under_the_limit_is_read(tmp_path):
    path = tmp_path / "long_sql.yaml"
    sql = "select 1 -- " + "x" * (MAX_FILE_BYTES - 100)
    path.write_text(f"name: long_sql\nsource: {{sql: '{sql}'}}\n")
    assert read_yaml_file(path).data["source"]["sql"] == sql


def test_a_file_that_is_not_utf8_says_so(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SpecFileError, match="file is not UTF-8 text; save it as UTF-8"):
        read_yaml_file(path)


def test_a_problem_prints_on_one_line_whatever_the_keys_hold():
    error = SpecError("team/a\nb.yaml", 3, "x\u2028y", "unknown field 'x\u2028y'\n")
    assert str(error) == "team/a\\nb.yaml:3: x\\u2028y: unknown field 'x\\u2028y'\\n"
    assert str(SpecError("café.yaml", 1, "name", "déjà vu")) == "café.yaml:1: name: déjà vu"


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    pipe = tmp_path / "pipe.yaml"
    os.mkfifo(pipe)
    with pytest.raises(SpecFileError, match="pipe.yaml:1: \\(file\\): not a regular file"):
        read_yaml_file(pipe, "pipe.yaml")


@pytest.mark.parametrize(
    "text, value",
    [("n: 0700\n", 700), ("n: 0900\n", 900), ("n: -012\n", -12), ("n: 0o17\n", 15)],
)
def test_integers_are_read_as_yaml_1_2_not_as_octal(text, value):
    # YAML 1.1 reads 0700 as octal 448 and refuses 0900: an analyst means seven hundred.
    assert parse_yaml_text(text, "r.yaml").data == {"n": value}
