"""A visible marker in the Dagster UI for each report file that does not load.

Good reports keep loading when one file is broken; the broken file becomes a sensor whose
description and every tick show the validation errors, like a broken-DAG banner.
"""

import re

from dagster import DefaultSensorStatus, SensorDefinition, SkipReason, sensor

from reports_pipeline.spec.yaml_source import SpecError

# Hourly is enough: the message only changes when the file does, and a fix reloads the code.
_INTERVAL_SECONDS = 3600


def invalid_file_sensor_name(file: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", file).strip("_").lower()
    return f"invalid_report_file__{slug}"[:120]


def build_invalid_report_file_sensor(file: str, errors: list[SpecError]) -> SensorDefinition:
    message = "\n".join(str(error) for error in errors)

    @sensor(
        name=invalid_file_sensor_name(file),
        description=f"INVALID REPORT FILE — this file is not scheduled until fixed:\n{message}",
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=_INTERVAL_SECONDS,
    )
    def invalid_report_file(_context):
        return SkipReason(f"{file} does not load; fix it and reload the code location:\n{message}")

    return invalid_report_file
