"""The first rows of a result, kept as display strings while the batches stream past."""

from collections.abc import Iterable, Iterator

PREVIEW_ROWS = 10


class PreviewTap:
    """Iterates ``batches`` unchanged and keeps the first ``limit`` rows for e-mail previews."""

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
                head = batch.slice(0, missing).to_pylist()
                self.rows.extend(
                    ["" if value is None else str(value) for value in row.values()] for row in head
                )
            yield batch

    def as_dict(self) -> dict:
        return {"columns": self.columns, "rows": self.rows}
