"""Send a notice to a report's owner: e-mail through ``policy.notify``'s mail connection, and a
Slack post where ``slack_connection``/``slack_channel`` are set. Failure, late and success
notices go the same way, to the owner and the report's ``notify.to``; the digest by e-mail."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from dagster import DagsterLogManager, DagsterRun

from reports_pipeline.jobs.report_job import REPORT_TAG
from reports_pipeline.redaction import Redactor
from reports_pipeline.resources.connections import connection_resource
from reports_pipeline.secret_values import secrets_in_scope
from reports_pipeline.spec.connections import ConnectionsFile
from reports_pipeline.spec.report import ReportSpec


@contextmanager
def scrubbed_errors(redactor: Redactor, doing: str) -> Iterator[None]:
    """A failed notice fails the sensor's tick, whose error Dagster stores: scrubbed text only."""
    try:
        yield
    except Exception as exc:
        raise RuntimeError(redactor.text(f"{doing} failed: {exc}")) from None


def report_of_run(specs: Mapping[str, ReportSpec], run: DagsterRun) -> ReportSpec | None:
    """The report ``run`` is a run of, among ``specs`` (by name); None for another job, or
    another code location's job of the same name (it lacks the report tag)."""
    spec = specs.get(run.job_name)
    if spec is None or run.tags.get(REPORT_TAG) != run.job_name:
        return None
    return spec


class OwnerNotices:
    """The notify policy's channels, built once per sensor."""

    def __init__(self, connections: ConnectionsFile):
        self._notify = connections.policy.notify
        self._mail = connections.connections[
            connections.mail_connection_for(self._notify.connection)
        ]
        slack = self._notify.slack_connection
        self._slack = connections.connections.get(slack) if slack else None
        self._all = connections.connections

    @property
    def ui_base_url(self) -> str:
        return self._notify.ui_base_url.rstrip("/")

    def redactor(self) -> Redactor:
        return Redactor(secrets_in_scope(self._all.values()))

    def send(
        self,
        people: str | list[str],
        subject: str,
        text: str,
        what: str,
        *,
        html: str | None = None,
        slack: bool = True,
    ) -> None:
        """E-mail ``people`` (the owner first; one message to all) and post to Slack unless
        ``slack`` is false; ``what`` names the notice in an error."""
        redactor = self.redactor()
        # Built here rather than bound as resources: a sensor has no resource keys of its own,
        # and EnvVar fields resolve from this process's environment like a run's.
        with scrubbed_errors(redactor, f"e-mailing the {what}"):
            mailer = connection_resource(self._mail).process_config_and_initialize()
            mailer.notify(people, subject, text, html)
        if slack and self._slack is not None and self._notify.slack_channel:
            with scrubbed_errors(redactor, f"posting the {what} to Slack"):
                poster = connection_resource(self._slack).process_config_and_initialize()
                poster.notify(self._notify.slack_channel, f"{subject}\n{text}")

    def tell(
        self,
        spec: ReportSpec,
        subject: str,
        text: str,
        what: str,
        log: DagsterLogManager,
        news: str,
        *,
        slack: bool = True,
    ) -> None:
        """Send ``spec``'s notice to its recipients (:meth:`send`) and log that they were told
        ``news``."""
        self.send(spec.notice_recipients, subject, text, what, slack=slack)
        log.info(f"told {', '.join(spec.notice_recipients)} that {news}")
