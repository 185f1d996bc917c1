"""The policy's recipient limits applied to a report's ``notify.to``, as to e-mail targets:
notices carry a report's errors and figures, so they may reach only whom a target may."""

from reports_pipeline.spec.connections import Policy
from reports_pipeline.spec.errors import field_path
from reports_pipeline.spec.report import ReportSpec
from reports_pipeline.spec.yaml_source import Location, SpecError, YamlDocument


def check_notify_recipients(
    spec: ReportSpec, document: YamlDocument, policy: Policy
) -> list[SpecError]:
    """Errors for ``notify.to``: more people than ``policy.max_recipients`` (the owner
    counted), or a domain outside ``policy.allowed_recipient_domains``."""
    errors = []

    def error(location: Location, message: str) -> None:
        errors.append(
            SpecError(document.path, document.line_of(location), field_path(location), message)
        )

    told = spec.notice_recipients
    if len(told) > policy.max_recipients:
        error(
            ("notify", "to"),
            f"{len(told)} people told with the owner; the policy allows at most "
            f"{policy.max_recipients} recipients",
        )
    allowed = [domain.lower() for domain in policy.allowed_recipient_domains]
    if allowed:
        for index, address in enumerate(spec.notify.to):
            domain = str(address).rsplit("@", 1)[-1].lower()
            if domain not in allowed:
                error(
                    ("notify", "to", index),
                    f"{address}: domain {domain} is not allowed; allowed: "
                    f"{', '.join(policy.allowed_recipient_domains)}",
                )
    return errors
