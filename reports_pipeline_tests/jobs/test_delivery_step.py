"""What a deliver step raises when a delivery fails: the same outcome, scrubbed text only."""

from dagster import Failure, build_op_context

from reports_pipeline.delivery.errors import PermanentDeliveryError, TransientDeliveryError
from reports_pipeline.jobs.delivery_step import _clean_error
from reports_pipeline.redaction import Redactor

SECRET = "s3cr3t-t0ken-value"
WHERE = "deliver[0].webhook via 'hook' (attempt 1)"


def clean(exc: Exception) -> Exception:
    return _clean_error(exc, Redactor([SECRET]), WHERE, 1, build_op_context())


def test_a_refusal_fails_at_once_with_the_scrubbed_answer():
    error = clean(PermanentDeliveryError(f"webhook answered 401: bad token {SECRET}"))
    assert isinstance(error, Failure) and not error.allow_retries
    assert error.description == f"{WHERE} failed: webhook answered 401: bad token ***"
    assert error.metadata["error"].value == "webhook answered 401: bad token ***"


def test_a_transient_error_stays_retryable_and_scrubbed():
    error = clean(TransientDeliveryError(f"answered 503: Authorization: Bearer {SECRET}"))
    assert type(error) is TransientDeliveryError
    assert str(error) == "answered 503: Authorization: ***"


def test_any_other_error_is_retried_with_its_scrubbed_traceback_kept():
    try:
        try:
            raise KeyError(SECRET)
        except KeyError as inner:
            raise RuntimeError(f"library failed for ?token={SECRET}") from inner
    except RuntimeError as exc:
        error = clean(exc)
    assert isinstance(error, Failure) and error.allow_retries
    assert error.description == f"{WHERE} failed: RuntimeError: library failed for ?token=***"
    trace = error.metadata["traceback"].value
    assert "KeyError" in trace and "RuntimeError" in trace and SECRET not in trace
