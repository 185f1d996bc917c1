"""The words of a failure notice to a report's owner."""


def failure_notice(
    *, report: str, title: str, period: str | None, run_id: str, errors: list[str], run_url: str
) -> tuple[str, str]:
    """Subject and text: what failed, for which period, the error and a link to the run."""
    subject = f"Report failed: {title} ({period or 'no period'})"
    lines = [
        f"The report {report} ({title}) failed for period {period or '-'}.",
        "",
        "What failed:",
        *[f"  - {error}" for error in errors],
        "",
        f"Run: {run_url}",
        "",
        "Nothing was sent for the steps that failed. Steps that succeeded are not repeated when",
        "the run is re-executed from failure in the Dagster UI.",
    ]
    return subject, "\n".join(lines) + "\n"
