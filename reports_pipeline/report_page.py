"""What the UI's job page says about a report: the whole report file, read back in Markdown.

The job's description (Dagster renders it as Markdown beside the job's graph) carries the SQL
as a code block, its parameters, the cadence in words, the format and its options, and every
target; the job's metadata repeats the short facts as plain text. Never a secret: passwords and
tokens stay in the environment, and a webhook's URL shows only its host (its path may hold a
token). Built for every report at load, so it only formats strings (no I/O, no heavy imports).
"""

import json
import re
from typing import Any
from urllib.parse import urlsplit

from dagster import MetadataValue

from reports_pipeline.scheduling.cadence_words import cadence_words
from reports_pipeline.spec.connections import DEMO_WAREHOUSE, ConnectionsFile
from reports_pipeline.spec.durations import format_duration
from reports_pipeline.spec.loader import LoadedReport
from reports_pipeline.spec.report import DeliveryTarget
from reports_pipeline.spec.values import EnvRef


def preview_command(name: str) -> str:
    return f"reports preview {name}"


def report_page(report: LoadedReport, connections: ConnectionsFile) -> str:
    """The job page's Markdown for one report."""
    spec = report.spec
    owner = f"{spec.owner}" + (f" · team {_code(spec.team)}" if spec.team else "")
    lines = [
        f"**{_text(spec.display_title)}**",
        "",
        *([spec.description.strip(), ""] if spec.description.strip() else []),
        f"- **Runs** {cadence_words(spec.schedule, spec.timezone)}"
        + ("" if spec.enabled else " — **disabled** (enabled: false)"),
        f"- **Next runs** {_code(preview_command(spec.name))} lists them",
        f"- **Owner** {owner}",
        f"- **Report file** {_code(report.shown_as)}",
        "",
        *_source_lines(spec.source),
        "",
        f"**Format** {_code(spec.format)}",
        *[f"- {key}: {_code(_value(value))}" for key, value in _options(spec).items()],
        "",
        "**Delivers to**",
        *[
            f"{index}. {target_words(target, connections)}"
            for index, target in enumerate(spec.deliver, start=1)
        ],
    ]
    return "\n".join(lines)


def _source_lines(source) -> list[str]:
    """The query as an SQL block with its parameters, or the report type and its parameters."""
    on = f" on connection {_code(source.connection or DEMO_WAREHOUSE)}"
    timeout = f", timeout {format_duration(source.timeout)}" if source.timeout else ""
    report_type = getattr(source, "report_type", None)
    # A query names its parameters :name; a report type takes them as keyword arguments.
    mark = "" if report_type else ":"
    params = [
        f"- {_code(mark + key)} = {_code(_value(value))}" for key, value in source.params.items()
    ]
    if report_type:
        heading = f"**Report type** {_code(report_type)}{on}{timeout}"
        return [heading, *(["", "**Parameters**", *params] if params else [])]
    return [
        f"**Query**{on}{timeout}",
        "",
        _code_block(source.sql.strip(), "sql"),
        "",
        "**Parameters**",
        *params,
        f"- {_code(':period_start')}, {_code(':period_end')}: the run's period",
    ]


def report_job_metadata(report: LoadedReport, connections: ConnectionsFile) -> dict[str, Any]:
    """The short facts as plain text: the job page's metadata table shows them as they are."""
    spec = report.spec
    metadata: dict[str, Any] = {
        "report file": report.shown_as,
        "owner": str(spec.owner),
    }
    if spec.team:
        metadata["team"] = spec.team
    metadata["cadence"] = cadence_words(spec.schedule, spec.timezone)
    metadata["next runs"] = MetadataValue.text(preview_command(spec.name))
    metadata["format"] = spec.format
    metadata["delivers to"] = MetadataValue.text(
        # One line in the UI's metadata table, which folds line breaks.
        " · ".join(target_words(t, connections, markdown=False) for t in spec.deliver)
    )
    return metadata


def target_words(
    target: DeliveryTarget, connections: ConnectionsFile, markdown: bool = True
) -> str:
    """One target in words: who or where it reaches, and through which connection."""
    settings = target.settings
    channel = f"**{target.channel}**" if markdown else target.channel
    code = _code if markdown else str
    if target.channel == "email":
        parts = [
            f"{field} {', '.join(map(str, getattr(settings, field)))}"
            for field in ("to", "cc", "bcc")
            if getattr(settings, field)
        ]
        via = connections.mail_connection_for(settings.connection)
        return f"{channel} {'; '.join(parts)} (connection {code(via)})"
    connection = connections.connections.get(settings.connection)
    via = f"connection {code(settings.connection)}"
    if target.channel == "sftp":
        host = _setting(getattr(connection, "host", None), code)
        return f"{channel} {code(settings.path)} on {host} ({via})"
    if target.channel == "s3":
        bucket = getattr(connection, "bucket", "?")
        return f"{channel} {code(f's3://{bucket}/{settings.key}')} ({via})"
    if target.channel == "webhook":
        url = getattr(connection, "url", None)
        return f"{channel} {settings.send} to host {_host(url, code)} ({via})"
    return f"{channel} channel {code(settings.channel)} ({via})"


def _options(spec) -> dict[str, Any]:
    """The format's options in effect: the file's own and the defaults, unset ones left out."""
    return {
        key: value
        for key, value in spec.options.model_dump(mode="json").items()
        if value is not None
    }


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"  # as YAML writes it
    return json.dumps(value, default=str, ensure_ascii=False)


def _setting(value, code) -> str:
    if isinstance(value, EnvRef):
        return f"the host in ${value.env}"
    return code(str(value)) if value else "?"


def _host(url, code) -> str:
    # Only the host: a webhook's path or query often is its credential (hooks.slack.com/...).
    if isinstance(url, EnvRef):
        return f"in ${url.env}"
    host = urlsplit(str(url or "")).hostname
    return code(host) if host else "?"


def _text(value: str) -> str:
    """Plain text inside Markdown: characters that would start formatting are escaped."""
    return re.sub(r"([\\`*_{}\[\]<>#|])", r"\\\1", value)


def _code(value: str) -> str:
    """Inline code that holds any text: the fence is longer than any run of backticks in it."""
    value = str(value).replace("\n", " ")
    if "`" not in value:  # nearly always: no search needed
        return f"`{value}`"
    fence = "`" * (_longest_backtick_run(value) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _code_block(text: str, language: str) -> str:
    fence = "`" * max(3, _longest_backtick_run(text) + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)
