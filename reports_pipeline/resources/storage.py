"""Where rendered report files are kept: a local folder, or an S3 bucket staged locally."""

import shutil
from dataclasses import replace
from pathlib import Path, PurePosixPath

from dagster import ConfigurableResource

from reports_pipeline.resources.s3 import S3Client, s3_client_fields
from reports_pipeline.storage.inventory import StoredListing, build_listing
from reports_pipeline.storage.layout import run_folder, stored_file_path
from reports_pipeline.storage.local_files import (
    StoredFile,
    delete_local_paths,
    find_local_file,
    list_local_objects,
    local_periods,
    staging_file_path,
    store_file,
    write_latest,
)

STORAGE_RESOURCE_KEY = "report_storage"


def _public_link(base_url: str | None, relative: PurePosixPath) -> str | None:
    return f"{base_url.rstrip('/')}/{relative.as_posix()}" if base_url else None


class _StagingFolder(ConfigurableResource):
    """The local folder runs render into (relative paths are relative to the working
    directory): the local storage keeps its files there, the S3 storage its runs' copies."""

    path: str
    public_base_url: str | None = None

    @property
    def root(self) -> Path:
        return Path(self.path).resolve()

    def staging_path(self, name: str, period_key: str, ext: str, run_id: str) -> Path:
        staged = staging_file_path(self.root, name, period_key, ext, run_id)
        staged.parent.mkdir(parents=True, exist_ok=True)
        return staged


class LocalReportStorage(_StagingFolder):
    """Report files in a local folder (relative paths are relative to the working directory)."""

    def store(
        self, staged: Path, name: str, period_key: str, ext: str, rows: int, *, run_id: str
    ) -> StoredFile:
        """Keep this run's file beside the period's earlier ones and make it the latest."""
        relative = stored_file_path(name, period_key, ext, run_id)
        stored = store_file(staged, self.root / relative, rows)
        write_latest(self.root, name, period_key, Path(stored.path))
        return replace(stored, download_url=_public_link(self.public_base_url, relative))

    def find(self, name: str, period_key: str, run_id: str | None = None) -> str | None:
        """Where the period's file of ``run_id`` (else its latest) is; None if there is none."""
        found = find_local_file(self.root, name, period_key, run_id)
        return str(found) if found else None

    def periods(self, name: str) -> list[str]:
        return local_periods(self.root, name)

    def inventory(self) -> StoredListing:
        """Every stored file and ``latest`` pointer, for retention."""
        return build_listing(
            list_local_objects(self.root),
            lambda pointer: (self.root / pointer).read_text(encoding="utf-8", errors="replace"),
        )

    def delete(self, relatives: list[PurePosixPath]) -> None:
        """Delete stored files and pointers (paths inside the storage)."""
        delete_local_paths(self.root, relatives)

    def download(self, location: str, destination: Path) -> None:
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(location, destination)


class S3ReportStorage(_StagingFolder, S3Client):
    """Report files in an S3 bucket (or an S3-compatible store through ``endpoint_url``).

    Runs render into ``path`` and keep a copy there for their delivery steps; storing uploads
    the file (in parts when large) under ``prefix`` and moves the period's ``latest`` pointer.
    """

    prefix: str = ""

    def store(
        self, staged: Path, name: str, period_key: str, ext: str, rows: int, *, run_id: str
    ) -> StoredFile:
        """Upload this run's file beside the period's earlier ones and make it the latest."""
        from reports_pipeline.delivery.email_message import attachment_content_type
        from reports_pipeline.delivery.s3 import presigned_url
        from reports_pipeline.storage.s3_files import s3_location, store_in_s3

        relative = stored_file_path(name, period_key, ext, run_id)
        settings = self.settings()
        key = store_in_s3(
            staged, self.prefix, relative, settings, attachment_content_type(relative.name)
        )
        # Deliveries read the local copy: the same bytes, no download per target.
        stored = store_file(staged, self.root / relative, rows)
        link = _public_link(self.public_base_url, relative) or presigned_url(
            key, settings, self.link_expiry_seconds
        )
        return replace(stored, location=s3_location(settings, key), download_url=link)

    def find(self, name: str, period_key: str, run_id: str | None = None) -> str | None:
        from reports_pipeline.storage.layout import period_folder
        from reports_pipeline.storage.s3_files import find_s3_key, s3_location

        run = period_folder(name, period_key) / run_folder(run_id) if run_id else None
        settings = self.settings()
        key = find_s3_key(self.prefix, name, period_key, run, settings)
        return s3_location(settings, key) if key else None

    def periods(self, name: str) -> list[str]:
        from reports_pipeline.storage.s3_files import s3_periods

        return s3_periods(self.prefix, name, self.settings())

    def inventory(self) -> StoredListing:
        """Every stored object and ``latest`` pointer in the bucket, for retention."""
        from reports_pipeline.storage.s3_files import list_s3_objects, read_s3_text

        settings = self.settings()
        return build_listing(
            list_s3_objects(self.prefix, settings),
            lambda pointer: read_s3_text(self.prefix, pointer, settings),
        )

    def delete(self, relatives: list[PurePosixPath]) -> None:
        """Delete stored objects and pointers, and the runs' local copies of them."""
        from reports_pipeline.storage.s3_files import delete_s3_objects

        delete_s3_objects(self.prefix, relatives, self.settings())
        delete_local_paths(self.root, relatives)

    def download(self, location: str, destination: Path) -> None:
        from reports_pipeline.storage.s3_files import download_from_s3

        key = location.removeprefix(f"s3://{self.bucket}/")
        download_from_s3(key, destination, self.settings())


def report_storage_resource(storage) -> ConfigurableResource:
    """The storage resource of ``connections.yaml``'s ``storage`` (its secrets as ``EnvVar``)."""
    from reports_pipeline.spec.values import resolve_setting

    if storage.kind == "local":
        return LocalReportStorage(
            path=resolve_setting(storage.path), public_base_url=storage.public_base_url
        )
    return S3ReportStorage(
        prefix=storage.prefix,
        path=resolve_setting(storage.path),
        public_base_url=storage.public_base_url,
        **s3_client_fields(storage),
    )
