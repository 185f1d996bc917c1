"""Build Dagster resources from ``connections.yaml``: one resource per connection."""

from dagster import ConfigurableResource, EnvVar

from reports_pipeline.resources.mail import OutboxMailer, SendgridMailer, SmtpMailer
from reports_pipeline.resources.s3 import S3Uploader
from reports_pipeline.resources.sftp import SftpUploader
from reports_pipeline.resources.slack import SlackPoster
from reports_pipeline.resources.storage import STORAGE_RESOURCE_KEY, report_storage_resource
from reports_pipeline.resources.warehouse import DemoWarehouse, SqlWarehouse
from reports_pipeline.resources.webhook import WebhookSender
from reports_pipeline.spec import connections as kinds
from reports_pipeline.spec.values import EnvRef, resolve_setting


def _secret(value):
    """Secrets stay ``EnvVar`` so Dagster resolves them in the run and shows only the name."""
    if isinstance(value, EnvRef):
        return EnvVar(value.env)
    return value


def _webhook(settings: kinds.WebhookConnection) -> WebhookSender:
    auth = settings.auth
    fields: dict = {}
    if isinstance(auth, kinds.BearerAuth):
        fields["bearer_token"] = _secret(auth.bearer)
    elif isinstance(auth, kinds.BasicAuth):
        fields["basic_username"] = resolve_setting(auth.basic.username)
        fields["basic_password"] = _secret(auth.basic.password)
    elif isinstance(auth, kinds.ApiKeyAuth):
        fields["api_key_header"] = auth.api_key.header
        fields["api_key"] = _secret(auth.api_key.value)
    return WebhookSender(
        url=_secret(settings.url),
        method=settings.method,
        signing_secret=_secret(settings.signing_secret),
        timeout=settings.timeout,
        allow_http=settings.allow_http,
        allow_hosts=list(settings.allow_hosts),
        **fields,
    )


def connection_resource(settings) -> ConfigurableResource:
    """The resource of one connection (its secrets as ``EnvVar``)."""
    if isinstance(settings, kinds.SqlConnection):
        return SqlWarehouse(url=_secret(settings.url))
    if isinstance(settings, kinds.DemoWarehouseConnection):
        return DemoWarehouse(path=resolve_setting(settings.path))
    if isinstance(settings, kinds.SmtpConnection):
        return SmtpMailer(
            host=resolve_setting(settings.host),
            port=settings.port,
            starttls=settings.starttls,
            ssl=settings.ssl,
            username=resolve_setting(settings.username),
            password=_secret(settings.password),
            from_address=settings.from_address,
            timeout=settings.timeout,
            ca_file=resolve_setting(settings.ca_file),
        )
    if isinstance(settings, kinds.OutboxConnection):
        return OutboxMailer(path=resolve_setting(settings.path), from_address=settings.from_address)
    if isinstance(settings, kinds.SendgridConnection):
        return SendgridMailer(
            api_key=_secret(settings.api_key),
            from_address=settings.from_address,
            base_url=settings.base_url,
            timeout=settings.timeout,
        )
    if isinstance(settings, kinds.SftpConnection):
        return SftpUploader(
            host=resolve_setting(settings.host),
            port=settings.port,
            username=resolve_setting(settings.username),
            password=_secret(settings.password),
            private_key=_secret(settings.private_key),
            private_key_passphrase=_secret(settings.private_key_passphrase),
            host_key=settings.host_key,
            known_hosts=resolve_setting(settings.known_hosts),
            timeout=settings.timeout,
        )
    if isinstance(settings, kinds.S3Connection):
        return S3Uploader(
            bucket=settings.bucket,
            region=settings.region,
            endpoint_url=resolve_setting(settings.endpoint_url),
            access_key_id=_secret(settings.access_key_id),
            secret_access_key=_secret(settings.secret_access_key),
            session_token=_secret(settings.session_token),
            server_side_encryption=settings.server_side_encryption,
            kms_key_id=settings.kms_key_id,
            link_expiry_seconds=int(settings.link_expiry.total_seconds()),
        )
    if isinstance(settings, kinds.WebhookConnection):
        return _webhook(settings)
    if isinstance(settings, kinds.SlackConnection):
        return SlackPoster(
            token=_secret(settings.token),
            base_url=settings.base_url,
            timeout=settings.timeout,
            allow_http=settings.allow_http,
            allow_hosts=list(settings.allow_hosts),
        )
    raise TypeError(f"no resource for connection kind {settings.kind}")


def build_resources(connections: kinds.ConnectionsFile) -> dict[str, ConfigurableResource]:
    """Resources keyed by connection name, plus the report storage."""
    resources = {name: connection_resource(s) for name, s in connections.connections.items()}
    resources[STORAGE_RESOURCE_KEY] = report_storage_resource(connections.storage)
    return resources
