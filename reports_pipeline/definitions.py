"""The wiring: report files and connections.yaml in, Dagster definitions out.

``defs`` is the code location's entry point. It is a repository whose contents are built on
first use: the webserver, the daemon and ``dagster definitions validate`` ask for every job,
schedule and sensor, and get the full load (every file validated, each invalid file a sensor);
a run worker asks for one job by name and builds only that report's job, so the cost of one
run does not grow with the number of reports (README, "Scale").
"""

import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from dagster import (
    Definitions,
    JobDefinition,
    RepositoryData,
    RepositoryDefinition,
    ResourceDefinition,
    ScheduleDefinition,
    SensorDefinition,
)

# Resource instances as the definitions Dagster binds; `Definitions` does the same to its own.
from dagster._core.execution.build_resources import wrap_resources_for_execution

from reports_pipeline import locations
from reports_pipeline.assets import report_asset_spec
from reports_pipeline.jobs.digest_job import build_digest_job, build_digest_schedule
from reports_pipeline.jobs.report_job import REPORT_FILE_TAG, build_report_job
from reports_pipeline.jobs.retention_job import (
    build_retention_job,
    build_retention_schedule,
    retention_configured,
)
from reports_pipeline.lateness_check import build_lateness_checks
from reports_pipeline.location_scope import WHOLE_DEPLOYMENT, LocationScope
from reports_pipeline.report_index import files_declaring
from reports_pipeline.resources.connections import build_resources
from reports_pipeline.scheduling.cadence import partitions_definition
from reports_pipeline.scheduling.report_schedule import build_report_schedule
from reports_pipeline.sensors.catch_up import build_catch_up_sensor
from reports_pipeline.sensors.failure_notice import build_failure_notice_sensor
from reports_pipeline.sensors.invalid_report_file import (
    build_invalid_report_file_sensor,
    invalid_file_sensor_names,
)
from reports_pipeline.sensors.late_notice import build_late_notice_sensor
from reports_pipeline.sensors.pool_limits import build_pool_limits_sensor
from reports_pipeline.sensors.success_notice import (
    build_success_notice_sensor,
    wants_success_notice,
)
from reports_pipeline.spec.loader import load_project
from reports_pipeline.spec.yaml_source import SpecError

# The name Dagster gives the repository of a `Definitions` object; runs and tests refer to it.
REPOSITORY_NAME = "__repository__"


def build_definitions(
    reports: list[Path] | None = None,
    connections_file: Path | None = None,
    scope: LocationScope | None = None,
) -> Definitions:
    """Definitions for every valid report; each invalid file becomes a sensor showing its errors.

    ``scope`` narrows them for one of several code locations (``folder_locations``); without
    it this location is the whole deployment.
    """
    scope = scope or WHOLE_DEPLOYMENT
    project = load_project(
        reports if reports is not None else [locations.reports_dir()],
        connections_file or locations.connections_path(),
        deployed_file=deployed_report_file,
    )
    jobs, schedules, reports, assets, asset_checks = [], [], [], [], []
    broken = project.errors_by_file()
    for report, error in scope.refused(project.reports, deployed_report_file):
        broken.setdefault(report.shown_as, []).append(error)
    refused = set(broken)
    resources = wrap_resources_for_execution(build_resources(project.connections))
    bound = with_fixed_config(resources)
    for report in project.reports if scope.report_jobs else []:
        if report.shown_as in refused:
            continue
        try:
            partitions_def = partitions_definition(report.spec.schedule)
            report_job = with_own_resources(
                build_report_job(report, project.connections, partitions_def), bound
            )
            asset = report_asset_spec(report.spec, partitions_def)  # the report's file archive
            schedules.append(build_report_schedule(report.spec, report_job))
        except Exception as exc:  # one unexpected failure must not hide every other report
            broken.setdefault(report.shown_as, []).append(
                SpecError(report.shown_as, 1, "", f"cannot build the Dagster job: {exc}")
            )
            continue
        jobs.append(report_job)
        assets.append(asset)
        reports.append((report.spec, report_job))
    if not scope.report_jobs:
        broken = {}  # shown by the locations of the reports
    sensor_names = invalid_file_sensor_names(broken)  # distinct even where slugs collide
    sensors = [
        build_invalid_report_file_sensor(f, errors, sensor_names[f]) for f, errors in broken.items()
    ]
    if any(job.partitions_def is not None for job in jobs):
        policy = project.connections.policy
        sensors.append(build_catch_up_sensor(reports, policy.max_catchup_periods))
    if jobs:
        sensors.append(build_failure_notice_sensor(reports, project.connections))
        sensors.append(build_late_notice_sensor(reports, project.connections))
        asset_checks.append(build_lateness_checks([spec for spec, _ in reports]))
        if any(wants_success_notice(spec) for spec, _ in reports):
            sensors.append(build_success_notice_sensor(reports, project.connections))
    # What concerns the whole deployment lives in one location: the operations location when
    # the reports are split over several, else the only one.
    if scope.operations:
        specs = (
            [spec for spec, _ in reports]
            if scope.report_jobs
            else [r.spec for r in project.reports if r.shown_as not in refused]
        )
        _add_operations(project.connections, specs, jobs, schedules, sensors)
    return Definitions(
        assets=assets,
        asset_checks=asset_checks,
        jobs=jobs,
        schedules=schedules,
        sensors=sensors,
        resources=resources,
    )


def _add_operations(connections, specs, jobs, schedules, sensors) -> None:
    """The pool limits sensor, the owners' digest and retention: each needs every report."""
    if specs:
        # Pool limits reach the instance from the daemon, never from loading the code.
        sensors.append(build_pool_limits_sensor(connections))
        # The owners' digest needs every report: it exists in the full load only, and a run of
        # it finds it there (no report file declares its name).
        digest = connections.policy.digest
        if digest is not None:
            digest_job = build_digest_job(specs, connections, digest)
            jobs.append(digest_job)
            schedules.append(build_digest_schedule(digest_job, digest, connections.policy.timezone))
    # Retention needs every report's retention_days: the full load only, like the digest.
    if retention_configured(specs, connections):
        retention_job = build_retention_job(specs, connections)
        jobs.append(retention_job)
        zone = connections.policy.timezone
        at = connections.policy.retention_at
        schedules.append(build_retention_schedule(retention_job, zone, at))


def with_fixed_config(
    resources: Mapping[str, ResourceDefinition],
) -> dict[str, ResourceDefinition]:
    """Each resource with its settings fixed, as a job binds it: no run config to offer.

    A resource's settings come from connections.yaml, so a report job has nothing to set in
    its run config. A bound resource's config schema is part of the job's snapshot, which the
    webserver and the daemon fetch for every report and every run stores: without it a report
    job's snapshot is a fifth smaller (README, "Scale"). The settings are the same (secrets
    still read from their environment variables when a run starts), and `Definitions` keeps the
    configurable resources on its Resources page.
    """
    return {key: _fixed(resource) for key, resource in resources.items()}


def _fixed(resource: ResourceDefinition) -> ResourceDefinition:
    field = resource.config_field
    if field is None or not field.default_provided:
        return resource  # nothing to fix: no settings, or none known here
    # The default is the resource's own settings, secrets as {"env": NAME}, never a value.
    return resource.configured(field.default_value)


def with_own_resources(
    job: JobDefinition, resources: Mapping[str, ResourceDefinition]
) -> JobDefinition:
    """``job`` bound to the resources its steps use, not to every connection.

    `Definitions` binds every top-level resource to each job that lacks one, and each bound
    resource's config schema becomes part of the job's snapshot: with a dozen connections that
    was three quarters of a report job's snapshot, which the webserver and the daemon fetch for
    every report (README, "Scale"). A job that still lacks a resource (one needing another
    resource) gets them all from `Definitions`, as before.
    """
    own = {key: resources[key] for key in job.required_resource_keys if key in resources}
    return job.with_top_level_resources({**job.resource_defs, **own})


def deployed_report_file(name: str) -> str | None:
    """The file whose report last ran under ``name`` (its runs' ``reports/file`` tag).

    Asked only when several files claim one name: the file already deployed keeps it, so a new
    file cannot stop a report that runs today. None without an instance (``DAGSTER_HOME`` with
    its dagster.yaml) or a run, and then no file gets the name.
    """
    home = os.environ.get("DAGSTER_HOME")
    if not home or not (Path(home) / "dagster.yaml").is_file():
        return None  # no deployment here (a test, `reports validate`): nothing is deployed
    from dagster import DagsterInstance, RunsFilter

    try:
        with DagsterInstance.get() as instance:
            runs = instance.get_runs(RunsFilter(job_name=name), limit=1)
    except Exception:  # no usable instance here: decide without it
        return None
    return runs[0].tags.get(REPORT_FILE_TAG) if runs else None


def build_one_job(name: str, report_file: Path, connections_file: Path) -> JobDefinition | None:
    """The job of the report ``name`` as the full load would build it, from its file alone.

    None when that file does not hold a valid report of that name: the caller then loads
    everything, so the answer (or the error) is the same as without this shortcut.
    """
    project = load_project([report_file], connections_file)
    if [report.spec.name for report in project.reports] != [name]:
        return None
    (report,) = project.reports
    resources = wrap_resources_for_execution(build_resources(project.connections))
    report_job = with_own_resources(
        build_report_job(report, project.connections, partitions_definition(report.spec.schedule)),
        with_fixed_config(resources),
    )
    # Bound to the top-level resources exactly as in the full load.
    single = Definitions(jobs=[report_job], resources=resources)
    return single.get_repository_def().get_job(name)


class ReportRepositoryData(RepositoryData):
    """Every report of a folder, loaded in full on first need, or one job at a time."""

    def __init__(
        self,
        reports: list[Path] | None = None,
        connections_file: Path | None = None,
        scope: LocationScope = WHOLE_DEPLOYMENT,
    ):
        self._reports = reports
        self._connections_file = connections_file
        self._scope = scope
        self._full: RepositoryData | None = None
        self._full_load_lock = threading.Lock()
        self._single_jobs: dict[str, JobDefinition] = {}
        self.files_loaded_for_single_jobs: list[Path] = []  # what a run worker parsed

    @property
    def full_load_done(self) -> bool:
        return self._full is not None

    def _paths(self) -> tuple[list[Path], Path]:
        return (
            self._reports if self._reports is not None else [locations.reports_dir()],
            self._connections_file or locations.connections_path(),
        )

    def full(self) -> RepositoryData:
        with self._full_load_lock:  # a code server answers requests on several threads
            return self._full_load()

    def _full_load(self) -> RepositoryData:
        if self._full is None:
            reports, connections_file = self._paths()
            definitions = build_definitions(reports, connections_file, self._scope)
            repository = definitions.get_repository_def()
            # The data of the repository Dagster builds from `Definitions` (resources bound to
            # every job, schedules and sensors validated); Dagster offers no public accessor.
            self._full = repository._repository_data
        return self._full

    def get_job(self, job_name: str) -> JobDefinition:
        if self._full is None and job_name not in self._single_jobs:
            built = self._build_single_job(job_name)
            if built is None:
                return self.full().get_job(job_name)
            self._single_jobs[job_name] = built
        if self._full is not None:
            return self._full.get_job(job_name)
        return self._single_jobs[job_name]

    def _build_single_job(self, job_name: str) -> JobDefinition | None:
        if not self._scope.report_jobs:
            return None  # the operations location's jobs need every report
        reports, connections_file = self._paths()
        candidates = files_declaring(job_name, reports)
        if len(candidates) != 1:
            return None  # unknown to the scan, or claimed twice: the full load decides
        self.files_loaded_for_single_jobs.append(candidates[0])
        try:
            return build_one_job(job_name, candidates[0], connections_file)
        except Exception:  # whatever failed, the full load reports it the usual way
            return None

    def has_job(self, job_name: str) -> bool:
        return job_name in self._single_jobs or self.full().has_job(job_name)

    # Everything else needs every report: the full load.
    def get_top_level_resources(self) -> Mapping[str, ResourceDefinition]:
        return self.full().get_top_level_resources()

    def get_env_vars_by_top_level_resource(self):
        return self.full().get_env_vars_by_top_level_resource()

    def get_all_jobs(self) -> Sequence[JobDefinition]:
        return self.full().get_all_jobs()

    def get_job_names(self) -> Sequence[str]:
        return self.full().get_job_names()

    def get_schedule_names(self) -> Sequence[str]:
        return self.full().get_schedule_names()

    def get_all_schedules(self) -> Sequence[ScheduleDefinition]:
        return self.full().get_all_schedules()

    def get_schedule(self, schedule_name: str) -> ScheduleDefinition:
        return self.full().get_schedule(schedule_name)

    def has_schedule(self, schedule_name: str) -> bool:
        return self.full().has_schedule(schedule_name)

    def get_all_sensors(self) -> Sequence[SensorDefinition]:
        return self.full().get_all_sensors()

    def get_sensor_names(self) -> Sequence[str]:
        return self.full().get_sensor_names()

    def get_sensor(self, sensor_name: str) -> SensorDefinition:
        return self.full().get_sensor(sensor_name)

    def has_sensor(self, sensor_name: str) -> bool:
        return self.full().has_sensor(sensor_name)

    def get_source_assets_by_key(self):
        return self.full().get_source_assets_by_key()

    def get_assets_defs_by_key(self):
        return self.full().get_assets_defs_by_key()

    def get_asset_checks_defs_by_key(self):
        return self.full().get_asset_checks_defs_by_key()

    def get_component_tree(self):
        return self.full().get_component_tree()

    def get_asset_job_nodes(self):
        return self.full().get_asset_job_nodes()

    def load_all_definitions(self):
        return self.full().load_all_definitions()


def lazy_repository(
    reports: list[Path] | None = None,
    connections_file: Path | None = None,
    scope: LocationScope = WHOLE_DEPLOYMENT,
) -> RepositoryDefinition:
    """The code location's repository; nothing is read until Dagster asks for something."""
    return RepositoryDefinition(
        REPOSITORY_NAME, repository_data=ReportRepositoryData(reports, connections_file, scope)
    )


defs = lazy_repository()
