import json
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from reports_pipeline.render import RenderResult, render_file
from reports_pipeline.render.json_file import render_json
from reports_pipeline.spec.report import JsonOptions


def _batch(**columns) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({name: pa.array(values) for name, values in columns.items()})


def _load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


def _lines(path: Path) -> list:
    return [json.loads(line, parse_float=Decimal) for line in path.read_text("utf-8").splitlines()]


def test_rows_become_an_array_of_objects_with_typed_values(tmp_path):
    batch = _batch(
        id=[1, None],
        ratio=[0.25, None],
        paid=[True, False],
        day=[date(2025, 1, 2), None],
        at=[datetime(2025, 1, 2, 3, 4, 5), datetime(2025, 1, 2, 3, 4, 5, 250000)],
        note=["hi", None],
    )

    rows = render_json([batch], tmp_path / "out.json", JsonOptions())

    assert rows == 2
    assert _load(tmp_path / "out.json") == [
        {
            "id": 1,
            "ratio": Decimal("0.25"),
            "paid": True,
            "day": "2025-01-02",
            "at": "2025-01-02T03:04:05",
            "note": "hi",
        },
        {
            "id": None,
            "ratio": None,
            "paid": False,
            "day": None,
            "at": "2025-01-02T03:04:05.250000",
            "note": None,
        },
    ]


def test_aware_timestamps_carry_their_offset(tmp_path):
    batch = _batch(
        at=[datetime(2025, 7, 1, 9, 0, tzinfo=ZoneInfo("America/New_York"))],
        utc=[datetime(2025, 7, 1, 13, 0, tzinfo=timezone.utc)],
    )

    render_json([batch], tmp_path / "out.json", JsonOptions())

    assert _load(tmp_path / "out.json") == [
        {"at": "2025-07-01T09:00:00-04:00", "utc": "2025-07-01T13:00:00+00:00"}
    ]


def test_decimals_are_numbers_with_every_digit(tmp_path):
    batches = [
        _batch(amount=[Decimal("12.50"), None]),
        _batch(amount=[Decimal("-123456789012345678.123456789")]),
    ]

    render_json(batches, tmp_path / "out.json", JsonOptions())

    assert '"amount":12.50}' in (tmp_path / "out.json").read_text(encoding="utf-8")
    assert [row["amount"] for row in _load(tmp_path / "out.json")] == [
        Decimal("12.50"),
        None,
        Decimal("-123456789012345678.123456789"),
    ]


def test_nan_and_infinity_become_null(tmp_path):
    render_json([_batch(x=[float("nan"), float("inf"), 1.5])], tmp_path / "out.json", JsonOptions())

    assert _load(tmp_path / "out.json") == [{"x": None}, {"x": None}, {"x": Decimal("1.5")}]


def test_unicode_is_written_unescaped_as_utf8(tmp_path):
    names = ["Müller GmbH", "Café Lumière", "東京商事", "rocket 🚀"]

    render_json([_batch(customer=names)], tmp_path / "out.json", JsonOptions())

    raw = (tmp_path / "out.json").read_bytes()
    assert "東京商事".encode() in raw and "🚀".encode() in raw and b"\\u" not in raw
    assert [row["customer"] for row in _load(tmp_path / "out.json")] == names


def test_quotes_backslashes_and_control_characters_are_escaped(tmp_path):
    notes = ['say "hi"', "back\\slash", "two\nlines\r\n", "tab\there", "bell\x07", "</script>"]

    render_json([_batch(note=notes)], tmp_path / "out.json", JsonOptions())

    assert [row["note"] for row in _load(tmp_path / "out.json")] == notes


def test_every_control_character_is_escaped_as_json_dumps_escapes_it(tmp_path):
    notes = ["".join(chr(code) for code in range(0x20)) + '\\"', "plain", None]

    render_json([_batch(note=notes)], tmp_path / "out.jsonl", JsonOptions(lines=True))

    written = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert written == [
        json.dumps({"note": note}, ensure_ascii=False, separators=(",", ":")) for note in notes
    ]


def test_very_long_text_is_written_whole(tmp_path):
    long_text = "é" * 50_000 + "x" * 50_000

    render_json([_batch(body=[long_text])], tmp_path / "out.json", JsonOptions())

    assert _load(tmp_path / "out.json") == [{"body": long_text}]


def test_lines_write_one_object_per_line(tmp_path):
    batches = [_batch(n=[1, 2], note=["a", None]), _batch(n=[3], note=["c"])]

    rows = render_json(batches, tmp_path / "out.jsonl", JsonOptions(lines=True))

    assert rows == 3
    assert (tmp_path / "out.jsonl").read_text(encoding="utf-8").count("\n") == 3
    assert _lines(tmp_path / "out.jsonl") == [
        {"n": 1, "note": "a"},
        {"n": 2, "note": None},
        {"n": 3, "note": "c"},
    ]


def test_batches_with_differing_schemas_form_one_array(tmp_path):
    first = _batch(id=[1, 2], note=[None, None])
    later = _batch(id=[3], note=["typed now"])
    assert first.schema.field("note").type == pa.null()

    rows = render_json(
        iter([first, _batch(id=[], note=[]), later]), tmp_path / "o.json", JsonOptions()
    )

    assert rows == 3
    assert _load(tmp_path / "o.json") == [
        {"id": 1, "note": None},
        {"id": 2, "note": None},
        {"id": 3, "note": "typed now"},
    ]


def test_nested_values_are_written_as_json(tmp_path):
    batch = _batch(tags=[["a", "b"], [], None], point=[{"x": 1, "y": 2.5}, None, None])

    render_json([batch], tmp_path / "out.json", JsonOptions())

    assert _load(tmp_path / "out.json") == [
        {"tags": ["a", "b"], "point": {"x": 1, "y": Decimal("2.5")}},
        {"tags": [], "point": None},
        {"tags": None, "point": None},
    ]


def test_zero_rows_write_an_empty_array(tmp_path):
    empty = pa.RecordBatch.from_arrays([pa.array([], pa.null())] * 2, names=["id", "name"])

    rows = render_json([empty], tmp_path / "out.json", JsonOptions())

    assert rows == 0
    assert _load(tmp_path / "out.json") == []


def test_zero_rows_as_lines_write_an_empty_file(tmp_path):
    empty = pa.RecordBatch.from_arrays([pa.array([], pa.null())], names=["id"])

    render_json([empty], tmp_path / "out.jsonl", JsonOptions(lines=True))

    assert (tmp_path / "out.jsonl").read_bytes() == b""


def test_no_batches_at_all_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no record batches"):
        render_json(iter([]), tmp_path / "out.json", JsonOptions())


def test_render_file_dispatches_json_and_counts_rows(tmp_path):
    result = render_file("json", [_batch(n=[1, 2])], tmp_path / "out.json", JsonOptions())

    assert result == RenderResult(rows=2)
    assert _load(tmp_path / "out.json") == [{"n": 1}, {"n": 2}]
