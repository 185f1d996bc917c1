"""Build Dagster resources from ``connections.yaml``: one resource per connection."""

from dagster import ConfigurableResource, EnvVar

from reports_pipeline.resources.mail import OutboxMailer, SmtpMailer
from reports_pipeline.resources.storage import STORAGE_RESOURCE_KEY, LocalReportStorage
from reports_pipeline.resources.warehouse import DemoWarehouse, SqlWarehouse
from reports_pipeline.spec.connections import (
    ConnectionsFile,
    DemoWarehouseConnection,
    OutboxConnection,
    SmtpConnection,
    SqlConnection,
)
from reports_pipeline.spec.values import EnvRef, resolve_setting


def _secret(value):
    """Secrets stay ``EnvVar`` so Dagster resolves them in the run and shows only the name."""
    if isinstance(value, EnvRef):
        return EnvVar(value.env)
    return value


def connection_resource(settings) -> ConfigurableResource:
    if isinstance(settings, SqlConnection):
        return SqlWarehouse(url=_secret(settings.url))
    if isinstance(settings, DemoWarehouseConnection):
        return DemoWarehouse(path=resolve_setting(settings.path))
    if isinstance(settings, SmtpConnection):
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
    if isinstance(settings, OutboxConnection):
        return OutboxMailer(path=resolve_setting(settings.path), from_address=settings.from_address)
    raise TypeError(f"no resource for connection kind {settings.kind}")


def build_resources(connections: ConnectionsFile) -> dict[str, ConfigurableResource]:
    """Resources keyed by connection name, plus the report storage."""
    resources = {name: connection_resource(s) for name, s in connections.connections.items()}
    resources[STORAGE_RESOURCE_KEY] = LocalReportStorage(
        path=resolve_setting(connections.storage.path)
    )
    return resources
