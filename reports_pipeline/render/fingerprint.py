"""What a report file says, as a sha256 that does not change when only the rendering time does.

A delivered file's own sha256 cannot tell "the same report again" for most formats: an XLSX
workbook records when it was created, PDF and HTML print "Generated …", gzip and zip store
modification times. The fingerprint instead hashes what the file is made of: the rows, hashed
while they stream past the renderer (``DataFingerprintTap``), and the settings that change the
rendered content (``content_fingerprint``). The same rows with the same settings have the same
fingerprint whenever and however often they are rendered.
"""

import hashlib
import json
import queue
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

CHUNK_ROWS = 65_536
"""Rows are hashed in chunks of this many rows, whatever batches the warehouse yields."""


class DataFingerprintTap:
    """Iterates ``batches`` unchanged and hashes their schema and values as they stream past.

    The digest does not depend on how the rows were split into batches: rows are re-cut into
    chunks of ``CHUNK_ROWS`` (zero-copy slices; memory holds at most a chunk and a batch), and
    each column of a chunk is hashed in a canonical form: which rows are null, then the Arrow
    IPC serialisation of the non-null values. Null slots are left out because the bytes under
    a null are undefined in Arrow and may differ between two fetches of the same rows.

    The bytes are hashed on a thread of their own (``_Sha256Thread``), beside the renderer.

    Should the schema change between batches (SQLite results are typed per batch, so a column
    that is all NULL in one batch is ``null`` there), the rows before the change are hashed as
    they are and the new schema is hashed: the same query on the same data still gives the same
    digest, since it yields the same batches.
    """

    def __init__(self, batches: Iterable[pa.RecordBatch]):
        self._batches = batches
        self._digest: _Sha256Thread | None = None
        self._schema: pa.Schema | None = None
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._hexdigest: str | None = None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        self._digest = _Sha256Thread()
        try:
            for batch in self._batches:
                self._add(batch)
                yield batch
            self._hash_pending()
            self._hexdigest = self._digest.hexdigest()
        finally:
            self._digest.close()  # also when the renderer stops early: no thread is left

    def hexdigest(self) -> str:
        """The data's sha256; raises ``RuntimeError`` until every batch has been read."""
        if self._hexdigest is None:
            raise RuntimeError("the data fingerprint is known only once every batch was read")
        return self._hexdigest

    def _add(self, batch: pa.RecordBatch) -> None:
        if self._schema is None or not batch.schema.equals(self._schema):
            self._hash_pending()
            self._schema = batch.schema
            self._digest.update(_schema_bytes(batch.schema))
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        while self._pending_rows >= CHUNK_ROWS:
            table = pa.Table.from_batches(self._pending, schema=self._schema)
            self._hash_rows(table.slice(0, CHUNK_ROWS))
            rest = table.slice(CHUNK_ROWS)
            self._pending = rest.to_batches()
            self._pending_rows = rest.num_rows

    def _hash_pending(self) -> None:
        if self._pending_rows:
            self._hash_rows(pa.Table.from_batches(self._pending, schema=self._schema))
        self._pending = []
        self._pending_rows = 0

    def _hash_rows(self, table: pa.Table) -> None:
        self._digest.update(b"rows %d\n" % table.num_rows)
        for column in table.columns:
            for part in _canonical_column(column.combine_chunks()):
                self._digest.update(part)


class _Sha256Thread:
    """sha256 fed through a bounded queue to a thread of its own.

    hashlib lets go of the GIL while it hashes a buffer of more than 2 KiB, so the hashing
    (most of the fingerprint's cost: about 120 MB for a million invoice rows) runs beside the
    renderer rather than adding to its time when a second core is free. The queue holds a few
    column chunks at most.
    """

    def __init__(self, queued: int = 16):
        self._sha256 = hashlib.sha256()
        self._queue: queue.Queue = queue.Queue(maxsize=queued)
        self._thread = threading.Thread(target=self._run, name="data-fingerprint", daemon=True)
        self._thread.start()

    def update(self, data) -> None:
        self._queue.put(data)

    def hexdigest(self) -> str:
        self.close()
        return self._sha256.hexdigest()

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            self._sha256.update(data)


def _schema_bytes(schema: pa.Schema) -> bytes:
    # Names and types only: schema metadata (pandas, DuckDB) is not part of the report.
    fields = [[field.name, str(field.type)] for field in schema]
    return b"schema " + json.dumps(fields, ensure_ascii=False).encode("utf-8") + b"\n"


def _canonical_column(array: pa.Array) -> list:
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_boolean(array.type):
        # Bit-packed values may carry stray bits past the end of a slice; bytes do not.
        array = pc.cast(array, pa.uint8())
    parts = []
    if array.null_count:
        validity = pc.cast(pc.is_valid(array), pa.uint8())
        parts.append(b"nulls\n")
        parts.append(_ipc_bytes(validity))
        array = pc.drop_null(array)
    parts.append(_ipc_bytes(array))
    return parts


def _ipc_bytes(array: pa.Array) -> pa.Buffer:
    # Arrow IPC writes a sliced array as if it started at zero: the offsets are rebased and
    # buffers cut to the slice, so equal values serialise to equal bytes. sha256 reads the
    # returned buffer in place.
    return pa.record_batch([array], names=["v"]).serialize()


def content_fingerprint(
    data_sha256: str,
    *,
    format: str,
    options: BaseModel,
    template: Path | None = None,
    title: str = "",
    description: str = "",
) -> str:
    """The sha256 of a report file's content: its data and everything that shapes the file.

    That is the format, the format options (compression included), the template's bytes for
    PDF and HTML when the report names one, and the title and description those documents
    print. Not the time of rendering: a file re-rendered from the same rows has the same
    fingerprint.
    """
    shaping = {
        "data": data_sha256,
        "format": format,
        "options": options.model_dump(mode="json"),
    }
    if format in ("pdf", "html"):
        template_bytes = template.read_bytes() if template else b""
        shaping["template"] = hashlib.sha256(template_bytes).hexdigest() if template else None
        shaping["title"] = title
        shaping["description"] = description
    return hashlib.sha256(json.dumps(shaping, sort_keys=True).encode("utf-8")).hexdigest()
