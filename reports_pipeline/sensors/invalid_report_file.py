"""A visible marker in the Dagster UI for each report file that does not load.

Good reports keep loading when one file is broken; the broken file becomes a sensor whose
description shows the validation errors and whose every tick fails with them, like a broken-DAG
banner: a failed tick is red in the UI's automation overview, where a skipped one would pass for
a healthy sensor with nothing to do.
"""

import hashlib
import re
from collections import Counter
from collections.abc import Iterable

from dagster import DefaultSensorStatus, SensorDefinition, sensor

from reports_pipeline.spec.yaml_source import SpecError

# Hourly is enough: the message only changes when the file does, and a fix reloads the code.
_INTERVAL_SECONDS = 3600
_PREFIX = "invalid_report_file__"
_MAX_NAME = 120
_MAX_ERRORS_SHOWN = 50  # a file can hold thousands of mistakes; `reports validate` lists them all


class InvalidReportFile(Exception):
    """A report file that does not load; the message is its errors, one per line."""


def _slug(file: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", file).strip("_").lower()


def invalid_file_sensor_names(files: Iterable[str]) -> dict[str, str]:
    """A distinct sensor name for each file, readable where the file's own name allows.

    Dagster names keep only letters, digits and ``_``, so ``finance/daily.yaml``,
    ``finance_daily.yaml`` and ``Finance_Daily.yaml`` share a slug; those (and slugs cut to fit)
    get a hash of the exact path, so that every broken file is shown under a name of its own.
    """
    slugs = {file: _slug(file) for file in files}
    shared = Counter(slugs.values())
    names = {}
    room = _MAX_NAME - len(_PREFIX)
    for file, slug in slugs.items():
        if shared[slug] > 1 or len(slug) > room:
            # Report files end in .yaml or .yml and a hash never ends in "l": no clash with
            # a plain slug either.
            digest = hashlib.sha256(file.encode("utf-8", "surrogateescape")).hexdigest()[:10]
            slug = f"{slug[: room - len(digest) - 1]}_{digest}"
        names[file] = f"{_PREFIX}{slug}"
    return names


def invalid_file_sensor_name(file: str) -> str:
    """The sensor name of ``file`` when no other broken file shares its slug."""
    return invalid_file_sensor_names([file])[file]


def build_invalid_report_file_sensor(
    file: str, errors: list[SpecError], name: str | None = None
) -> SensorDefinition:
    """The marker sensor of one broken file; ``name`` from :func:`invalid_file_sensor_names`."""
    shown = [str(error) for error in errors[:_MAX_ERRORS_SHOWN]]
    if len(errors) > _MAX_ERRORS_SHOWN:
        shown.append(f"… and {len(errors) - _MAX_ERRORS_SHOWN} more; run `reports validate`")
    message = "\n".join(shown)

    @sensor(
        name=name or invalid_file_sensor_name(file),
        description=f"INVALID REPORT FILE — this file is not scheduled until fixed:\n{message}",
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=_INTERVAL_SECONDS,
    )
    def invalid_report_file(_context):
        raise InvalidReportFile(message)

    return invalid_report_file
