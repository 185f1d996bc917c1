"""Where rendered report files are kept."""

from pathlib import Path

from dagster import ConfigurableResource

from reports_pipeline.storage.local_files import (
    StoredFile,
    report_file_path,
    staging_file_path,
    store_file,
)

STORAGE_RESOURCE_KEY = "report_storage"


class LocalReportStorage(ConfigurableResource):
    """Report files in a local folder (relative paths are relative to the working directory)."""

    path: str

    @property
    def root(self) -> Path:
        return Path(self.path).resolve()

    def staging_path(self, name: str, period_key: str, ext: str, run_id: str) -> Path:
        staged = staging_file_path(self.root, name, period_key, ext, run_id)
        staged.parent.mkdir(parents=True, exist_ok=True)
        return staged

    def store(self, staged: Path, name: str, period_key: str, ext: str, rows: int) -> StoredFile:
        return store_file(staged, report_file_path(self.root, name, period_key, ext), rows)
