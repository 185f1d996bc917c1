"""The deployment file ``connections.yaml``: connections, report storage and policy."""

import ipaddress
import re
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from reports_pipeline.delivery.outbound import OutboundRules, allow_list_entry, is_public
from reports_pipeline.secret_values import secret_free_url
from reports_pipeline.spec.durations import Duration, parse_duration
from reports_pipeline.spec.mail_address import MailAddress
from reports_pipeline.spec.values import EnvRef, Number, Secret, Setting, WholeNumber

CONNECTION_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
POOL_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")

MAX_CONCURRENT_LIMIT = 1000
"""Dagster's own ceiling on a pool's slots (``DAGSTER_MAX_GLOBAL_OP_CONCURRENCY_LIMIT``)."""

Port = WholeNumber(1, 65535)
Timeout = Number(0.01, 3600)
"""Seconds to wait for a server: an hour at most, more than any server needs to answer."""

MAX_RUNTIME_LIMIT = timedelta(days=7)
MIN_RUNTIME_LIMIT = timedelta(minutes=1)

DEMO_WAREHOUSE = "demo_warehouse"
"""Built-in connection: the embedded demo warehouse (SQLite, generated on first use)."""

LOCAL_OUTBOX = "outbox"
"""Built-in connection: e-mail written as ``.eml`` files to a local folder."""

DEFAULT_MAIL = "mail"
"""The connection e-mail targets use when they name none (falls back to the outbox)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _pool_name(value):
    if value is not None and not POOL_NAME.match(str(value)):
        raise ValueError(
            f"'{value}' is not a pool name; use letters, digits, _ . and -, at most 100 characters"
        )
    return value


class SqlConnection(_Strict):
    kind: Literal["sql"]
    url: str | EnvRef
    # Dagster concurrency pool of the steps that query this connection (default: its name):
    # at most max_concurrent of them run at once across all runs. See reports_pipeline.pools.
    pool: str | None = None
    max_concurrent: WholeNumber(1, MAX_CONCURRENT_LIMIT) = 4

    _pool = field_validator("pool")(lambda value: _pool_name(value))

    @field_validator("url")
    @classmethod
    def _no_password_in_url(cls, value):
        if isinstance(value, str) and re.search(r"://[^/@]*:[^/@]+@", value):
            raise ValueError(
                "the URL contains a password; put the whole URL in an environment variable"
                " and write url: {env: WAREHOUSE_URL}"
            )
        return secret_free_url(value, "WAREHOUSE_URL")  # ?password=, ?token=… in the query


class DemoWarehouseConnection(_Strict):
    kind: Literal["demo"]
    path: Setting = EnvRef(env="REPORTS_DEMO_WAREHOUSE", default="./var/demo_warehouse.sqlite")
    pool: str | None = None
    # The embedded warehouse is a local file: no limit unless the deployment sets one.
    max_concurrent: WholeNumber(1, MAX_CONCURRENT_LIMIT) | None = None

    _pool = field_validator("pool")(lambda value: _pool_name(value))


def _from_environment(value):
    """Secrets are references to environment variables, never values written in YAML."""
    if value is not None and not isinstance(value, (dict, EnvRef)):
        raise ValueError(
            "a secret is never written in YAML; set an environment variable and write"
            " {env: VARIABLE_NAME} here"
        )
    return value


def _secrets(*names: str):
    return field_validator(*names, mode="before")(lambda value: _from_environment(value))


class SmtpConnection(_Strict):
    kind: Literal["smtp"]
    host: Setting
    port: Port = 587
    starttls: bool = False
    ssl: bool = False
    username: Setting | None = None
    password: Secret | None = None
    from_address: MailAddress = Field(alias="from")
    timeout: Timeout = 30.0
    ca_file: Setting | None = None  # a private CA bundle, for servers with an in-house certificate

    _secret_fields = _secrets("password")


class OutboxConnection(_Strict):
    kind: Literal["outbox"]
    path: Setting = EnvRef(env="REPORTS_OUTBOX", default="./var/outbox")
    from_address: MailAddress = Field("reports@localhost", alias="from")


class SendgridConnection(_Strict):
    kind: Literal["sendgrid"]
    api_key: Secret
    from_address: MailAddress = Field(alias="from")
    base_url: str = "https://api.sendgrid.com"
    timeout: Timeout = 30.0

    _secret_fields = _secrets("api_key")


class SftpConnection(_Strict):
    kind: Literal["sftp"]
    host: Setting
    port: Port = 22
    username: Setting
    password: Secret | None = None
    private_key: Secret | None = None
    private_key_passphrase: Secret | None = None
    host_key: str | None = None  # "ssh-ed25519 AAAA...": unknown keys are refused
    known_hosts: Setting | None = None
    timeout: Timeout = 30.0

    _secret_fields = _secrets("password", "private_key", "private_key_passphrase")

    @model_validator(mode="after")
    def _verifiable(self):
        if not self.host_key and not self.known_hosts:
            raise ValueError(
                "an sftp connection needs host_key: (the server's public key line, e.g. from"
                " ssh-keyscan) or known_hosts: (a file); unknown host keys are never accepted"
            )
        if not self.password and not self.private_key:
            raise ValueError("an sftp connection needs password: or private_key: (from env)")
        return self


class S3Connection(_Strict):
    kind: Literal["s3"]
    bucket: str = Field(min_length=3)
    region: str | None = None
    endpoint_url: Setting | None = None  # MinIO and other S3-compatible stores
    access_key_id: Setting | None = None
    secret_access_key: Secret | None = None
    session_token: Secret | None = None
    server_side_encryption: Literal["AES256", "aws:kms"] | None = None
    kms_key_id: str | None = None
    # Presigned download links in e-mails; S3 signs them for at most seven days.
    link_expiry: Duration(at_least=timedelta(minutes=1), at_most=timedelta(days=7)) = timedelta(
        days=7
    )

    _secret_fields = _secrets("secret_access_key", "session_token")


def _allow_list(hosts: list[str]) -> list[str]:
    return [allow_list_entry(host) for host in hosts]


def _check_endpoint(url: Setting, allow_http: bool, allow_hosts: list[str]) -> None:
    """A URL written in the file: https (http with allow_http), and not a literal loopback,
    private or link-local address unless allowed. Names are resolved and checked when sent."""
    if not isinstance(url, str):
        return  # from the environment: checked when the URL is used
    parts = urlsplit(url)
    if parts.scheme not in (("https", "http") if allow_http else ("https",)):
        hint = "" if allow_http else " (or http with allow_http: true)"
        raise ValueError(f"the URL must be https{hint}, not {parts.scheme or 'without a scheme'}")
    if not parts.hostname:
        raise ValueError("the URL has no host")
    host = parts.hostname.lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        # localhost is loopback whatever DNS says; other names are checked once resolved.
        address = ipaddress.ip_address("127.0.0.1") if host == "localhost" else None
    if (
        address is not None
        and not is_public(address)
        and not OutboundRules.of(allow_http, allow_hosts).allows(host, address)
    ):
        raise ValueError(
            f"{host} is a loopback, private or link-local address; if it is meant, add"
            f" allow_hosts: [{host}]"
        )


class BearerAuth(_Strict):
    bearer: Secret

    _secret_fields = _secrets("bearer")


class BasicCredentials(_Strict):
    username: Setting
    password: Secret

    _secret_fields = _secrets("password")


class BasicAuth(_Strict):
    basic: BasicCredentials


class ApiKeyCredentials(_Strict):
    header: str = "X-API-Key"
    value: Secret

    _secret_fields = _secrets("value")


class ApiKeyAuth(_Strict):
    api_key: ApiKeyCredentials


class WebhookConnection(_Strict):
    kind: Literal["webhook"]
    url: Setting
    method: Literal["POST", "PUT"] = "POST"
    auth: BearerAuth | BasicAuth | ApiKeyAuth | None = None
    signing_secret: Secret | None = None
    timeout: Timeout = 10.0
    # Plain http, and loopback, private or link-local hosts (delivery/outbound.py), only
    # when the connection says so.
    allow_http: bool = False
    allow_hosts: list[str] = []

    _secret_fields = _secrets("signing_secret")
    _secret_free_url = field_validator("url")(lambda value: secret_free_url(value, "WEBHOOK_URL"))
    _allow_list = field_validator("allow_hosts")(lambda hosts: _allow_list(hosts))

    @model_validator(mode="after")
    def _allowed_url(self):
        _check_endpoint(self.url, self.allow_http, self.allow_hosts)
        return self


class SlackConnection(_Strict):
    kind: Literal["slack"]
    token: Secret
    base_url: str = "https://slack.com/api/"
    timeout: Timeout = 30.0
    allow_http: bool = False
    allow_hosts: list[str] = []

    _secret_fields = _secrets("token")
    _allow_list = field_validator("allow_hosts")(lambda hosts: _allow_list(hosts))

    @model_validator(mode="after")
    def _allowed_url(self):
        _check_endpoint(self.base_url, self.allow_http, self.allow_hosts)
        return self


Connection = (
    SqlConnection
    | DemoWarehouseConnection
    | SmtpConnection
    | OutboxConnection
    | SendgridConnection
    | SftpConnection
    | S3Connection
    | WebhookConnection
    | SlackConnection
)

CONNECTION_KINDS: dict[str, type[BaseModel]] = {
    "sql": SqlConnection,
    "demo": DemoWarehouseConnection,
    "smtp": SmtpConnection,
    "outbox": OutboxConnection,
    "sendgrid": SendgridConnection,
    "sftp": SftpConnection,
    "s3": S3Connection,
    "webhook": WebhookConnection,
    "slack": SlackConnection,
}

SQL_KINDS = ("sql", "demo")
MAIL_KINDS = ("smtp", "outbox", "sendgrid")
TARGET_KINDS = {
    "email": MAIL_KINDS,
    "sftp": ("sftp",),
    "s3": ("s3",),
    "webhook": ("webhook",),
    "slack": ("slack",),
}


def parse_max_runtime(value: object) -> timedelta:
    """A run's time limit: a duration from one minute to seven days."""
    try:
        limit = parse_duration(value)
    except OverflowError:
        limit = MAX_RUNTIME_LIMIT * 2  # a number too large for a duration is over the limit
    if limit < MIN_RUNTIME_LIMIT:
        # Dagster's run monitoring looks at runs every couple of minutes: less is not enforceable.
        raise ValueError(f"{value} is too short for a run's time limit; use at least 1m")
    if limit > MAX_RUNTIME_LIMIT:
        raise ValueError("a run may take at most 7d; write a shorter max_runtime")
    return limit


class RetryPolicySpec(_Strict):
    attempts: WholeNumber(1, 20) = 3
    # The first wait; exponential backoff doubles it on each further retry.
    delay: Duration(at_most=timedelta(days=1)) = timedelta(seconds=30)
    backoff: Literal["exponential", "linear", "constant"] = "exponential"


class TeamPolicy(_Strict):
    connections: list[str] | None = None


class NoticePolicy(_Strict):
    """How owners hear about failed runs."""

    connection: str | None = None  # a mail connection; default: `mail`, else the outbox
    slack_connection: str | None = None
    slack_channel: str | None = None
    ui_base_url: str = "http://127.0.0.1:3000"  # runs are linked as <ui_base_url>/runs/<id>


def _clock(value) -> str:
    """``"HH:MM"`` (a time of the day in the policy's time zone), normalised to two digits."""
    match = re.match(r"^(\d{1,2}):(\d{2})$", str(value).strip())
    if isinstance(value, bool) or not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f'{value!r} is not a time of day; write it as "HH:MM", e.g. "08:00"')
    return f"{int(match.group(1)):02d}:{int(match.group(2)):02d}"


ClockTime = Annotated[str, BeforeValidator(_clock)]

DIGEST_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class DigestPolicy(_Strict):
    """When each owner gets the digest of their reports: weekly (default Monday 08:00) or
    daily, at ``at`` in the policy's time zone. It covers the time since the previous one."""

    every: Literal["week", "day"] = "week"
    on: Literal[DIGEST_WEEKDAYS] | None = None  # week: the weekday, default monday
    at: ClockTime = "08:00"

    @field_validator("on", mode="before")
    @classmethod
    def _weekday(cls, value):
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _weekday_for_weeks_only(self):
        if self.every == "day" and self.on is not None:
            raise ValueError("on: is only used with every: week; remove it for a daily digest")
        return self

    @property
    def cron(self) -> str:
        hour, minute = (int(part) for part in self.at.split(":"))
        if self.every == "day":
            return f"{minute} {hour} * * *"
        return f"{minute} {hour} * * {(DIGEST_WEEKDAYS.index(self.on or 'monday') + 1) % 7}"

    @property
    def covers(self) -> timedelta:
        """How far back a digest looks, and ahead for next runs: one interval of its own."""
        return timedelta(days=1 if self.every == "day" else 7)


class Policy(_Strict):
    """The deployment's limits on every report (``connections.yaml`` ``policy``)."""

    timezone: str = "UTC"
    max_reports_per_owner: WholeNumber(1, 100_000) = 10
    min_interval: Duration() = timedelta(hours=1)
    max_recipients: WholeNumber(1, 10_000) = 50
    allowed_recipient_domains: list[str] = []
    max_attachment_mb: Number(0.01, 1024) = 20
    retry: RetryPolicySpec = RetryPolicySpec()
    teams: dict[str, TeamPolicy] = {}
    # How many missed periods a schedule catches up on after downtime (0: none).
    max_catchup_periods: WholeNumber(0, 1000) = 7
    # More reports than this on one source connection in the same minute is a warning.
    max_reports_per_slot: WholeNumber(1, 100_000) = 5
    notify: NoticePolicy = NoticePolicy()
    # Each owner's digest of their reports; false: none.
    digest: DigestPolicy | None = DigestPolicy()
    # A run still going after this long is stopped by Dagster's run monitoring and its owner
    # told; a report's own max_runtime overrides it.
    max_runtime: timedelta = timedelta(hours=2)
    # Days finished runs stay in the run history (none: forever). The latest run and the latest
    # successful run of each job are always kept (README, "Retention").
    run_retention_days: WholeNumber(1, 36_500) | None = None
    # When the reports_retention job runs each day, in the policy's time zone.
    retention_at: ClockTime = "03:30"

    @field_validator("max_runtime", mode="before")
    @classmethod
    def _runtime(cls, value):
        return parse_max_runtime(value)

    @field_validator("digest", mode="before")
    @classmethod
    def _digest_switch(cls, value):
        if value is False:
            return None
        if value is True or value is None:
            return DigestPolicy()
        if not isinstance(value, (dict, DigestPolicy)):
            raise ValueError(
                'digest is {every: week, on: monday, at: "08:00"} (every: week or day), or'
                " false for no digest"
            )
        return value


class LocalStorage(_Strict):
    kind: Literal["local"] = "local"
    path: Setting = EnvRef(env="REPORTS_STORAGE", default="./var/report_files")
    retention_days: WholeNumber(1, 36_500) | None = None
    # Where people can download stored files (a web server or share over the storage folder);
    # e-mails too large to attach link to <public_base_url>/<path inside storage>.
    public_base_url: str | None = None


class S3Storage(S3Connection):
    """Report files in an S3 bucket, or an S3-compatible store through ``endpoint_url``: the
    settings of an s3 connection, plus where in the bucket and where runs stage files."""

    prefix: str = ""  # "reports/": keys are <prefix><name>/<period>/<run>/<file>
    # Runs render here and keep a copy for their delivery steps (shared by Celery workers).
    path: Setting = EnvRef(env="REPORTS_STORAGE", default="./var/report_files")
    retention_days: WholeNumber(1, 36_500) | None = None
    public_base_url: str | None = None  # else e-mails link to a presigned URL

    @field_validator("prefix")
    @classmethod
    def _key_prefix(cls, value: str) -> str:
        if value.startswith("/") or ".." in value.split("/"):
            raise ValueError(
                f"'{value}' is not a key prefix; write it without a leading / or .. parts,"
                " e.g. reports/"
            )
        return value if not value or value.endswith("/") else f"{value}/"


def _storage_kind(value) -> str:
    if isinstance(value, dict):
        return value.get("kind", "local")
    return getattr(value, "kind", "local")


StorageSettings = Annotated[
    Annotated[LocalStorage, Tag("local")] | Annotated[S3Storage, Tag("s3")],
    Discriminator(
        _storage_kind,
        custom_error_type="storage_kind",
        custom_error_message="storage kind must be local or s3",
    ),
]


STORAGE_KINDS: dict[str, type[BaseModel]] = {"local": LocalStorage, "s3": S3Storage}


class ConnectionsFile(_Strict):
    # Each entry is validated against the model of its ``kind`` by the loader, so that errors
    # point at ``connections.<name>.<field>`` rather than at a union of every kind.
    connections: dict[str, Any] = {}
    storage: StorageSettings = LocalStorage()
    policy: Policy = Policy()

    def with_builtins(self) -> "ConnectionsFile":
        """Add the embedded demo warehouse and local outbox unless the file defines them."""
        connections = dict(self.connections)
        connections.setdefault(DEMO_WAREHOUSE, DemoWarehouseConnection(kind="demo"))
        connections.setdefault(LOCAL_OUTBOX, OutboxConnection(kind="outbox"))
        return self.model_copy(update={"connections": connections})

    def pool_of(self, name: str) -> str:
        """The Dagster pool of the steps that query connection ``name``: its ``pool``, else its
        name (so two connections to one warehouse can share a limit by naming one pool)."""
        return getattr(self.connections.get(name), "pool", None) or name

    def mail_connection_for(self, name: str | None) -> str:
        """The connection an e-mail target uses: its own, else ``mail``, else the outbox."""
        if name:
            return name
        return DEFAULT_MAIL if DEFAULT_MAIL in self.connections else LOCAL_OUTBOX
