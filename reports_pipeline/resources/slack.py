"""A Slack workspace (bot token) as a Dagster resource."""

from dagster import ConfigurableResource

from reports_pipeline.delivery.errors import PermanentDeliveryError
from reports_pipeline.delivery.receipts import DeliveryReceipt
from reports_pipeline.delivery.request import DeliveryRequest
from reports_pipeline.spec.report import SlackTarget
from reports_pipeline.templating import render_template


class SlackPoster(ConfigurableResource):
    token: str
    base_url: str = "https://slack.com/api/"
    timeout: float = 30.0
    allow_http: bool = False
    allow_hosts: list[str] = []

    def settings(self):
        from reports_pipeline.delivery.slack import SlackSettings

        return SlackSettings(
            token=self.token,
            base_url=self.base_url,
            timeout=self.timeout,
            allow_http=self.allow_http,
            allow_hosts=tuple(self.allow_hosts),
        )

    def deliver(self, request: DeliveryRequest, target: SlackTarget) -> DeliveryReceipt:
        from reports_pipeline.delivery.slack import post_to_slack

        text = render_template(target.text, request.variables).strip()
        use_link = target.attach == "link" or (
            target.attach == "auto" and request.too_large_to_attach
        )
        if not use_link:
            return post_to_slack(
                self.settings(),
                target.channel,
                text=text,
                file=request.file,
                filename=request.file_name,
                title=request.title,
            )
        if not request.download_url:
            raise PermanentDeliveryError(
                "the file is too large to upload to Slack under policy.max_attachment_mb and "
                "there is no download link: set storage.public_base_url or add an s3 target"
            )
        return post_to_slack(
            self.settings(), target.channel, text=f"{text}\n{request.download_url}"
        )

    def notify(self, channel: str, text: str) -> DeliveryReceipt:
        from reports_pipeline.delivery.slack import post_to_slack

        return post_to_slack(self.settings(), channel, text=text)

    def check(self) -> str:
        from reports_pipeline.delivery.slack import check_slack

        return check_slack(self.settings())
