"""Deliver a report to an HTTP endpoint: a JSON description of it, or the file itself.

Receivers verify a signed request like this (``secret`` is the shared signing secret)::

    timestamp = request.headers["X-Signature-Timestamp"]
    expected = "sha256=" + hmac.new(
        secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(expected, request.headers["X-Signature"])

and should reject timestamps more than a few minutes old, so a captured request cannot be replayed.
"""

import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

import requests

from reports_pipeline.delivery.errors import PermanentDeliveryError, TransientDeliveryError
from reports_pipeline.delivery.outbound import OutboundRules, checked_session
from reports_pipeline.delivery.receipts import DeliveryReceipt
from reports_pipeline.redaction import Redactor
from reports_pipeline.secret_values import url_secrets

USER_AGENT = "reports_pipeline-webhook/1"
_EXCERPT_CHARS = 500
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class WebhookSettings:
    """Endpoint and credentials; at most one of bearer and basic auth (both use Authorization)."""

    url: str
    method: str = "POST"
    bearer_token: str | None = field(default=None, repr=False)
    basic_username: str | None = None
    basic_password: str | None = field(default=None, repr=False)
    api_key_header: str | None = None
    api_key: str | None = field(default=None, repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    timeout: float = 10.0
    # Plain http, and loopback, private or link-local addresses, only when allowed (outbound.py).
    allow_http: bool = False
    allow_hosts: tuple[str, ...] = ()

    def __post_init__(self):
        # Messages name fields only: the URL itself may carry a key in its query string.
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("webhook url must be an absolute https URL")
        if parts.scheme == "http" and not self.allow_http:
            raise ValueError("webhook url must be https; plain http needs allow_http: true")
        if parts.username or parts.password:
            raise ValueError("webhook url must not contain credentials; use basic_username")
        if self.method not in ("POST", "PUT"):
            raise ValueError(f"webhook method must be POST or PUT, not {self.method!r}")
        if (self.basic_username is None) != (self.basic_password is None):
            raise ValueError("webhook basic auth needs both basic_username and basic_password")
        if (self.api_key_header is None) != (self.api_key is None):
            raise ValueError("webhook api key auth needs both api_key_header and api_key")
        if self.bearer_token is not None and self.basic_username is not None:
            raise ValueError("webhook bearer and basic auth both set Authorization; pick one")

    def __repr__(self) -> str:
        # Written by hand because the URL's query string may hold a key: show it redacted.
        return (
            f"WebhookSettings(url={safe_url(self.url)!r}, method={self.method!r},"
            f" basic_username={self.basic_username!r}, api_key_header={self.api_key_header!r},"
            f" signed={self.signing_secret is not None}, timeout={self.timeout!r})"
        )


def safe_url(url: str) -> str:
    """``url`` without query, fragment or user info, fit for logs and error messages.

    A query string is shown as ``?…`` so a reader can tell that there was one.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "…" if parts.query else "", ""))


def _redacted(exc: Exception) -> str:
    # requests and urllib3 quote the request path and query ("Max retries exceeded with url:
    # /hook?key=..."); the query may hold a key, so drop everything after a "?".
    return re.sub(r"\?[^\s'\")]*", "?…", f"{type(exc).__name__}: {exc}")


def _redactor(settings: WebhookSettings) -> Redactor:
    """Masks our credentials in every form, in case an endpoint echoes the request back."""
    secrets = (settings.bearer_token, settings.basic_password, settings.api_key)
    return Redactor([*secrets, settings.signing_secret, *url_secrets(settings.url)])


def _auth_headers(settings: WebhookSettings) -> dict[str, str]:
    headers = {}
    if settings.bearer_token is not None:
        headers["Authorization"] = f"Bearer {settings.bearer_token}"
    if settings.api_key_header is not None:
        headers[settings.api_key_header] = settings.api_key or ""
    return headers


def _basic_auth(settings: WebhookSettings) -> tuple[str, str] | None:
    if settings.basic_username is None:
        return None
    return settings.basic_username, settings.basic_password or ""


def _file_digest(secret: str, prefix: bytes, file: Path) -> str:
    mac = hmac.new(secret.encode(), prefix, hashlib.sha256)
    with file.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            mac.update(chunk)
    return mac.hexdigest()


def _signature_headers(
    secret: str, timestamp: int, body: bytes | None, file: Path | None
) -> dict[str, str]:
    prefix = f"{timestamp}.".encode()
    if file is not None:
        digest = _file_digest(secret, prefix, file)
    else:
        digest = hmac.new(secret.encode(), prefix + (body or b""), hashlib.sha256).hexdigest()
    return {"X-Signature-Timestamp": str(timestamp), "X-Signature": f"sha256={digest}"}


def _excerpt(response: requests.Response, redactor: Redactor) -> str:
    # Scrubbed before it is cut: a cut through a secret would leave its start readable.
    raw = next(response.iter_content(4 * _EXCERPT_CHARS), b"")
    text = " ".join(raw.decode(response.encoding or "utf-8", "replace").split())
    return redactor.text(text, _EXCERPT_CHARS, cut_off=len(raw) == 4 * _EXCERPT_CHARS)


@contextmanager
def _body(payload: dict | None, file: Path | None) -> Iterator[bytes | IO[bytes]]:
    if file is None:
        yield json.dumps(payload, ensure_ascii=False).encode("utf-8")
    else:
        # An open file is streamed by requests with a Content-Length from its size.
        with file.open("rb") as stream:
            yield stream


def _request(settings: WebhookSettings, method: str, **kwargs) -> requests.Response:
    where = safe_url(settings.url)
    rules = OutboundRules.of(settings.allow_http, settings.allow_hosts)
    rules.check_destination(settings.url, f"webhook {where}")
    try:
        # Each connection is checked where it lands; redirects are never followed.
        return checked_session(rules, f"webhook {where}").request(
            method,
            settings.url,
            auth=_basic_auth(settings),
            timeout=settings.timeout,
            # A POST redirected becomes a GET on the new URL: the body would be lost silently.
            allow_redirects=False,
            stream=True,
            **kwargs,
        )
    except requests.Timeout:
        raise TransientDeliveryError(
            f"webhook {where} did not answer within {settings.timeout:g}s"
        ) from None
    except requests.ConnectionError as exc:
        raise TransientDeliveryError(f"cannot reach webhook {where}: {_redacted(exc)}") from None
    except requests.RequestException as exc:
        raise PermanentDeliveryError(f"webhook {where}: {_redacted(exc)}") from None


def send_webhook(
    settings: WebhookSettings,
    *,
    payload: dict | None = None,
    file: Path | None = None,
    content_type: str = "application/octet-stream",
    now: datetime | None = None,
) -> DeliveryReceipt:
    """Send ``payload`` as JSON, or the bytes of ``file`` as ``content_type``; exactly one.

    Auth: ``Authorization: Bearer <token>``, HTTP basic, or ``<api_key_header>: <api_key>``.
    With a ``signing_secret`` the request carries ``X-Signature-Timestamp: <unix seconds>``
    (from ``now``, default the current time) and ``X-Signature: sha256=<hex>``, the HMAC-SHA256
    of ``"<timestamp>.".encode() + body`` keyed with the secret (see the module docstring).

    2xx: a receipt with the status, a response excerpt and the elapsed milliseconds.
    429, 5xx, timeouts and connection errors: :class:`TransientDeliveryError`. Any other answer,
    redirects included (they are not followed): :class:`PermanentDeliveryError` with the
    status and the start of the response body. Messages never contain credentials or the
    URL's query string.
    """
    if (payload is None) == (file is None):
        raise ValueError("send_webhook needs exactly one of payload and file")
    where = safe_url(settings.url)
    timestamp = int((now or datetime.now(timezone.utc)).timestamp())
    headers = {
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json" if file is None else content_type,
        **_auth_headers(settings),
    }
    started = time.monotonic()
    with _body(payload, file) as body:
        if settings.signing_secret is not None:
            in_memory = body if isinstance(body, bytes) else None
            headers.update(_signature_headers(settings.signing_secret, timestamp, in_memory, file))
        size = len(body) if isinstance(body, bytes) else file.stat().st_size
        with _request(settings, settings.method, data=body, headers=headers) as response:
            excerpt = _excerpt(response, _redactor(settings))
    elapsed_ms = round((time.monotonic() - started) * 1000)
    answer = f"{response.status_code} {response.reason}".strip()
    if 200 <= response.status_code < 300:
        return DeliveryReceipt(
            summary=f"{settings.method} {where} answered {answer} in {elapsed_ms} ms",
            details={
                "url": where,
                "method": settings.method,
                "status": response.status_code,
                "response": excerpt,
                "elapsed_ms": elapsed_ms,
                "bytes_sent": size,
            },
        )
    message = f"webhook {where} answered {answer}"
    if excerpt:
        message += f": {excerpt}"
    if response.status_code == 429 or response.status_code >= 500:
        raise TransientDeliveryError(message)
    if 300 <= response.status_code < 400:
        location = safe_url(response.headers.get("Location", ""))
        message += f" (redirects are not followed; Location: {location or 'none'})"
    raise PermanentDeliveryError(message)


def check_webhook(settings: WebhookSettings) -> str:
    """Check that the endpoint answers, without sending a report: HEAD, or OPTIONS on 501.

    Any answer below 500 counts as reachable (many hooks refuse HEAD with 405); the text says
    what came back. 5xx and unreachable: :class:`TransientDeliveryError`.
    """
    where = safe_url(settings.url)
    headers = {"User-Agent": USER_AGENT, **_auth_headers(settings)}
    started = time.monotonic()
    for method in ("HEAD", "OPTIONS"):
        with _request(settings, method, headers=headers) as response:
            pass
        if response.status_code != 501:
            break
    elapsed_ms = round((time.monotonic() - started) * 1000)
    answer = f"{method} answered {response.status_code} {response.reason}".strip()
    if response.status_code >= 500:
        raise TransientDeliveryError(f"webhook {where} is failing: {answer}")
    hint = " (credentials refused?)" if response.status_code in (401, 403) else ""
    return f"webhook {where} reachable: {answer}{hint} in {elapsed_ms} ms"
