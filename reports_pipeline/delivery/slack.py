"""Post a report to a Slack channel with a bot token: a message, optionally with the file."""

import http.client
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from reports_pipeline.delivery.errors import (
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from reports_pipeline.delivery.outbound import OutboundRules
from reports_pipeline.delivery.receipts import DeliveryReceipt
from reports_pipeline.redaction import Redactor

# Public (C), private (G) and direct-message (D) conversation IDs.
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{8,}$")
_TRANSIENT_ERRORS = {
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}
_HINTS = {
    "invalid_auth": "the token is wrong or revoked",
    "not_authed": "no token was sent",
    "token_revoked": "the token was revoked",
    "account_inactive": "the bot or its workspace was deactivated",
    "channel_not_found": "no such channel, or the bot cannot see it",
    "not_in_channel": "invite the bot to the channel (/invite @bot)",
    "is_archived": "the channel is archived",
}


@dataclass(frozen=True)
class SlackSettings:
    """A bot token (``xoxb-…``) and the Web API base URL (changed only for tests and proxies)."""

    token: str = field(repr=False)
    base_url: str = "https://slack.com/api/"
    timeout: float = 30.0
    # Plain http, and loopback, private or link-local addresses, only when allowed (outbound.py).
    allow_http: bool = False
    allow_hosts: tuple[str, ...] = ()

    @property
    def rules(self) -> OutboundRules:
        return OutboundRules.of(self.allow_http, self.allow_hosts)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 3xx answer is the result: a Slack error, never another host


class _CheckedWebClient(WebClient):
    """A client that checks where its calls go: the API's host and each file upload URL.

    slack_sdk sends through urllib, which does not show the connected socket: the host is
    resolved and every address checked before each call.
    """

    def __init__(self, rules: OutboundRules, **kwargs):
        super().__init__(**kwargs)
        self.rules = rules

    def _perform_urllib_http_request_internal(self, url: str, req: urllib.request.Request):
        # slack_sdk's own (3.48) but for its opener: urllib's default one follows a redirect
        # to any host and keeps the Authorization header, the bot token, on the way.
        self.rules.check_destination(url, "Slack")
        opener = urllib.request.build_opener(
            _NoRedirects, urllib.request.HTTPSHandler(context=self.ssl)
        )
        with opener.open(req, timeout=self.timeout) as response:
            charset = response.headers.get_content_charset() or "utf-8"
            body = response.read().decode(charset)
        return {"status": response.code, "headers": response.headers, "body": body}

    def files_getUploadURLExternal(self, **kwargs):
        response = super().files_getUploadURLExternal(**kwargs)
        self.rules.check_destination(str(response.get("upload_url") or ""), "Slack upload URL")
        return response


def _client(settings: SlackSettings) -> WebClient:
    # No retry handlers: the deliver step's retry policy waits and counts attempts; the
    # client's default retry of connection errors would silently double them.
    return _CheckedWebClient(
        settings.rules,
        token=settings.token,
        base_url=settings.base_url,
        timeout=settings.timeout,
        retry_handlers=[],
    )


def _api_error(exc: SlackApiError, redactor: Redactor) -> DeliveryError:
    response = exc.response
    method = str(response.api_url).rstrip("/").rsplit("/", 1)[-1]
    data = response.data if isinstance(response.data, dict) else {}
    # Scrubbed before it is cut: an answer quoting the request must not keep the token's start.
    code = redactor.text(str(data.get("error") or "no error code"), 200)
    status = response.status_code
    message = f"Slack {method} failed: {code}"
    if status != 200:
        message += f" (HTTP {status})"
    retry_after = {k.lower(): v for k, v in (response.headers or {}).items()}.get("retry-after")
    if retry_after:
        message += f" (retry after {retry_after}s)"
    if code == "missing_scope" and data.get("needed"):
        message += f" (the bot needs the {data['needed']} scope)"
    elif code in _HINTS:
        message += f" ({_HINTS[code]})"
    if status == 429 or status >= 500 or code in _TRANSIENT_ERRORS:
        return TransientDeliveryError(message)
    return PermanentDeliveryError(message)


def _delivery_error(exc: Exception, settings: SlackSettings) -> DeliveryError:
    """Map what slack_sdk (and urllib under it) raises; none of these texts hold the token."""
    if isinstance(exc, SlackApiError):
        return _api_error(exc, Redactor([settings.token]))
    if isinstance(exc, urllib.error.HTTPError):  # the file upload step, outside the Web API
        message = f"Slack file upload answered {exc.code} {exc.reason}"
        transient = exc.code == 429 or exc.code >= 500
        return (TransientDeliveryError if transient else PermanentDeliveryError)(message)
    if isinstance(exc, SlackRequestError):
        # files_upload_v2 reports a non-200 success answer of the upload URL only as text.
        status = re.search(r"\(status: (\d+)", str(exc))
        transient = status is not None and (int(status[1]) == 429 or int(status[1]) >= 500)
        return (TransientDeliveryError if transient else PermanentDeliveryError)(f"Slack: {exc}")
    # urllib's URLError, timeouts, resets and broken answers: the network, worth a retry.
    return TransientDeliveryError(
        f"cannot reach Slack at {settings.base_url}: {type(exc).__name__}: {exc}"
    )


_SLACK_ERRORS = (SlackApiError, SlackRequestError, OSError, http.client.HTTPException)


def _channel_id(client: WebClient, channel: str) -> str:
    """The ID of ``channel`` ("#finance", "finance" or already an ID like "C0123ABCD")."""
    if _CHANNEL_ID.match(channel):
        return channel
    name = channel.removeprefix("#").lower()
    cursor = None
    while True:
        page = client.conversations_list(
            types="public_channel,private_channel",
            exclude_archived=True,
            limit=1000,
            cursor=cursor,
        )
        for conversation in page.get("channels", []):
            if conversation.get("name", "").lower() == name:
                return conversation["id"]
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            raise PermanentDeliveryError(
                f"Slack channel {channel} not found among the channels the bot can see"
                " (private channels need the bot invited)"
            )


def post_to_slack(
    settings: SlackSettings,
    channel: str,
    *,
    text: str,
    file: Path | None = None,
    filename: str | None = None,
    title: str | None = None,
) -> DeliveryReceipt:
    """Post ``text`` to ``channel``; with ``file``, upload it with ``text`` as its comment.

    ``channel`` is a name ("#finance") or an ID ("C0123ABCD"). A file upload
    (``files_upload_v2``) needs the ID, so a name is looked up with ``conversations.list``
    (scope ``channels:read``, and ``groups:read`` for private channels); a plain message
    takes the name as is. ``filename`` and ``title`` default to the file's name.

    Rate limits, HTTP 429/5xx and network failures: :class:`TransientDeliveryError`.
    Slack errors such as ``invalid_auth``, ``channel_not_found`` or ``not_in_channel``:
    :class:`PermanentDeliveryError` naming the error code.
    """
    client = _client(settings)
    try:
        if file is None:
            response = client.chat_postMessage(channel=channel, text=text)
            return DeliveryReceipt(
                summary=f"posted to Slack {channel}",
                details={"channel": response.get("channel"), "ts": response.get("ts")},
            )
        channel_id = _channel_id(client, channel)
        name = filename or file.name
        response = client.files_upload_v2(
            channel=channel_id,
            file=str(file),
            filename=name,
            title=title or name,
            initial_comment=text,
        )
    except _SLACK_ERRORS as exc:
        raise _delivery_error(exc, settings) from None
    uploaded = response.get("file") or {}
    return DeliveryReceipt(
        summary=f"uploaded {name} to Slack {channel}",
        details={
            "channel": channel_id,
            "file_id": uploaded.get("id"),
            "permalink": uploaded.get("permalink"),
        },
    )


def check_slack(settings: SlackSettings) -> str:
    """Check the token with ``auth.test``; the text names the bot and the workspace."""
    try:
        response = _client(settings).auth_test()
    except _SLACK_ERRORS as exc:
        raise _delivery_error(exc, settings) from None
    return (
        f"Slack token accepted: {response.get('user')} ({response.get('user_id')})"
        f" in workspace {response.get('team')} ({response.get('url')})"
    )
