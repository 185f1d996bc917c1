"""The first rows of a result, kept as display strings while the batches stream past."""

from collections.abc import Iterable, Iterator

import pyarrow as pa

from reports_pipeline.render.cell_cap import cap_cell, cut_column

PREVIEW_ROWS = 10
# A preview is a glance in an e-mail, and it travels in the run's records: a long value
# shows its beginning and says it was cut.
PREVIEW_CELL_CHARS = 200


class PreviewTap:
    """Iterates ``batches`` unchanged and keeps the first ``limit`` rows for e-mail previews.

    Each value is kept as text of at most ``PREVIEW_CELL_CHARS`` characters (then
    ``… (truncated)``), cut before it becomes a Python object, whatever its size.
    """

    def __init__(self, batches: Iterable, limit: int = PREVIEW_ROWS):
        self._batches = batches
        self._limit = limit
        self.columns: list[str] = []
        self.rows: list[list[str]] = []

    def __iter__(self) -> Iterator:
        for batch in self._batches:
            if not self.columns:
                self.columns = list(batch.schema.names)
            missing = self._limit - len(self.rows)
            if missing > 0 and batch.num_rows:
                self.rows.extend(_display_rows(batch.slice(0, missing)))
            yield batch

    def as_dict(self) -> dict:
        return {"columns": self.columns, "rows": self.rows}


def _display_rows(head: pa.RecordBatch) -> list[list[str]]:
    if head.num_columns == 0:
        return [[] for _ in range(head.num_rows)]
    columns = [cut_column(column, PREVIEW_CELL_CHARS).to_pylist() for column in head.columns]
    return [
        ["" if value is None else cap_cell(str(value), PREVIEW_CELL_CHARS) for value in row]
        for row in zip(*columns, strict=True)
    ]
