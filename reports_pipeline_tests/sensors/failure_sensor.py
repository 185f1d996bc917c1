"""Evaluate the failure-notice sensor on one failed run, as the daemon's tick would."""

from dagster import DagsterEventType, DagsterInstance, Definitions, build_run_status_sensor_context

from reports_pipeline.sensors.failure_notice import FAILURE_SENSOR_NAME


def evaluate_failure_sensor(defs: Definitions, instance: DagsterInstance, run_id: str) -> None:
    """Run ``defs``' failure-notice sensor on the failure of run ``run_id`` in ``instance``."""
    (failure,) = instance.all_logs(run_id, of_type=DagsterEventType.RUN_FAILURE)
    context = build_run_status_sensor_context(
        sensor_name=FAILURE_SENSOR_NAME,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(run_id),
        dagster_event=failure.dagster_event,
        repository_def=defs.get_repository_def(),
    ).for_run_failure()
    defs.resolve_sensor_def(FAILURE_SENSOR_NAME)(context)
