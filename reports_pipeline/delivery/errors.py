"""Delivery failures, split by whether a retry can help.

Deliver steps retry :class:`TransientDeliveryError` and fail at once on
:class:`PermanentDeliveryError`, so a wrong password is not tried ten times against a server
that may lock the account. Messages are shown in the Dagster UI and in owner notifications:
they must never contain a password. Channels keep secrets out of what they write, and the
deliver step scrubs every message again of every secret in every form (``redaction.py``), as
servers may quote the request back.
"""


class DeliveryError(Exception):
    """A delivery that did not happen; ``permanent`` says whether retrying is pointless."""

    permanent: bool = True


class TransientDeliveryError(DeliveryError):
    """Unreachable, timed out, or a temporary answer (SMTP 4xx, HTTP 5xx or 429): try again."""

    permanent = False


class PermanentDeliveryError(DeliveryError):
    """Refused for good (SMTP 5xx, HTTP 4xx, bad credentials) or the settings are wrong."""

    permanent = True
