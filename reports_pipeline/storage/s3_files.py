"""Report files in an S3 bucket (or an S3-compatible store): upload, ``latest`` pointer,
lookup and download, with the client and error mapping of the s3 delivery channel."""

from datetime import datetime
from pathlib import Path, PurePosixPath

from botocore.exceptions import ClientError

from reports_pipeline.delivery.errors import PermanentDeliveryError

# The delivery channel's client setup and error mapping: one place knows how to talk to S3
# and how to word its failures without leaking a secret.
from reports_pipeline.delivery.s3 import (
    S3Settings,
    _client,
    _encryption_args,
    _s3_errors,
    upload_to_s3,
)
from reports_pipeline.storage.layout import latest_pointer_path, pointed_file, pointer_text

_MISSING = {"NoSuchKey", "404", "NotFound"}


def object_key(prefix: str, relative: PurePosixPath) -> str:
    """The key of a file at ``relative`` inside the storage, under ``prefix`` (``reports/``)."""
    return f"{prefix}{relative.as_posix()}"


def s3_location(settings: S3Settings, key: str) -> str:
    return f"s3://{settings.bucket}/{key}"


def store_in_s3(
    local_path: Path, prefix: str, relative: PurePosixPath, settings: S3Settings, content_type: str
) -> str:
    """Upload a stored file (multipart when large), then point its period's ``latest`` at it.

    The pointer goes up only after the file, so it never names an object that is not there.
    Returns the file's key.
    """
    key = object_key(prefix, relative)
    upload_to_s3(local_path, key, settings, content_type=content_type)
    pointer = object_key(prefix, relative.parent.parent / "latest")
    with _s3_errors(settings, f"writing {pointer}"):
        _client(settings).put_object(
            Bucket=settings.bucket,
            Key=pointer,
            Body=pointer_text(PurePosixPath(*relative.parts[-2:])).encode(),
            ContentType="text/plain; charset=utf-8",
            **_encryption_args(settings),
        )
    return key


def _read_text(client, settings: S3Settings, key: str) -> str | None:
    with _s3_errors(settings, f"reading {key}"):
        try:
            body = client.get_object(Bucket=settings.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise
    return body.decode("utf-8", errors="replace")


def find_s3_key(
    prefix: str, name: str, period_key: str, run_relative: PurePosixPath | None, settings
) -> str | None:
    """The key of the period's file for one run (``run_relative`` is that run's folder), else
    the one its ``latest`` pointer names; None when there is none."""
    client = _client(settings)
    if run_relative is not None:
        folder = object_key(prefix, run_relative) + "/"
        with _s3_errors(settings, f"listing {folder}"):
            listed = client.list_objects_v2(Bucket=settings.bucket, Prefix=folder, MaxKeys=10)
        keys = sorted(item["Key"] for item in listed.get("Contents", []))
        return keys[0] if keys else None
    text = _read_text(client, settings, object_key(prefix, latest_pointer_path(name, period_key)))
    relative = pointed_file(name, period_key, text) if text is not None else None
    return object_key(prefix, relative) if relative is not None else None


def s3_periods(prefix: str, name: str, settings: S3Settings) -> list[str]:
    """The period folders stored for report ``name``, oldest first."""
    client = _client(settings)
    folder = object_key(prefix, PurePosixPath(name)) + "/"
    periods: list[str] = []
    with _s3_errors(settings, f"listing {folder}"):
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=settings.bucket, Prefix=folder, Delimiter="/"
        )
        for page in pages:
            found = page.get("CommonPrefixes", [])
            periods += [entry["Prefix"][len(folder) :].rstrip("/") for entry in found]
    return sorted(periods)


def download_from_s3(key: str, destination: Path, settings: S3Settings) -> None:
    """Download ``key`` to ``destination`` (in parts when large), written next to it first so
    an interrupted download never leaves half a file under the final name."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.part")
    try:
        with _s3_errors(settings, f"download of {key}"):
            _client(settings).download_file(settings.bucket, key, str(partial))
        partial.replace(destination)
    finally:
        partial.unlink(missing_ok=True)


def list_s3_objects(prefix: str, settings: S3Settings) -> list[tuple[PurePosixPath, int, datetime]]:
    """Every object under ``prefix``: its path inside the storage, size and LastModified."""
    found = []
    with _s3_errors(settings, f"listing {prefix or 'the bucket'}"):
        pages = (
            _client(settings)
            .get_paginator("list_objects_v2")
            .paginate(Bucket=settings.bucket, Prefix=prefix)
        )
        for page in pages:
            for item in page.get("Contents", []):
                relative = PurePosixPath(item["Key"][len(prefix) :])
                found.append((relative, item["Size"], item["LastModified"]))
    return found


def read_s3_text(prefix: str, relative: PurePosixPath, settings: S3Settings) -> str | None:
    """The text of a small object (a ``latest`` pointer); None when it is not there."""
    return _read_text(_client(settings), settings, object_key(prefix, relative))


_DELETE_BATCH = 1000  # the most keys S3's DeleteObjects takes at once


def delete_s3_objects(prefix: str, relatives: list[PurePosixPath], settings: S3Settings) -> None:
    """Delete objects in batches; a key S3 refuses to delete fails the whole call by name."""
    client = _client(settings)
    keys = [object_key(prefix, relative) for relative in relatives]
    for start in range(0, len(keys), _DELETE_BATCH):
        batch = keys[start : start + _DELETE_BATCH]
        with _s3_errors(settings, f"deleting {len(batch)} objects"):
            answer = client.delete_objects(
                Bucket=settings.bucket,
                Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
            )
        refused = answer.get("Errors", [])
        if refused:
            first = refused[0]
            raise PermanentDeliveryError(
                f"S3 {settings.where} refused to delete {len(refused)} objects, e.g."
                f" {first.get('Key')}: {first.get('Code')} {first.get('Message', '')}".rstrip()
            )
