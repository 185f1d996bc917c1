"""Upload a file to S3 or an S3-compatible store (MinIO...), mapping failures to transient or
permanent, and sign download links to it."""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
    SSLError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from reports_pipeline.delivery.errors import (
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from reports_pipeline.delivery.receipts import DeliveryReceipt
from reports_pipeline.delivery.target_paths import contained_path

# S3 error codes a later attempt can get past; any other 4xx is a settings or permission problem.
_TRANSIENT_CODES = {
    "SlowDown",
    "RequestTimeout",
    "InternalError",
    "ServiceUnavailable",
    "OperationAborted",
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "TooManyRequests",
}
_ENCRYPTIONS = ("AES256", "aws:kms", "aws:kms:dsse")
_MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # the SigV4 limit


@dataclass(frozen=True)
class S3Settings:
    """Bucket and credentials; no credentials means boto3's default chain (env, profile, role).

    ``endpoint_url`` points at an S3-compatible store; it then uses path-style addressing
    (``http://host/bucket/key``) unless ``addressing_style`` says ``"virtual"``. Files above
    ``multipart_threshold`` bytes go up in parts of that size (S3 needs at least 5 MiB).
    """

    bucket: str
    region: str | None = None
    endpoint_url: str | None = None
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    server_side_encryption: str | None = None  # "AES256" or "aws:kms"
    kms_key_id: str | None = None
    timeout: float = 60.0
    addressing_style: str | None = None  # "path", "virtual"; None: path with endpoint_url
    multipart_threshold: int = 8 * 1024 * 1024

    @property
    def where(self) -> str:
        if self.endpoint_url:
            return f"bucket {self.bucket} at {self.endpoint_url}"
        return f"bucket {self.bucket}" + (f" ({self.region})" if self.region else "")


def _scrub(text: str, settings: S3Settings) -> str:
    # The secret key never travels, but the session token does: keep it out of any echo.
    for secret in (settings.secret_access_key, settings.session_token):
        if secret:
            text = text.replace(secret, "***")
    return text


def _client(settings: S3Settings):
    if bool(settings.access_key_id) != bool(settings.secret_access_key):
        raise PermanentDeliveryError(
            f"S3 {settings.where}: access_key_id and secret_access_key go together"
        )
    style = settings.addressing_style or ("path" if settings.endpoint_url else "auto")
    config = Config(
        # One retry here (botocore's max_attempts would count retries, not attempts); the
        # deliver step's own retry policy handles longer outages.
        retries={"total_max_attempts": 2, "mode": "standard"},
        connect_timeout=settings.timeout,
        read_timeout=settings.timeout,
        signature_version="s3v4",
        s3={"addressing_style": style},
    )
    try:
        # A session per call: boto3's default session is not thread-safe.
        session = boto3.session.Session(
            aws_access_key_id=settings.access_key_id or None,
            aws_secret_access_key=settings.secret_access_key or None,
            aws_session_token=settings.session_token or None,
            region_name=settings.region or None,
        )
        return session.client("s3", endpoint_url=settings.endpoint_url or None, config=config)
    except (BotoCoreError, ValueError) as exc:  # unknown profile, malformed endpoint_url...
        raise PermanentDeliveryError(
            f"S3 {settings.where}: cannot set up a client: {_scrub(str(exc), settings)}"
        ) from None


def _encryption_args(settings: S3Settings) -> dict[str, str]:
    encryption = settings.server_side_encryption
    if settings.kms_key_id and encryption is None:
        encryption = "aws:kms"
    if encryption is not None and encryption not in _ENCRYPTIONS:
        raise PermanentDeliveryError(
            f"S3 {settings.where}: server_side_encryption must be one of"
            f" {', '.join(_ENCRYPTIONS)}, not {encryption!r}"
        )
    if settings.kms_key_id and not encryption.startswith("aws:kms"):
        raise PermanentDeliveryError(
            f"S3 {settings.where}: kms_key_id needs server_side_encryption aws:kms"
        )
    args = {"ServerSideEncryption": encryption} if encryption else {}
    if settings.kms_key_id:
        args["SSEKMSKeyId"] = settings.kms_key_id
    return args


def _from_client_error(exc: ClientError, settings: S3Settings, action: str) -> DeliveryError:
    error = exc.response.get("Error", {})
    code = error.get("Code") or "UnknownError"
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    transient = code in _TRANSIENT_CODES or status >= 500 or status == 429
    text = f"S3 {action} in {settings.where} failed: {code}"
    if error.get("Message"):
        text += f": {_scrub(error['Message'], settings)}"
    return (TransientDeliveryError if transient else PermanentDeliveryError)(text)


def _client_error_behind(exc: BaseException) -> ClientError | None:
    # upload_file re-raises a part's ClientError as S3UploadFailedError, keeping only its text.
    while exc is not None and not isinstance(exc, ClientError):
        exc = exc.__cause__ or exc.__context__
    return exc


@contextmanager
def _s3_errors(settings: S3Settings, action: str) -> Iterator[None]:
    """Turn boto3's exceptions into delivery errors naming the bucket, never a secret."""
    try:
        yield
    except DeliveryError:
        raise
    except (ClientError, S3UploadFailedError) as exc:
        cause = _client_error_behind(exc)
        if cause is None:
            raise TransientDeliveryError(
                f"S3 {action} in {settings.where} failed: {_scrub(str(exc), settings)}"
            ) from None
        raise _from_client_error(cause, settings, action) from None
    except (NoCredentialsError, PartialCredentialsError):
        raise PermanentDeliveryError(
            f"S3 {settings.where}: no usable credentials (set access_key_id and"
            " secret_access_key, or give the process a role or profile)"
        ) from None
    except SSLError as exc:
        raise PermanentDeliveryError(
            f"S3 {settings.where}: TLS failed: {_scrub(str(exc), settings)}"
        ) from None
    except (BotoConnectionError, HTTPClientError, IncompleteReadError) as exc:
        # Unreachable endpoint, connect and read timeouts, dropped connections.
        raise TransientDeliveryError(
            f"cannot reach S3 {settings.where}: {_scrub(str(exc), settings)}"
        ) from None
    except BotoCoreError as exc:  # parameter validation, region resolution...
        raise PermanentDeliveryError(
            f"S3 {action} in {settings.where} failed: {_scrub(str(exc), settings)}"
        ) from None


def upload_to_s3(
    local_path: Path, key: str, settings: S3Settings, *, content_type: str
) -> DeliveryReceipt:
    """Upload ``local_path`` to ``key`` with ``content_type`` and the configured encryption.

    Multipart above ``settings.multipart_threshold``. Missing bucket, refused credentials or
    permissions: :class:`PermanentDeliveryError`; unreachable endpoint, 5xx, throttling and
    timeouts: :class:`TransientDeliveryError`. The receipt carries the ETag and, in versioned
    buckets, the version id. A key with a ``..`` part is refused (target_paths.py).
    """
    contained_path(key, key, "s3 key")
    try:
        size = Path(local_path).stat().st_size
    except OSError as exc:
        raise PermanentDeliveryError(
            f"cannot read {local_path} for upload: {exc.strerror or exc}"
        ) from None
    extra_args = {"ContentType": content_type, **_encryption_args(settings)}
    client = _client(settings)
    stored: dict[str, str] = {}

    def remember_object(parsed, **_):
        # upload_file returns nothing; the ETag and version come with the response to
        # PutObject or CompleteMultipartUpload. No HeadObject: upload-only credentials are
        # often not allowed to read.
        if parsed.get("ETag"):
            stored.update(etag=parsed["ETag"].strip('"'), version_id=parsed.get("VersionId"))

    client.meta.events.register("after-call.s3.PutObject", remember_object)
    client.meta.events.register("after-call.s3.CompleteMultipartUpload", remember_object)
    transfer = TransferConfig(
        multipart_threshold=settings.multipart_threshold,
        multipart_chunksize=settings.multipart_threshold,
    )
    with _s3_errors(settings, f"upload of {key}"):
        client.upload_file(
            str(local_path), settings.bucket, key, ExtraArgs=extra_args, Config=transfer
        )
    return DeliveryReceipt(
        summary=f"uploaded {size} bytes to s3://{settings.bucket}/{key}",
        details={
            "bucket": settings.bucket,
            "key": key,
            "etag": stored.get("etag"),
            "version_id": stored.get("version_id"),
            "bytes": size,
        },
    )


def presigned_url(key: str, settings: S3Settings, expires_in: int) -> str:
    """A link that downloads ``key`` without credentials for ``expires_in`` seconds.

    Signed locally (no request is made); at most 7 days, and never longer than temporary
    credentials (``session_token``) live.
    """
    if not 1 <= expires_in <= _MAX_PRESIGN_SECONDS:
        raise PermanentDeliveryError(
            f"S3 link expiry must be between 1 second and 7 days, not {expires_in} seconds"
        )
    client = _client(settings)
    with _s3_errors(settings, f"signing a link to {key}"):
        return client.generate_presigned_url(
            "get_object", Params={"Bucket": settings.bucket, "Key": key}, ExpiresIn=expires_in
        )


def check_s3(settings: S3Settings, *, prefix: str = "") -> str:
    """Prove the bucket is reachable and writable: put a probe object under ``prefix``, delete it.

    Credentials allowed to write but not to delete pass, with a note naming the probe left
    behind. Returns one line for ``reports check``; raises like :func:`upload_to_s3`.
    """
    client = _client(settings)
    probe = f"{prefix}.reports-pipeline-probe-{secrets.token_hex(4)}"
    with _s3_errors(settings, f"writing probe object {probe}"):
        client.put_object(
            Bucket=settings.bucket,
            Key=probe,
            Body=b"write test by reports_pipeline; safe to delete\n",
            **_encryption_args(settings),
        )
    try:
        with _s3_errors(settings, f"deleting probe object {probe}"):
            client.delete_object(Bucket=settings.bucket, Key=probe)
    except PermanentDeliveryError as exc:
        if "AccessDenied" not in str(exc):
            raise
        return f"S3 {settings.where}: writable (not allowed to delete the probe {probe})"
    return f"S3 {settings.where}: writable (probe object written and deleted)"
