"""The analyst's report file (REPORT_SPEC.md), as typed models. Field names are the contract."""

import re
import unicodedata
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from reports_pipeline.delivery.target_paths import template_problem
from reports_pipeline.spec.connections import (
    MAX_RUNTIME_LIMIT,
    RetryPolicySpec,
    parse_max_runtime,
)
from reports_pipeline.spec.durations import Duration, shown
from reports_pipeline.spec.mail_address import MailAddress
from reports_pipeline.spec.sql_parameters import check_no_quoted_parameters
from reports_pipeline.spec.values import WholeNumber

REPORT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CADENCES = ("hour", "day", "week", "month", "quarter", "cron")
FORMATS = ("csv", "xlsx", "pdf", "html", "json", "parquet")

# Dates the scheduler can represent: Dagster keeps times as Unix timestamps, and periods near
# the ends of Python's dates (0001-01-01, 9999-12-31) overflow when a period is rounded.
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2099, 12, 31)

PDF_MAX_ROWS_LIMIT = 20_000
"""Rows a PDF may show (about 30 s of layout as a listing); the summary still counts them all."""
HTML_MAX_ROWS_LIMIT = 100_000
"""Rows an HTML page may show: a page for people, not a data file (use csv or xlsx for that)."""
ROW_COUNT_LIMIT = 10**12
"""The largest row count a check may name."""
TITLE_MAX_CHARS = 200


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _one_line_problem(value: str) -> str | None:
    """Why ``value`` cannot be one header line (a subject), or None.

    Line breaks of every kind (``\\r``, ``\\n``, U+2028, NEL…) and other control characters
    end or corrupt an e-mail header: the send would fail on every attempt.
    """
    for char in value:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return (
                f"contains the control character U+{ord(char):04X}"
                f"{' (a line break)' if char in _LINE_BREAKS else ''}; it is used in e-mail"
                " subjects, which are one line: remove it"
            )
    return None


_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def _as_list(value: Any) -> Any:
    if value is None:
        return []
    return [value] if isinstance(value, str) else value


class Source(_Strict):
    connection: str | None = None
    sql: str | None = None
    # A Python report type (reports_pipeline.report_types) instead of sql; its name and params
    # are checked against the registry by spec.report_type_check, not here.
    report_type: str | None = None
    params: dict[str, Any] = {}
    timeout: Duration(at_most=MAX_RUNTIME_LIMIT) | None = None
    # A query over its timeout is usually too slow every time; a busy warehouse is the exception.
    retry_on_timeout: bool = False

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

    @field_validator("report_type")
    @classmethod
    def _type_name(cls, value):
        if value is not None and not value.strip():
            raise ValueError("the report type's name is empty; e.g. report_type: invoice_aging")
        return value

    @model_validator(mode="after")
    def _has_query(self):
        if self.sql and self.report_type:
            raise ValueError(
                "a source has either sql: or report_type:, not both; keep the one to run"
            )
        if self.report_type:
            return self
        if not self.sql:
            raise ValueError(
                "a source needs sql: (the query to run) or report_type: (a registered report type)"
            )
        check_no_quoted_parameters(self.sql, {*self.params, "period_start", "period_end"})
        return self


def _bare_number_at(value: int | float, every: str | None) -> str:
    """What to write instead of ``at: 9``: "HH:MM", with this cadence's likely meaning."""
    if every == "hour" and isinstance(value, int) and 0 <= value <= 59:
        example = f'"00:{value:02d}" for {value} minutes past the hour'
    elif isinstance(value, int) and 0 <= value <= 23:
        example = f'"{value:02d}:00" for {value} o\'clock'
    else:
        example = '"09:00"'
    return (
        f'{shown(value)} is a number, not a time of day; write the time as "HH:MM" in'
        f" quotes, e.g. {example}"
    )


def _check_representable(day: date, example: str) -> None:
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(
            f"{day.isoformat()} is outside the dates the scheduler can represent;"
            f" write a date from {EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()},"
            f" e.g. {example}"
        )


def _parse_clock(value: Any) -> time:
    text = str(value).strip()
    match = re.match(r"^(\d{1,2}):(\d{2})$", text)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f'{shown(value)} is not a time of day; write it as "HH:MM", e.g. "09:00"')
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
    def _clock(cls, value, info: ValidationInfo):
        if value is None or isinstance(value, time):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            # `at: 9` could be 09:00 or nine minutes past: ask rather than guess.
            raise ValueError(_bare_number_at(value, info.data.get("every")))
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

    @field_validator("start")
    @classmethod
    def _representable_start(cls, value: date | None):
        if value is not None:
            _check_representable(value, "2026-01-01")
        return value

    @field_validator("run_at")
    @classmethod
    def _representable_run_at(cls, value: datetime | None):
        if value is not None:
            _check_representable(value.date(), "2026-12-01T08:00")
        return value

    @field_validator("on", mode="before")
    @classmethod
    def _on(cls, value):
        if isinstance(value, str):
            return value.strip().lower()
        if isinstance(value, bool) or isinstance(value, float):
            raise ValueError(
                f"on: {shown(value)} is neither a weekday nor a day of the month; write a"
                ' weekday (monday) or a day 1..31 or "last"'
            )
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


MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _missing_days(expression: str) -> str | None:
    """Why a valid cron never fires, or None when it fires.

    Only the day of the month can make a cron that never fires: every hour and minute exists
    each day, and every weekday (even the 5th Monday of February, in some leap year) occurs
    in every month. A day of the month that none of the cron's months has (31 in April, 30
    in February) never comes, even when a weekday is also named: Dagster's cron iteration
    then searches for a tick that does not exist instead of taking the weekday alone.
    """
    from dagster._utils.schedules import CroniterShim

    (_, _, days, months, _), *_ = CroniterShim.expand(expression)
    if days[0] == "*" or "l" in days:
        return None
    month_numbers = range(1, 13) if months[0] == "*" else months
    if any(day <= _MONTH_DAYS[month - 1] for day in days for month in month_numbers):
        return None
    # Only named months get here: every day 1..31 exists in some month of the year.
    named = " and ".join(MONTH_NAMES[month - 1] for month in months)
    day_list = " or ".join(str(day) for day in days)
    return f"{named} {'has' if len(months) == 1 else 'have'} no day {day_list}"


def _check_cron(expression: str) -> None:
    from dagster._utils.schedules import is_valid_cron_string

    invalid = ValueError(
        f"'{expression}' is not a valid 5-field cron expression"
        ' (minute hour day-of-month month day-of-week), e.g. "0 9 * * 1-5"'
    )
    if len(expression.split()) != 5:
        raise invalid
    try:
        missing = _missing_days(expression)
    except Exception:  # croniter's own error for a field it cannot read
        raise invalid from None
    if missing:
        # Dagster calls some of these invalid (30 February) and iterates others forever
        # (31 April): either way, say what is wrong with the day.
        raise ValueError(
            f'cron "{expression}" never fires: {missing}; use a day that exists in its months'
            " (or L for the last day of the month)"
        )
    if not is_valid_cron_string(expression):
        raise invalid


class _FormatOptions(_Strict):
    # Any format can be compressed after rendering; the file name gains .gz or .zip.
    compress: Literal["gzip", "zip"] | None = None


class CsvOptions(_FormatOptions):
    delimiter: str = Field(",", min_length=1, max_length=1)
    bom: bool = False  # a UTF-8 byte order mark, so Excel opens accents correctly
    quoting: Literal["needed", "all", "none"] = "needed"
    # Text starting with = + - @ tab or CR gets a leading ' so a spreadsheet shows, not runs, it
    formula_escape: bool = True


class XlsxOptions(_FormatOptions):
    sheet_name: str = Field("Report", min_length=1, max_length=31)
    freeze_header: bool = True
    autofilter: bool = True
    # Text starting with = + - @ tab or CR is marked as text (quote prefix), even once edited
    formula_escape: bool = True

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
    pdf_max_rows: WholeNumber(0, PDF_MAX_ROWS_LIMIT) = 5000


class HtmlOptions(DocumentOptions):
    max_rows: WholeNumber(0, HTML_MAX_ROWS_LIMIT) = 5000


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
    min_rows: WholeNumber(0, ROW_COUNT_LIMIT) | None = None
    max_rows: WholeNumber(0, ROW_COUNT_LIMIT) | None = None

    @model_validator(mode="after")
    def _some_count_passes(self):
        if self.min_rows is not None and self.max_rows is not None:
            if self.min_rows > self.max_rows:
                raise ValueError(
                    f"min_rows {self.min_rows:,} is above max_rows {self.max_rows:,}:"
                    " no result could pass"
                )
        return self


class EmailTarget(_Strict):
    connection: str | None = None
    to: list[MailAddress] = []
    cc: list[MailAddress] = []
    bcc: list[MailAddress] = []
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

    @field_validator("subject")
    @classmethod
    def _one_line_subject(cls, value: str):
        problem = _one_line_problem(value)
        if problem:
            raise ValueError(f"the subject {problem}")
        return value

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


def _inside_target(template: str) -> str:
    problem = template_problem(template)
    if problem:
        raise ValueError(problem)
    return template


class SftpTarget(_Strict):
    connection: str
    path: str = "/{{ name }}/{{ name }}_{{ period.key }}.{{ ext }}"
    overwrite: bool = True

    _inside = field_validator("path")(lambda value: _inside_target(value))


class S3Target(_Strict):
    connection: str
    key: str = "reports/{{ name }}/{{ period.key }}.{{ ext }}"
    content_type: str | None = None

    _inside = field_validator("key")(lambda value: _inside_target(value))


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
        if isinstance(value, dict):
            ((channel, settings),) = value.items()
            if settings is None and channel in TARGET_MODELS:
                # `- email:` with nothing under it: say what is missing, at that entry.
                raise ValueError(
                    f"'{channel}:' has no settings; write them under it"
                    " (docs/REPORT_SPEC.md lists each channel's fields)"
                )
        return value

    @property
    def channel(self) -> str:
        return next(name for name in TARGET_MODELS if getattr(self, name) is not None)

    @property
    def settings(self):
        return getattr(self, self.channel)


class NotifySettings(_Strict):
    """Which notices a report's owner gets, and who else gets them (``notify:``)."""

    on: list[Literal["failure", "success", "late"]] = ["failure", "late"]
    to: list[MailAddress] = []  # told beside the owner; the policy's recipient limits apply

    @field_validator("on", "to", mode="before")
    @classmethod
    def _single_value(cls, value):
        return _as_list(value)

    @property
    def tells_on(self) -> frozenset[str]:
        return frozenset(self.on)


# Job names the deployment uses itself: a report of that name would collide with it.
RESERVED_NAMES = ("reports_digest", "reports_retention")


class ReportSpec(_Strict):
    name: str
    title: str | None = Field(None, max_length=TITLE_MAX_CHARS)
    description: str = ""
    owner: MailAddress
    team: str | None = None
    enabled: bool = True
    tags: dict[str, str] = {}
    source: Source
    schedule: Schedule
    format: Literal["csv", "xlsx", "pdf", "html", "json", "parquet"]
    format_options: dict[str, Any] = {}
    # changed: not sent when a target already got the same data for an earlier period.
    send_if: Literal["always", "rows", "changed"] = "always"
    checks: Checks = Checks()
    deliver: list[DeliveryTarget] = Field(min_length=1)
    retry: RetryPolicySpec | None = None
    # Longest a run may take before Dagster stops it (default: the policy's max_runtime).
    max_runtime: timedelta | None = None
    notify: NotifySettings = NotifySettings()
    # Days this report's stored files are kept (default: storage.retention_days; README,
    # "Retention"). Its newest file is always kept.
    retention_days: WholeNumber(1, 36_500) | None = None

    @field_validator("max_runtime", mode="before")
    @classmethod
    def _runtime(cls, value):
        return None if value is None else parse_max_runtime(value)

    @field_validator("title")
    @classmethod
    def _one_line_title(cls, value: str | None):
        problem = _one_line_problem(value) if value is not None else None
        if problem:
            raise ValueError(f"the title {problem}")
        return value

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str):
        if value in RESERVED_NAMES:
            raise ValueError(
                f"'{value}' is the name of a job of the deployment's own; give the report"
                " another name"
            )
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
    def notice_recipients(self) -> list[str]:
        """The owner, then ``notify.to``, each once (case-insensitive)."""
        seen: dict[str, str] = {}
        for address in [str(self.owner), *map(str, self.notify.to)]:
            seen.setdefault(address.lower(), address)
        return list(seen.values())

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
