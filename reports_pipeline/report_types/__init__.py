"""Report types: Python that produces a report's rows, named by ``source.report_type``.

A report type is a function decorated with :func:`report_type`, with its parameters as a
pydantic model (:class:`ReportTypeParams`). The types shipped here live in this package; others
come from installed packages through the entry point group ``reports_pipeline.report_types``
(``registry``). This module imports neither pyarrow nor any type: loading it is cheap.
"""

from reports_pipeline.report_types.definition import (
    ReportType,
    ReportTypeParams,
    ReportTypeRun,
    report_type,
)

__all__ = ["ReportType", "ReportTypeParams", "ReportTypeRun", "report_type"]
