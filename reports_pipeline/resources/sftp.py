"""An SFTP server as a Dagster resource; password and private key are ``EnvVar`` fields."""

from dagster import ConfigurableResource

from reports_pipeline.delivery.receipts import DeliveryReceipt
from reports_pipeline.delivery.request import DeliveryRequest
from reports_pipeline.delivery.target_paths import contained_path
from reports_pipeline.spec.report import SftpTarget
from reports_pipeline.templating import render_template


class SftpUploader(ConfigurableResource):
    host: str
    port: int = 22
    username: str
    password: str | None = None
    private_key: str | None = None
    private_key_passphrase: str | None = None
    host_key: str | None = None
    known_hosts: str | None = None
    timeout: float = 30.0

    def settings(self):
        from reports_pipeline.delivery.sftp import SftpSettings

        return SftpSettings(
            host=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            private_key=self.private_key,
            private_key_passphrase=self.private_key_passphrase,
            host_key=self.host_key,
            known_hosts=self.known_hosts,
            timeout=self.timeout,
        )

    def deliver(self, request: DeliveryRequest, target: SftpTarget) -> DeliveryReceipt:
        from reports_pipeline.delivery.sftp import upload_via_sftp

        rendered = render_template(target.path, request.variables).strip()
        remote_path = contained_path(target.path, rendered, "sftp path")
        return upload_via_sftp(
            request.file, remote_path, self.settings(), overwrite=target.overwrite
        )

    def check(self) -> str:
        from reports_pipeline.delivery.sftp import check_sftp

        return check_sftp(self.settings(), ".")
