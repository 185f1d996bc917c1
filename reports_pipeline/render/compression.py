"""Compress a rendered report file into a ``.gz`` or a ``.zip``, streaming."""

import gzip
import shutil
import zipfile
from pathlib import Path
from typing import Literal

_CHUNK = 1024 * 1024


def compress_file(
    source: Path, destination: Path, *, method: Literal["gzip", "zip"], inner_name: str
) -> None:
    """Compress ``source`` into ``destination`` with ``method``, reading it in 1 MiB chunks.

    ``zip`` makes an archive holding one deflated file named ``inner_name``; ``gzip`` records
    ``inner_name`` as the original file name in its header (``gunzip -N`` restores it). Both use
    compression level 6, zlib's default balance of size and speed. A partly written
    ``destination`` is removed if compression fails. Raises ``ValueError`` for another method.
    """
    source, destination = Path(source), Path(destination)
    if method not in ("gzip", "zip"):
        raise ValueError(f"unknown compression {method!r}; expected gzip or zip")
    if source.resolve() == destination.resolve():
        raise ValueError("compress_file needs a destination other than its source")
    try:
        if method == "gzip":
            with (
                open(source, "rb") as raw,
                open(destination, "wb") as sink,
                gzip.GzipFile(
                    filename=inner_name,
                    mode="wb",
                    fileobj=sink,
                    compresslevel=6,
                    mtime=int(source.stat().st_mtime),
                ) as packed,
            ):
                shutil.copyfileobj(raw, packed, _CHUNK)
        else:
            with zipfile.ZipFile(
                destination, "w", zipfile.ZIP_DEFLATED, compresslevel=6
            ) as archive:
                # Streams in chunks; switches to ZIP64 by itself for files over 4 GiB.
                archive.write(source, arcname=inner_name)
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
