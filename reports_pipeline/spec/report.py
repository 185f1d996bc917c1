"""The analyst's report file (REPORT_SPEC.md), as typed models. Field names are the contract."""

import re
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    field_validator,
    model_validator,
)

from reports_pipeline.spec.connections import RetryPolicySpec, parse_max_runtime
from reports_pipeline.spec.durations import parse_duration
from reports_pipeline.spec.sql_parameters import check_no_quoted_parameters

REPORT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CADENCES = ("hour", "day", "week", "month", "quarter", "cron")
FORMATS = ("csv", "xlsx", "pdf", "html", "json", "parquet")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_list(value: Any) -> Any:
    if value is None:
        return []
    return [value] if isinstance(value, str) else value


class Source(_Strict):
    connection: str | None = None
    sql: str | None = None
    params: dict[str, Any] = {}
    timeout: timedelta | None = None
    # A query over its timeout is usually too slow every time; a busy warehouse is the exception.
    retry_on_timeout: bool = False

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value):
        return None if value is None else parse_duration(value)

    @field_validator("sql")
    @classmethod
    def _not_blank(cls, value):
        if value is not None and not value.strip():
            raise ValueError("the SQL text is empty")
        return value

    @field_validator("params")
    @classmethod
    def _reserved(cls, value: dict):
        for key in value:
            if key in ("period_start", "period_end"):
                raise ValueError(f"'{key}' is bound by the pipeline; choose another parameter name")
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", str(key)):
                raise ValueError(f"parameter name '{key}' must be an identifier (used as :{key})")
        return value

    @model_validator(mode="after")
    def _has_query(self):
        if not self.sql:
            raise ValueError("a source needs sql: (the query to run)")
        check_no_quoted_parameters(self.sql, {*self.params, "period_start", "period_end"})
        return self


def _parse_clock(value: Any) -> time:
    text = str(value).strip()
    match = re.match(r"^(\d{1,2}):(\d{2})$", text)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f'\'{value}\' is not a time of day; write it as "HH:MM", e.g. "09:00"')
    return time(int(match.group(1)), int(match.group(2)))


class Schedule(_Strict):
    every: Literal["hour", "day", "week", "month", "quarter", "cron", "once"]
    at: time | None = None
    on: str | int | None = None
    cron: str | None = None
    timezone: str | None = None
    skip: list[Literal["weekends", "holidays"]] = []
    holiday_calendar: str | None = None
    start: date | None = None
    run_at: datetime | None = None

    @field_validator("holiday_calendar")
    @classmethod
    def _calendar(cls, value):
        if value is None:
            return value
        from reports_pipeline.scheduling.holidays import check_holiday_calendar

        return check_holiday_calendar(value)

    @field_validator("run_at")
    @classmethod
    def _local_run_at(cls, value: datetime | None):
        if value is not None and value.tzinfo is not None:
            raise ValueError(
                "run_at is a local time in schedule.timezone; write it without an offset,"
                " e.g. 2026-12-01T08:00"
            )
        return value

    @field_validator("at", mode="before")
    @classmethod
    def _clock(cls, value):
        if value is None:
            return None
        if isinstance(value, int):
            # YAML 1.1 reads an unquoted 09:00 as sexagesimal 540; undo that.
            value = f"{value // 60:02d}:{value % 60:02d}"
        return _parse_clock(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value):
        if value is None:
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone '{value}'; use an IANA name such as"
                " America/New_York, Europe/Berlin or UTC"
            ) from None
        return value

    @field_validator("start", mode="before")
    @classmethod
    def _start_date(cls, value):
        if isinstance(value, datetime):
            return value.date()
        return value

    @field_validator("on", mode="before")
    @classmethod
    def _on(cls, value):
        if isinstance(value, str):
            return value.strip().lower()
        return value

    @model_validator(mode="after")
    def _fields_for_cadence(self):
        every = self.every
        if every == "once":
            if self.run_at is None:
                raise ValueError("every: once needs run_at:, e.g. run_at: 2026-12-01T08:00")
            if self.at is not None or self.on is not None or self.cron is not None or self.skip:
                raise ValueError(
                    "every: once runs at run_at: only; remove at:, on:, cron: and skip:"
                )
            if self.start is not None and self.start >= self.run_at.date():
                raise ValueError("start: must be a day before run_at:")
        elif self.run_at is not None:
            raise ValueError(
                f"run_at: is only used with every: once (this report is every: {every})"
            )
        if "holidays" in self.skip and not self.holiday_calendar:
            raise ValueError(
                "skip: [holidays] needs holiday_calendar:, a country code such as US, DE or GB"
            )
        if self.holiday_calendar and "holidays" not in self.skip:
            raise ValueError("holiday_calendar: is only used with skip: [holidays]")
        if every == "week" and "weekends" in self.skip and self.on in ("saturday", "sunday"):
            raise ValueError(f"on: {self.on} with skip: [weekends] would never run")
        if every == "cron":
            if not self.cron:
                raise ValueError('every: cron needs cron: with five fields, e.g. "0 9 * * 1-5"')
            if self.at is not None or self.on is not None:
                raise ValueError("every: cron takes its time from cron:; remove at: and on:")
            _check_cron(self.cron)
            if "weekends" in self.skip and _runs_only_at_weekends(self.cron):
                raise ValueError(
                    f'cron "{self.cron}" runs only at weekends;'
                    " with skip: [weekends] it would never run"
                )
        elif self.cron is not None:
            raise ValueError(f"cron: is only used with every: cron (this report is every: {every})")
        if every == "week":
            if self.on not in WEEKDAYS:
                raise ValueError(
                    f"every: week needs on: a weekday ({', '.join(WEEKDAYS)}), not {self.on!r}"
                )
        elif every in ("month", "quarter"):
            if self.on is None:
                object.__setattr__(self, "on", 1)
            if self.on != "last" and not (isinstance(self.on, int) and 1 <= self.on <= 31):
                raise ValueError(f'every: {every} needs on: a day 1..31 or "last", not {self.on!r}')
        elif every in ("hour", "day") and self.on is not None:
            raise ValueError(f"on: is not used with every: {every}; remove it")
        if every == "hour" and self.at is not None and self.at.hour != 0:
            raise ValueError('every: hour takes the minute past the hour as "00:MM" (e.g. "00:15")')
        return self

    @property
    def clock(self) -> time:
        return self.at or time(0, 0)


# The most days a month can have (February: 29, in leap years).
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_WORKDAYS = frozenset(range(1, 6))  # cron's day-of-week numbers, Sunday is 0


def _runs_only_at_weekends(expression: str) -> bool:
    """Whether a cron fires on some day, and only ever on Saturdays and Sundays.

    Exact, and decided on the cron's day fields rather than on a sample of its ticks. Over the
    400-year Gregorian cycle every date that exists (the 1st of a month, 29 February, a month's
    last day) falls on each of the seven weekdays. So a day-of-month that exists in one of the
    cron's months fires on weekdays too; a day-of-week (also "6#1" or "L6") fires on those
    weekdays only, in every month. Restricting both means either one (cron's OR), restricting
    one means that one. The hour and minute do not matter: a tick's local day is the day its
    fields name, daylight-saving shifts included (a missing 02:30 runs at 03:00 the same day).
    """
    from dagster._utils.schedules import CroniterShim

    (_, _, days, months, weekdays), *_ = CroniterShim.expand(expression)
    if weekdays[0] == "*" or _WORKDAYS.intersection(weekdays):
        return False
    if days[0] == "*":
        return True
    month_numbers = range(1, 13) if months[0] == "*" else months
    day_exists = "l" in days or any(
        isinstance(day, int) and day <= _MONTH_DAYS[month - 1]
        for day in days
        for month in month_numbers
    )
    # Both restricted: the weekend days-of-week, or any day-of-month that exists (weekdays too).
    return not day_exists


def _check_cron(expression: str) -> None:
    from dagster._utils.schedules import is_valid_cron_string

    if len(expression.split()) != 5 or not is_valid_cron_string(expression):
        raise ValueError(
            f"'{expression}' is not a valid 5-field cron expression"
            ' (minute hour day-of-month month day-of-week), e.g. "0 9 * * 1-5"'
        )


class _FormatOptions(_Strict):
    # Any format can be compressed after rendering; the file name gains .gz or .zip.
    compress: Literal["gzip", "zip"] | None = None


class CsvOptions(_FormatOptions):
    delimiter: str = Field(",", min_length=1, max_length=1)
    bom: bool = False  # a UTF-8 byte order mark, so Excel opens accents correctly
    quoting: Literal["needed", "all", "none"] = "needed"


class XlsxOptions(_FormatOptions):
    sheet_name: str = Field("Report", min_length=1, max_length=31)
    freeze_header: bool = True
    autofilter: bool = True

    @field_validator("sheet_name")
    @classmethod
    def _excel_name(cls, value: str):
        if re.search(r"[\[\]:*?/\\]", value):
            raise ValueError("an Excel sheet name cannot contain [ ] : * ? / \\")
        return value


class ChartOptions(_Strict):
    type: Literal["bar", "line"]
    x: str = Field(min_length=1)
    y: str = Field(min_length=1)


class DocumentOptions(_FormatOptions):
    """PDF and HTML: a Jinja2 HTML template (a default one ships) with an optional chart."""

    template: str | None = None  # a file next to the report
    chart: ChartOptions | None = None
    orientation: Literal["portrait", "landscape"] = "portrait"


class PdfOptions(DocumentOptions):
    pdf_max_rows: int = Field(5000, ge=0)


class HtmlOptions(DocumentOptions):
    max_rows: int = Field(5000, ge=0)


class JsonOptions(_FormatOptions):
    lines: bool = False  # JSON Lines (one object per line) instead of one array


class ParquetOptions(_FormatOptions):
    codec: Literal["snappy", "zstd", "gzip", "none"] = "zstd"


FORMAT_OPTIONS: dict[str, type[_FormatOptions]] = {
    "csv": CsvOptions,
    "xlsx": XlsxOptions,
    "pdf": PdfOptions,
    "html": HtmlOptions,
    "json": JsonOptions,
    "parquet": ParquetOptions,
}


class Checks(_Strict):
    min_rows: int | None = Field(None, ge=0)
    max_rows: int | None = Field(None, ge=0)


class EmailTarget(_Strict):
    connection: str | None = None
    to: list[EmailStr] = []
    cc: list[EmailStr] = []
    bcc: list[EmailStr] = []
    subject: str = "{{ title }}: {{ period.key }}"
    body: str | None = None
    body_template: str | None = None
    # auto: attach under policy.max_attachment_mb, else a download link; link: always a link
    attach: Literal["auto", "always", "link"] = "auto"
    # With format: html, the report itself is the e-mail's HTML body (attached or linked too).
    inline: bool = False

    @field_validator("to", "cc", "bcc", mode="before")
    @classmethod
    def _single_address(cls, value):
        return _as_list(value)

    @model_validator(mode="after")
    def _recipients(self):
        if not (self.to or self.cc or self.bcc):
            raise ValueError("an email target needs at least one recipient in to:, cc: or bcc:")
        if self.body is not None and self.body_template is not None:
            raise ValueError("use either body: or body_template:, not both")
        return self

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc, *self.bcc]


class SftpTarget(_Strict):
    connection: str
    path: str = "/{{ name }}/{{ name }}_{{ period.key }}.{{ ext }}"
    overwrite: bool = True


class S3Target(_Strict):
    connection: str
    key: str = "reports/{{ name }}/{{ period.key }}.{{ ext }}"
    content_type: str | None = None


class WebhookTarget(_Strict):
    connection: str
    send: Literal["json", "file"] = "json"  # a JSON description of the report, or the file


class SlackTarget(_Strict):
    connection: str
    channel: str = Field(min_length=2)
    text: str = "{{ title }}: {{ period.key }} ({{ rows }} rows)"
    attach: Literal["auto", "always", "link"] = "auto"


TARGET_MODELS: dict[str, type[_Strict]] = {
    "email": EmailTarget,
    "sftp": SftpTarget,
    "s3": S3Target,
    "webhook": WebhookTarget,
    "slack": SlackTarget,
}


class DeliveryTarget(_Strict):
    """One entry of ``deliver:``; exactly one channel key."""

    email: EmailTarget | None = None
    sftp: SftpTarget | None = None
    s3: S3Target | None = None
    webhook: WebhookTarget | None = None
    slack: SlackTarget | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_channel(cls, value):
        if isinstance(value, dict) and len(value) != 1:
            raise ValueError(
                "each deliver: entry has exactly one channel (email, sftp, s3, webhook or"
                " slack), e.g. - email: {to: [...]}"
            )
        return value

    @property
    def channel(self) -> str:
        return next(name for name in TARGET_MODELS if getattr(self, name) is not None)

    @property
    def settings(self):
        return getattr(self, self.channel)


class ReportSpec(_Strict):
    name: str
    title: str | None = None
    description: str = ""
    owner: EmailStr
    team: str | None = None
    enabled: bool = True
    tags: dict[str, str] = {}
    source: Source
    schedule: Schedule
    format: Literal["csv", "xlsx", "pdf", "html", "json", "parquet"]
    format_options: dict[str, Any] = {}
    send_if: Literal["always", "rows"] = "always"
    checks: Checks = Checks()
    deliver: list[DeliveryTarget] = Field(min_length=1)
    retry: RetryPolicySpec | None = None
    # Longest a run may take before Dagster stops it (default: the policy's max_runtime).
    max_runtime: timedelta | None = None

    @field_validator("max_runtime", mode="before")
    @classmethod
    def _runtime(cls, value):
        return None if value is None else parse_max_runtime(value)

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str):
        if not REPORT_NAME.match(value):
            suggestion = re.sub(r"[^a-z0-9_]+", "_", value.lower()).strip("_")
            if not suggestion or not suggestion[0].isalpha():
                suggestion = f"report_{suggestion}".rstrip("_")
            raise ValueError(
                f"'{value}' is not a valid report name: use lower case letters, digits and _,"
                f" starting with a letter, at most 63 characters (e.g. '{suggestion[:63]}')"
            )
        return value

    @field_validator("tags")
    @classmethod
    def _tag_keys(cls, value: dict):
        for key in value:
            if not re.match(r"^[A-Za-z0-9_.\-/]+$", key) or key.startswith("dagster"):
                raise ValueError(
                    f"tag key '{key}' must be letters, digits, _ . - / and not dagster*"
                )
        return value

    @property
    def display_title(self) -> str:
        return self.title or self.name.replace("_", " ").capitalize()

    @property
    def extension(self) -> str:
        """The stored file's extension, compression included (``csv.gz``, ``pdf.zip``)."""
        compress = self.format_options.get("compress")
        suffix = {"gzip": ".gz", "zip": ".zip"}.get(compress, "")
        return f"{self.format}{suffix}"

    @property
    def options(self) -> BaseModel:
        """``format_options`` checked against the options of ``format``."""
        return FORMAT_OPTIONS[self.format](**self.format_options)

    @property
    def timezone(self) -> str:
        """The zone the schedule runs in; the loader fills in the policy default."""
        return self.schedule.timezone or "UTC"
