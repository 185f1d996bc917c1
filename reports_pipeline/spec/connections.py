"""The deployment file ``connections.yaml``: connections, report storage and policy."""

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reports_pipeline.spec.durations import parse_duration
from reports_pipeline.spec.values import EnvRef, Setting

CONNECTION_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

DEMO_WAREHOUSE = "demo_warehouse"
"""Built-in connection: the embedded demo warehouse (SQLite, generated on first use)."""

LOCAL_OUTBOX = "outbox"
"""Built-in connection: e-mail written as ``.eml`` files to a local folder."""

DEFAULT_MAIL = "mail"
"""The connection e-mail targets use when they name none (falls back to the outbox)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SqlConnection(_Strict):
    kind: Literal["sql"]
    url: str | EnvRef
    pool: str | None = None
    max_concurrent: int = Field(4, ge=1)

    @field_validator("url")
    @classmethod
    def _no_password_in_url(cls, value):
        if isinstance(value, str) and re.search(r"://[^/@]*:[^/@]+@", value):
            raise ValueError(
                "the URL contains a password; put the whole URL in an environment variable"
                " and write url: {env: WAREHOUSE_URL}"
            )
        return value


class DemoWarehouseConnection(_Strict):
    kind: Literal["demo"]
    path: Setting = EnvRef(env="REPORTS_DEMO_WAREHOUSE", default="./var/demo_warehouse.sqlite")


class SmtpConnection(_Strict):
    kind: Literal["smtp"]
    host: Setting
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = False
    ssl: bool = False
    username: Setting | None = None
    password: EnvRef | None = None
    from_address: str = Field(alias="from")
    timeout: float = Field(30.0, gt=0)
    ca_file: Setting | None = None  # a private CA bundle, for servers with an in-house certificate

    @field_validator("password", mode="before")
    @classmethod
    def _password_from_environment(cls, value):
        if value is not None and not isinstance(value, dict):
            raise ValueError(
                "a password is never written in YAML; set an environment variable and write"
                " password: {env: SMTP_PASSWORD}"
            )
        return value


class OutboxConnection(_Strict):
    kind: Literal["outbox"]
    path: Setting = EnvRef(env="REPORTS_OUTBOX", default="./var/outbox")
    from_address: str = Field("reports@localhost", alias="from")


Connection = SqlConnection | DemoWarehouseConnection | SmtpConnection | OutboxConnection

CONNECTION_KINDS: dict[str, type[BaseModel]] = {
    "sql": SqlConnection,
    "demo": DemoWarehouseConnection,
    "smtp": SmtpConnection,
    "outbox": OutboxConnection,
}

SQL_KINDS = ("sql", "demo")
MAIL_KINDS = ("smtp", "outbox")


class RetryPolicySpec(_Strict):
    attempts: int = Field(3, ge=1, le=20)
    delay: timedelta = timedelta(seconds=30)
    backoff: Literal["exponential", "linear", "constant"] = "exponential"

    @field_validator("delay", mode="before")
    @classmethod
    def _duration(cls, value):
        return parse_duration(value)


class TeamPolicy(_Strict):
    connections: list[str] | None = None


class Policy(_Strict):
    """The deployment's limits on every report (``connections.yaml`` ``policy``)."""

    timezone: str = "UTC"
    max_reports_per_owner: int = Field(10, ge=1)
    min_interval: timedelta = timedelta(hours=1)
    max_recipients: int = Field(50, ge=1)
    allowed_recipient_domains: list[str] = []
    max_attachment_mb: float = Field(20, gt=0)
    retry: RetryPolicySpec = RetryPolicySpec()
    teams: dict[str, TeamPolicy] = {}
    # How many missed periods a schedule catches up on after downtime (0: none).
    max_catchup_periods: int = Field(7, ge=0)
    # More reports than this on one source connection in the same minute is a warning.
    max_reports_per_slot: int = Field(5, ge=1)

    @field_validator("min_interval", mode="before")
    @classmethod
    def _duration(cls, value):
        return parse_duration(value)


class LocalStorage(_Strict):
    kind: Literal["local"] = "local"
    path: Setting = EnvRef(env="REPORTS_STORAGE", default="./var/report_files")
    retention_days: int | None = Field(None, ge=1)


class ConnectionsFile(_Strict):
    # Each entry is validated against the model of its ``kind`` by the loader, so that errors
    # point at ``connections.<name>.<field>`` rather than at a union of every kind.
    connections: dict[str, Any] = {}
    storage: LocalStorage = LocalStorage()
    policy: Policy = Policy()

    def with_builtins(self) -> "ConnectionsFile":
        """Add the embedded demo warehouse and local outbox unless the file defines them."""
        connections = dict(self.connections)
        connections.setdefault(DEMO_WAREHOUSE, DemoWarehouseConnection(kind="demo"))
        connections.setdefault(LOCAL_OUTBOX, OutboxConnection(kind="outbox"))
        return self.model_copy(update={"connections": connections})

    def mail_connection_for(self, name: str | None) -> str:
        """The connection an e-mail target uses: its own, else ``mail``, else the outbox."""
        if name:
            return name
        return DEFAULT_MAIL if DEFAULT_MAIL in self.connections else LOCAL_OUTBOX
