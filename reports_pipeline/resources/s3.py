"""An S3 bucket (or an S3-compatible store) as a Dagster resource."""

from dagster import ConfigurableResource

from reports_pipeline.delivery.receipts import DeliveryReceipt
from reports_pipeline.delivery.request import DeliveryRequest
from reports_pipeline.delivery.target_paths import contained_path
from reports_pipeline.resources.env_secrets import secret_field
from reports_pipeline.spec.report import S3Target
from reports_pipeline.spec.values import resolve_setting
from reports_pipeline.templating import render_template


class S3Client(ConfigurableResource):
    """An S3 bucket's client settings: what the uploader and the S3 report storage share."""

    bucket: str
    region: str | None = None
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    server_side_encryption: str | None = None
    kms_key_id: str | None = None
    link_expiry_seconds: int = 7 * 86400

    def settings(self):
        from reports_pipeline.delivery.s3 import S3Settings

        return S3Settings(
            bucket=self.bucket,
            region=self.region,
            endpoint_url=self.endpoint_url,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            session_token=self.session_token,
            server_side_encryption=self.server_side_encryption,
            kms_key_id=self.kms_key_id,
        )


def s3_client_fields(settings) -> dict:
    """:class:`S3Client`'s fields from an S3 connection or an S3 storage of
    ``connections.yaml`` (the same settings; secrets as ``EnvVar``)."""
    return {
        "bucket": settings.bucket,
        "region": settings.region,
        "endpoint_url": resolve_setting(settings.endpoint_url),
        "access_key_id": secret_field(settings.access_key_id),
        "secret_access_key": secret_field(settings.secret_access_key),
        "session_token": secret_field(settings.session_token),
        "server_side_encryption": settings.server_side_encryption,
        "kms_key_id": settings.kms_key_id,
        "link_expiry_seconds": int(settings.link_expiry.total_seconds()),
    }


class S3Uploader(S3Client):
    def object_key(self, request: DeliveryRequest, target: S3Target) -> str:
        rendered = render_template(target.key, request.variables).strip()
        return contained_path(target.key, rendered, "s3 key").lstrip("/")

    def deliver(self, request: DeliveryRequest, target: S3Target) -> DeliveryReceipt:
        from reports_pipeline.delivery.s3 import upload_to_s3

        return upload_to_s3(
            request.file,
            self.object_key(request, target),
            self.settings(),
            content_type=target.content_type or request.content_type,
        )

    def download_url(self, request: DeliveryRequest, target: S3Target) -> str:
        """A presigned link to the object the target writes, valid for ``link_expiry``."""
        from reports_pipeline.delivery.s3 import presigned_url

        return presigned_url(
            self.object_key(request, target), self.settings(), self.link_expiry_seconds
        )

    def check(self) -> str:
        from reports_pipeline.delivery.s3 import check_s3

        return check_s3(self.settings())
