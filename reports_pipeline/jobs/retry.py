"""The retry policy of a delivery step, from the report or the deployment default."""

from dagster import Backoff, RetryPolicy

from reports_pipeline.spec.connections import RetryPolicySpec

_BACKOFF = {"exponential": Backoff.EXPONENTIAL, "linear": Backoff.LINEAR, "constant": None}


def retry_policy(spec: RetryPolicySpec) -> RetryPolicy | None:
    """``attempts`` counts every try, so 3 attempts are the first try and 2 retries."""
    if spec.attempts <= 1:
        return None
    return RetryPolicy(
        max_retries=spec.attempts - 1,
        delay=spec.delay.total_seconds(),
        backoff=_BACKOFF[spec.backoff],
    )
