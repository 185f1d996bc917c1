"""Whether a failed query of the fetch step gets another attempt, and how the failure reads.

Transient failures (``QueryError.transient``: the server refused or dropped the connection, was
restarting, a serialization failure or deadlock, a locked file) are retried with the report's
retry policy; a timeout only when the report sets ``source.retry_on_timeout``. Anything else
fails at once: another attempt would fail the same way.
"""

from collections.abc import Callable
from dataclasses import dataclass

from dagster import Failure, RetryPolicy

from reports_pipeline.warehouse.errors import QueryError, QueryTimeout


@dataclass(frozen=True)
class FetchFailure:
    failure: Failure  # what the step raises
    note: str | None  # logged before another attempt; None when there is none


def fetch_failure(
    error: QueryError | QueryTimeout,
    *,
    where: str,
    attempt: int,
    policy: RetryPolicy | None,
    retry_on_timeout: bool,
    scrub: Callable[[str], str] = str,
) -> FetchFailure:
    """The step's failure for ``error`` on ``attempt`` (1 for the first try).

    ``where`` names the report and connection ("weekly_revenue (connection 'warehouse')");
    ``scrub`` takes the connection's secrets out of the database's words before Dagster stores
    them.
    """
    attempts = policy.max_retries + 1 if policy else 1
    text = scrub(str(error))
    metadata = {"attempt": attempt, "error": text}
    reason = _transient_reason(error, retry_on_timeout)
    reason = scrub(reason) if reason else reason
    if reason is None:
        if isinstance(error, QueryTimeout):
            hint = "not retried (set source.retry_on_timeout: true to retry a slow query)"
        else:
            hint = "not retried, as another attempt would fail the same way"
        return FetchFailure(
            Failure(f"{where}: {text}; {hint}", metadata=metadata, allow_retries=False), None
        )
    if attempt >= attempts:
        # Not left to the retry policy: its failure would read "Exceeded max_retries".
        tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
        return FetchFailure(
            Failure(
                f"{where}: the query failed after {tries}: {reason}",
                metadata=metadata,
                allow_retries=False,
            ),
            None,
        )
    assert policy is not None  # attempts > 1
    delay = policy.calculate_delay(attempt)  # as Dagster computes the wait after this attempt
    return FetchFailure(
        Failure(
            f"{where}: the query failed (attempt {attempt} of {attempts}): {reason}",
            metadata=metadata,
            allow_retries=True,
        ),
        f"attempt {attempt} of {attempts}: {reason}; retrying in {_seconds(delay)}",
    )


def _transient_reason(error: QueryError | QueryTimeout, retry_on_timeout: bool) -> str | None:
    if isinstance(error, QueryTimeout):
        return str(error) if retry_on_timeout else None
    return error.transient


def _seconds(delay: float) -> str:
    return f"{delay:.0f} s" if delay >= 10 or delay == int(delay) else f"{delay:.1f} s"
