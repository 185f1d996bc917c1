"""A webhook endpoint as a Dagster resource; tokens and signing secrets are ``EnvVar`` fields."""

from dagster import ConfigurableResource

from reports_pipeline.delivery.receipts import DeliveryReceipt
from reports_pipeline.delivery.request import DeliveryRequest
from reports_pipeline.spec.report import WebhookTarget


class WebhookSender(ConfigurableResource):
    url: str
    method: str = "POST"
    bearer_token: str | None = None
    basic_username: str | None = None
    basic_password: str | None = None
    api_key_header: str | None = None
    api_key: str | None = None
    signing_secret: str | None = None
    timeout: float = 10.0
    allow_http: bool = False
    allow_hosts: list[str] = []

    def settings(self):
        from reports_pipeline.delivery.webhook import WebhookSettings

        return WebhookSettings(
            url=self.url,
            method=self.method,
            bearer_token=self.bearer_token,
            basic_username=self.basic_username,
            basic_password=self.basic_password,
            api_key_header=self.api_key_header,
            api_key=self.api_key,
            signing_secret=self.signing_secret,
            timeout=self.timeout,
            allow_http=self.allow_http,
            allow_hosts=tuple(self.allow_hosts),
        )

    def deliver(self, request: DeliveryRequest, target: WebhookTarget) -> DeliveryReceipt:
        from reports_pipeline.delivery.webhook import send_webhook

        if target.send == "file":
            return send_webhook(
                self.settings(), file=request.file, content_type=request.content_type
            )
        return send_webhook(self.settings(), payload=request.describe())

    def check(self) -> str:
        from reports_pipeline.delivery.webhook import check_webhook

        return check_webhook(self.settings())
