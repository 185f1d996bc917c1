"""Load report files and ``connections.yaml``: parse, validate, cross-check.

Dagster is used only for its cron iterator (policy and conflict checks), imported when needed.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, ValidationError

from reports_pipeline.locations import display_path
from reports_pipeline.spec.conflicts import owner_limit_errors, schedule_conflicts
from reports_pipeline.spec.connections import (
    CONNECTION_KINDS,
    CONNECTION_NAME,
    DEMO_WAREHOUSE,
    MAIL_KINDS,
    SQL_KINDS,
    STORAGE_KINDS,
    TARGET_KINDS,
    ConnectionsFile,
    Policy,
)
from reports_pipeline.spec.errors import field_path, validation_errors
from reports_pipeline.spec.mail_address import address_context
from reports_pipeline.spec.notify_recipients import check_notify_recipients
from reports_pipeline.spec.policy import check_min_interval
from reports_pipeline.spec.relative_paths import anchored_connections
from reports_pipeline.spec.report import FORMAT_OPTIONS, ReportSpec
from reports_pipeline.spec.report_type_check import report_type_errors, source_connection_kinds
from reports_pipeline.spec.yaml_source import (
    MAX_FILE_BYTES,
    Location,
    SpecError,
    SpecFileError,
    YamlDocument,
    read_yaml_file,
)
from reports_pipeline.templating import (
    PeriodContext,
    TemplateRenderError,
    render_template,
    template_context,
)

REPORT_SUFFIXES = (".yaml", ".yml")


@dataclass
class LoadedReport:
    """A valid report and the file it came from."""

    spec: ReportSpec
    path: Path
    document: YamlDocument

    @property
    def shown_as(self) -> str:
        return self.document.path


@dataclass
class ReportProject:
    """Everything loaded from one reports folder: good reports, and problems per file."""

    reports: list[LoadedReport]
    connections: ConnectionsFile
    errors: list[SpecError] = field(default_factory=list)
    warnings: list[SpecError] = field(default_factory=list)

    def errors_by_file(self) -> dict[str, list[SpecError]]:
        grouped: dict[str, list[SpecError]] = {}
        for error in self.errors:
            grouped.setdefault(error.file, []).append(error)
        return grouped

    def report(self, name: str) -> LoadedReport:
        for loaded in self.reports:
            if loaded.spec.name == name:
                return loaded
        known = ", ".join(sorted(r.spec.name for r in self.reports)) or "none"
        raise KeyError(f"no valid report named '{name}' (valid reports: {known})")


def find_report_files(paths: list[Path]) -> list[Path]:
    """Report files under ``paths`` (files, or folders searched recursively), in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix in REPORT_SUFFIXES and p.is_file())
            )
        else:
            found.append(path)
    return found


def load_connections(path: Path | None) -> tuple[ConnectionsFile, list[SpecError]]:
    """Read ``connections.yaml``; a missing file means the embedded defaults."""
    if path is None or not path.exists():
        return ConnectionsFile().with_builtins(), []
    try:
        document = read_yaml_file(path, display_path(path))
    except SpecFileError as exc:
        return ConnectionsFile().with_builtins(), exc.errors
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        return ConnectionsFile().with_builtins(), [
            SpecError(
                document.path, 1, "", "expected a mapping with connections:, storage:, policy:"
            )
        ]
    errors: list[SpecError] = []
    raw_connections = data.get("connections") or {}
    # A connection's from: may use an intranet domain the policy lists (spec/mail_address.py).
    raw_policy = data.get("policy")
    listed = raw_policy.get("allowed_recipient_domains") if isinstance(raw_policy, dict) else None
    context = address_context(listed if isinstance(listed, list) else None)
    parsed: dict[str, BaseModel] = {}
    if not isinstance(raw_connections, dict):
        errors.append(
            SpecError(
                document.path,
                document.line_of(("connections",)),
                "connections",
                "expected a mapping of connection name to settings",
            )
        )
        raw_connections = {}
    for name, settings in raw_connections.items():
        location: Location = ("connections", str(name))
        if not CONNECTION_NAME.match(str(name)):
            errors.append(
                SpecError(
                    document.path,
                    document.line_of(location),
                    field_path(location),
                    f"connection name '{name}' must be lower case letters, digits and _,"
                    " starting with a letter (it becomes a Dagster resource key)",
                )
            )
            continue
        kind = settings.get("kind") if isinstance(settings, dict) else None
        model = CONNECTION_KINDS.get(kind)
        if model is None:
            errors.append(
                SpecError(
                    document.path,
                    document.line_of(location + ("kind",)),
                    field_path(location + ("kind",)),
                    f"unknown connection kind {kind!r}; use one of {', '.join(CONNECTION_KINDS)}",
                )
            )
            continue
        try:
            parsed[str(name)] = model.model_validate(settings, context=context)
        except ValidationError as exc:
            errors.extend(validation_errors(exc, document, model, prefix=location))
    data, storage_errors = _storage_by_kind(data, document)
    errors.extend(storage_errors)
    try:
        connections = ConnectionsFile.model_validate({**data, "connections": {}})
    except ValidationError as exc:
        errors.extend(validation_errors(exc, document, ConnectionsFile))
        connections = ConnectionsFile()
    if errors:
        # A broken deployment file must not half-apply: fall back to the embedded defaults
        # and report the file, so that reports naming its connections fail visibly.
        return ConnectionsFile().with_builtins(), errors
    named = connections.model_copy(update={"connections": parsed})
    # Relative paths mean beside this file, wherever the command runs (spec/relative_paths.py).
    return anchored_connections(named.with_builtins(), path.parent), []


def _storage_by_kind(data: dict, document: YamlDocument) -> tuple[dict, list[SpecError]]:
    """Validate ``storage`` against the model of its ``kind`` (like connections), so errors
    point at ``storage.<field>``; a broken section is left out of ``data``."""
    raw = data.get("storage")
    if not isinstance(raw, dict):
        return data, []
    kind = raw.get("kind", "local")
    model = STORAGE_KINDS.get(kind)
    if model is None:
        location: Location = ("storage", "kind")
        problem = f"unknown storage kind {kind!r}; use one of {', '.join(STORAGE_KINDS)}"
        errors = [SpecError(document.path, document.line_of(location), "storage.kind", problem)]
    else:
        try:
            return {**data, "storage": model.model_validate(raw)}, []
        except ValidationError as exc:
            errors = validation_errors(exc, document, model, prefix=("storage",))
    return {key: value for key, value in data.items() if key != "storage"}, errors


def parse_report(document: YamlDocument, policy: Policy | None = None) -> ReportSpec:
    """Validate one parsed report file; raise :class:`SpecFileError` with every problem found.

    ``policy``'s allowed_recipient_domains may list intranet domains (``corp.local``) that
    addresses may use although email-validator calls them special-use (spec/mail_address.py).
    """
    data = document.data
    if not isinstance(data, dict):
        raise SpecFileError(
            [SpecError(document.path, 1, "", "a report file is a YAML mapping starting with name:")]
        )
    try:
        context = address_context(policy.allowed_recipient_domains if policy else None)
        spec = ReportSpec.model_validate(data, context=context)
    except ValidationError as exc:
        raise SpecFileError(validation_errors(exc, document, ReportSpec)) from None
    options_model = FORMAT_OPTIONS[spec.format]
    try:
        options_model.model_validate(spec.format_options)
    except ValidationError as exc:
        raise SpecFileError(
            validation_errors(exc, document, options_model, prefix=("format_options",))
        ) from None
    type_errors = report_type_errors(spec, document)
    if type_errors:
        raise SpecFileError(type_errors)
    return spec


def _sample_context(spec: ReportSpec) -> dict:
    now = datetime(2026, 1, 5, tzinfo=timezone.utc)
    return template_context(
        name=spec.name,
        title=spec.display_title,
        owner=str(spec.owner),
        period=PeriodContext(start=now, end=now, key="2026-01-05"),
        rows=0,
        ext=spec.extension,
        format=spec.format,
        run_id="00000000-0000-0000-0000-000000000000",
        params=spec.source.params,
    )


_TEMPLATE_HELP = (
    "templates may use name, title, owner, period.start, period.end, period.key, rows, ext,"
    " format, run_id, params"
)
_TEMPLATE_FIELDS = {"sftp": ("path",), "s3": ("key",), "webhook": (), "slack": ("text",)}


def _can_link(spec: ReportSpec, connections: ConnectionsFile) -> bool:
    """Whether a large file can be sent as a download link instead of an attachment."""
    storage = connections.storage
    return (
        bool(storage.public_base_url)
        or storage.kind == "s3"
        or any(target.channel == "s3" for target in spec.deliver)
    )


def check_report(
    spec: ReportSpec, document: YamlDocument, path: Path, connections: ConnectionsFile
) -> list[SpecError]:
    """Checks that need more than the file itself: connections, policy, templates."""
    errors: list[SpecError] = []

    def error(location: Location, message: str) -> None:
        errors.append(
            SpecError(document.path, document.line_of(location), field_path(location), message)
        )

    def check_connection(location: Location, name: str, kinds: tuple[str, ...], what: str) -> None:
        settings = connections.connections.get(name)
        if settings is None:
            known = [n for n, c in connections.connections.items() if c.kind in kinds]
            error(
                location,
                f"unknown connection '{name}'; {what} connections in connections.yaml: "
                f"{', '.join(sorted(known)) or 'none'}",
            )
        elif settings.kind not in kinds:
            error(
                location,
                f"connection '{name}' is kind {settings.kind}; {what} needs kind "
                f"{' or '.join(kinds)}",
            )
        elif spec.team and spec.team in connections.policy.teams:
            allowed = connections.policy.teams[spec.team].connections
            if allowed is not None and name not in allowed and name != DEMO_WAREHOUSE:
                error(
                    location,
                    f"team '{spec.team}' may use only {', '.join(allowed)}; "
                    f"ask for '{name}' to be added in connections.yaml policy.teams",
                )

    check_connection(
        ("source", "connection"),
        spec.source.connection or DEMO_WAREHOUSE,
        source_connection_kinds(spec, SQL_KINDS),
        f"report type {spec.source.report_type}" if spec.source.report_type else "a source",
    )
    policy = connections.policy
    errors.extend(check_min_interval(spec, document, policy))
    errors.extend(check_notify_recipients(spec, document, policy))
    sample = _sample_context(spec)
    template = spec.format_options.get("template")
    if template:
        template_path = (path.parent / template).resolve()
        where = ("format_options", "template")
        if path.parent.resolve() not in template_path.parents:
            error(where, "the template must be a file inside the report's folder")
        elif not template_path.is_file():
            error(where, f"no file '{template}' next to this report")
    for index, target in enumerate(spec.deliver):
        base: Location = ("deliver", index, target.channel)
        settings = target.settings
        if target.channel != "email":
            check_connection(
                base + ("connection",),
                settings.connection,
                TARGET_KINDS[target.channel],
                f"a {target.channel} target",
            )
            for key in _TEMPLATE_FIELDS[target.channel]:
                try:
                    render_template(getattr(settings, key), sample)
                except TemplateRenderError as exc:
                    error(base + (key,), f"template error: {exc}; {_TEMPLATE_HELP}")
            continue
        email = settings
        check_connection(
            base + ("connection",),
            connections.mail_connection_for(email.connection),
            MAIL_KINDS,
            "e-mail",
        )
        if len(email.recipients) > policy.max_recipients:
            error(
                base + ("to",),
                f"{len(email.recipients)} recipients; the policy allows at most "
                f"{policy.max_recipients} per target",
            )
        if policy.allowed_recipient_domains:
            for key in ("to", "cc", "bcc"):
                for i, address in enumerate(getattr(email, key)):
                    domain = address.rsplit("@", 1)[-1].lower()
                    if domain not in [d.lower() for d in policy.allowed_recipient_domains]:
                        error(
                            base + (key, i),
                            f"{address}: domain {domain} is not allowed; allowed: "
                            f"{', '.join(policy.allowed_recipient_domains)}",
                        )
        if email.inline and spec.format != "html":
            error(
                base + ("inline",),
                "inline: true puts an html report in the e-mail body;"
                f" this report is format: {spec.format}",
            )
        if email.attach == "link" and not _can_link(spec, connections):
            error(
                base + ("attach",),
                "attach: link needs somewhere to download from: set storage.public_base_url"
                " in connections.yaml, store files in S3 (storage: {kind: s3}), or also"
                " deliver the report to an s3 target",
            )
        templates: list[tuple[str, str]] = [("subject", email.subject)]
        if email.body is not None:
            templates.append(("body", email.body))
        if email.body_template is not None:
            template_path = (path.parent / email.body_template).resolve()
            root = path.parent.resolve()
            if root not in template_path.parents:
                error(
                    base + ("body_template",),
                    "body_template must be a file inside the report's folder",
                )
            elif not template_path.is_file():
                error(
                    base + ("body_template",),
                    f"no file '{email.body_template}' next to this report",
                )
            else:
                try:
                    templates.append(("body_template", _read_template(template_path)))
                except ValueError as exc:
                    error(base + ("body_template",), str(exc))
        for key, source in templates:
            try:
                render_template(source, sample)
            except TemplateRenderError as exc:
                error(
                    base + (key,),
                    f"template error: {exc}; {_TEMPLATE_HELP}",
                )
    return errors


def _read_template(path: Path) -> str:
    """A template's text; ValueError saying why when it is too large or not UTF-8."""
    with path.open("rb") as file:
        raw = file.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise ValueError(f"the template is larger than {MAX_FILE_BYTES:,} bytes (1 MB)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the template is not UTF-8 text; save it as UTF-8") from None


def with_policy_defaults(spec: ReportSpec, connections: ConnectionsFile) -> ReportSpec:
    """Fill in what the deployment decides when the report does not: time zone, retry policy."""
    schedule = spec.schedule
    if schedule.timezone is None:
        schedule = schedule.model_copy(update={"timezone": connections.policy.timezone})
    return spec.model_copy(
        update={"schedule": schedule, "retry": spec.retry or connections.policy.retry}
    )


def load_project(
    paths: list[Path],
    connections_file: Path | None,
    deployed_file: Callable[[str], str | None] | None = None,
) -> ReportProject:
    """Load every report under ``paths``; bad files are reported, good ones are kept.

    Checks across reports come last: names claimed by several files (errors in each of them,
    except the file ``deployed_file(name)`` names, which keeps a name it already runs under),
    owners over their limit (errors), then copies and crowded minutes among the reports still
    valid (warnings).
    """
    connections, errors = load_connections(connections_file)
    project = ReportProject(reports=[], connections=connections, errors=list(errors))
    parsed: list[LoadedReport] = []  # every report that parsed, valid or not: owners own them
    for path in find_report_files(paths):
        loaded, problems = _load_report_file(path, connections)
        project.errors.extend(problems)
        if loaded is None:
            continue
        parsed.append(loaded)
        if not problems:
            project.reports.append(loaded)
    _check_across_reports(project, parsed, deployed_file)
    return project


def _load_report_file(
    path: Path, connections: ConnectionsFile
) -> tuple[LoadedReport | None, list[SpecError]]:
    """One file's report (None if it does not parse) and its problems; never raises, so that
    whatever a file holds, the other files still load."""
    shown_as = display_path(path)
    try:
        document = read_yaml_file(path, shown_as)
        spec = parse_report(document, connections.policy)
        problems = check_report(spec, document, path, connections)
        return LoadedReport(
            spec=with_policy_defaults(spec, connections), path=path, document=document
        ), problems
    except SpecFileError as exc:
        return None, exc.errors
    except Exception as exc:  # a loader bug must cost one file, not the location
        # Only the exception's type: its text may quote any value of the file.
        return None, [
            SpecError(
                shown_as,
                1,
                "",
                f"this file could not be checked (an unexpected {type(exc).__name__} in the"
                " loader); please report it with the file",
            )
        ]


def duplicate_name_errors(
    reports: list[LoadedReport], deployed_file: Callable[[str], str | None] | None = None
) -> list[SpecError]:
    """An error in each file of a name that several files claim.

    No file wins by file order: that would let a new file silently replace a report that runs
    today (or a renamed folder swap two reports). The one exception is the file that
    ``deployed_file(name)`` says is deployed under the name (its report ran under it): it keeps
    running, and only the newcomers are refused.
    """
    by_name: dict[str, list[LoadedReport]] = {}
    for loaded in reports:
        by_name.setdefault(loaded.spec.name, []).append(loaded)
    errors = []
    for name, claimants in by_name.items():
        if len(claimants) < 2:
            continue
        deployed = deployed_file(name) if deployed_file else None
        keeper = next((c for c in claimants if c.shown_as == deployed), None)
        for loaded in claimants:
            if loaded is keeper:
                continue
            others = ", ".join(other.shown_as for other in claimants if other is not loaded)
            if keeper is not None:
                message = (
                    f"report name '{name}' is already deployed from {keeper.shown_as}, which"
                    " keeps it; give this report a name of its own"
                )
            else:
                message = (
                    f"duplicate report name '{name}' (also in {others}); names must be unique:"
                    " none of these files is scheduled until all but one are renamed (where one"
                    " of them already ran under the name, that one keeps it)"
                )
            errors.append(
                SpecError(loaded.shown_as, loaded.document.line_of(("name",)), "name", message)
            )
    return errors


def _check_across_reports(
    project: ReportProject,
    parsed: list[LoadedReport],
    deployed_file: Callable[[str], str | None] | None,
) -> None:
    """Add the errors and warnings that need every report; drop reports that fail them."""
    duplicates = duplicate_name_errors(parsed, deployed_file)
    over_limit = owner_limit_errors(parsed, project.connections.policy)
    project.errors.extend(duplicates + over_limit)
    rejected = {error.file for error in duplicates + over_limit}
    project.reports = [r for r in project.reports if r.shown_as not in rejected]
    project.warnings.extend(schedule_conflicts(project.reports, project.connections))
