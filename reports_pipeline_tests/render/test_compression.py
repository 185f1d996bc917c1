import csv
import gzip
import io
import os
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest

from reports_pipeline.render import render_file
from reports_pipeline.render.compression import compress_file
from reports_pipeline.spec.report import CsvOptions, JsonOptions


def _source(tmp_path: Path) -> Path:
    # Several 1 MiB chunks of incompressible and repetitive bytes.
    source = tmp_path / "report.csv"
    source.write_bytes(os.urandom(2_500_000) + "東京商事 🚀\n".encode() * 100_000)
    return source


def _gzip_name(path: Path) -> str:
    """The original file name in a gzip header (RFC 1952: FNAME, after the 10 fixed bytes)."""
    header = path.read_bytes()[:1024]
    assert header[3] & 0x08, "no file name in the header"
    return header[10 : header.index(b"\0", 10)].decode("latin-1")


def test_gzip_holds_identical_bytes(tmp_path):
    source = _source(tmp_path)

    compress_file(source, tmp_path / "out.csv.gz", method="gzip", inner_name="report.csv")

    with gzip.open(tmp_path / "out.csv.gz", "rb") as packed:
        assert packed.read() == source.read_bytes()


def test_gzip_records_the_inner_name(tmp_path):
    source = _source(tmp_path)

    compress_file(source, tmp_path / "out.csv.gz", method="gzip", inner_name="sales_2026-11.csv")

    assert _gzip_name(tmp_path / "out.csv.gz") == "sales_2026-11.csv"


def test_zip_holds_one_deflated_file_under_the_inner_name(tmp_path):
    source = _source(tmp_path)

    compress_file(source, tmp_path / "out.zip", method="zip", inner_name="sales_2026-11.csv")

    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert archive.testzip() is None
        [info] = archive.infolist()
        assert info.filename == "sales_2026-11.csv"
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert archive.read(info) == source.read_bytes()


def test_an_unknown_method_is_refused_and_writes_nothing(tmp_path):
    source = _source(tmp_path)

    with pytest.raises(ValueError, match="unknown compression 'bz2'"):
        compress_file(source, tmp_path / "out.bz2", method="bz2", inner_name="report.csv")
    assert not (tmp_path / "out.bz2").exists()


def test_render_file_gzips_a_csv_and_removes_the_uncompressed_file(tmp_path):
    batch = pa.RecordBatch.from_pydict({"city": ["Paris", "東京"], "n": [1, 2]})
    destination = tmp_path / "report_2026-11-02.csv.gz"

    result = render_file("csv", [batch], destination, CsvOptions(compress="gzip"))

    assert result.rows == 2
    with gzip.open(destination, "rt", encoding="utf-8", newline="") as text:
        assert list(csv.reader(text)) == [["city", "n"], ["Paris", "1"], ["東京", "2"]]
    assert _gzip_name(destination) == "report_2026-11-02.csv"
    assert sorted(path.name for path in tmp_path.iterdir()) == [destination.name]


def test_render_file_zips_json_under_the_file_name_without_zip(tmp_path):
    batch = pa.RecordBatch.from_pydict({"n": [1]})
    destination = tmp_path / "report_2026-11-02.json.zip"

    render_file("json", [batch], destination, JsonOptions(compress="zip"))

    with zipfile.ZipFile(destination) as archive:
        assert archive.namelist() == ["report_2026-11-02.json"]
        assert io.TextIOWrapper(archive.open("report_2026-11-02.json"), "utf-8").read() == (
            '[\n{"n":1}\n]\n'
        )
    assert sorted(path.name for path in tmp_path.iterdir()) == [destination.name]
