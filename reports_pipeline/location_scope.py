"""What one code location holds when the reports are split over several (``folder_locations``).

A location of one folder builds that folder's reports and their sensors; the deployment-wide
jobs (pool limits, the owners' digest, retention) live in one operations location, so that they
run once. A report name must stay unique across folders although each location parses only its
own: the name lines of the other folders' files are scanned (``report_index``), and a name taken
there is refused here as a duplicate would be in one location, unless this file is the one
deployed under it.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from reports_pipeline.locations import display_path
from reports_pipeline.report_index import declared_names
from reports_pipeline.spec.loader import LoadedReport
from reports_pipeline.spec.yaml_source import SpecError


@dataclass(frozen=True)
class LocationScope:
    report_jobs: bool = True  # the reports' jobs, schedules, assets and their sensors
    operations: bool = True  # pool limits, digest and retention: once per deployment
    elsewhere: tuple[Path, ...] = ()  # files and folders of the other locations' reports

    def refused(
        self, reports: Sequence[LoadedReport], deployed_file: Callable[[str], str | None]
    ) -> list[tuple[LoadedReport, SpecError]]:
        """The reports of this location whose names a file of another location declares."""
        if not self.report_jobs or not self.elsewhere:
            return []
        taken = declared_names(list(self.elsewhere))
        refused = []
        for report in reports:
            others = taken.get(report.spec.name)
            if not others or deployed_file(report.spec.name) == report.shown_as:
                continue
            shown = ", ".join(display_path(path) for path in others)
            refused.append(
                (
                    report,
                    SpecError(
                        report.shown_as,
                        report.document.line_of(("name",)),
                        "name",
                        f"duplicate report name '{report.spec.name}' (also in {shown}, another"
                        " folder's code location); names must be unique across folders: rename"
                        " all but one (one that already ran under the name keeps it)",
                    ),
                )
            )
        return refused


WHOLE_DEPLOYMENT = LocationScope()
"""The only code location: every report and the deployment-wide jobs."""
