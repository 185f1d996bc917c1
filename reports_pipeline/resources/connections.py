"""Build Dagster resources from ``connections.yaml``: one resource per connection."""

from dagster import ConfigurableResource

from reports_pipeline.resources.env_secrets import secret_field
from reports_pipeline.resources.mail import OutboxMailer, SendgridMailer, SmtpMailer
from reports_pipeline.resources.s3 import S3Uploader, s3_client_fields
from reports_pipeline.resources.sftp import SftpUploader
from reports_pipeline.resources.slack import SlackPoster
from reports_pipeline.resources.storage import STORAGE_RESOURCE_KEY, report_storage_resource
from reports_pipeline.resources.warehouse import DemoWarehouse, SqlWarehouse
from reports_pipeline.resources.webhook import WebhookSender
from reports_pipeline.spec import connections as kinds
from reports_pipeline.spec.values import resolve_setting


def _webhook(settings: kinds.WebhookConnection) -> WebhookSender:
    auth = settings.auth
    fields: dict = {}
    if isinstance(auth, kinds.BearerAuth):
        fields["bearer_token"] = secret_field(auth.bearer)
    elif isinstance(auth, kinds.BasicAuth):
        fields["basic_username"] = resolve_setting(auth.basic.username)
        fields["basic_password"] = secret_field(auth.basic.password)
    elif isinstance(auth, kinds.ApiKeyAuth):
        fields["api_key_header"] = auth.api_key.header
        fields["api_key"] = secret_field(auth.api_key.value)
    return WebhookSender(
        url=secret_field(settings.url),
        method=settings.method,
        signing_secret=secret_field(settings.signing_secret),
        timeout=settings.timeout,
        allow_http=settings.allow_http,
        allow_hosts=list(settings.allow_hosts),
        **fields,
    )


def connection_resource(settings) -> ConfigurableResource:
    """The resource of one connection (its secrets as ``EnvVar``)."""
    if isinstance(settings, kinds.SqlConnection):
        return SqlWarehouse(url=secret_field(settings.url))
    if isinstance(settings, kinds.DemoWarehouseConnection):
        return DemoWarehouse(path=resolve_setting(settings.path))
    if isinstance(settings, kinds.SmtpConnection):
        return SmtpMailer(
            host=resolve_setting(settings.host),
            port=settings.port,
            starttls=settings.starttls,
            ssl=settings.ssl,
            username=resolve_setting(settings.username),
            password=secret_field(settings.password),
            from_address=settings.from_address,
            timeout=settings.timeout,
            ca_file=resolve_setting(settings.ca_file),
        )
    if isinstance(settings, kinds.OutboxConnection):
        return OutboxMailer(path=resolve_setting(settings.path), from_address=settings.from_address)
    if isinstance(settings, kinds.SendgridConnection):
        return SendgridMailer(
            api_key=secret_field(settings.api_key),
            from_address=settings.from_address,
            base_url=settings.base_url,
            timeout=settings.timeout,
        )
    if isinstance(settings, kinds.SftpConnection):
        return SftpUploader(
            host=resolve_setting(settings.host),
            port=settings.port,
            username=resolve_setting(settings.username),
            password=secret_field(settings.password),
            private_key=secret_field(settings.private_key),
            private_key_passphrase=secret_field(settings.private_key_passphrase),
            host_key=settings.host_key,
            known_hosts=resolve_setting(settings.known_hosts),
            timeout=settings.timeout,
        )
    if isinstance(settings, kinds.S3Connection):
        return S3Uploader(**s3_client_fields(settings))
    if isinstance(settings, kinds.WebhookConnection):
        return _webhook(settings)
    if isinstance(settings, kinds.SlackConnection):
        return SlackPoster(
            token=secret_field(settings.token),
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
