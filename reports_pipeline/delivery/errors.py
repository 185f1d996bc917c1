"""Delivery failures, split by whether a retry can help.

Deliver steps retry :class:`TransientDeliveryError` and fail at once on
:class:`PermanentDeliveryError`, so a wrong password is not tried ten times against a server
that may lock the account. Messages are shown in the Dagster UI and in owner notifications:
they must never contain a password.
"""


class DeliveryError(Exception):
    """A delivery that did not happen; ``permanent`` says whether retrying is pointless."""

    permanent: bool = True


class TransientDeliveryError(DeliveryError):
    """The server was unreachable, timed out or answered 4xx: try again later."""

    permanent = False


class PermanentDeliveryError(DeliveryError):
    """The server refused for good (5xx, bad credentials) or the settings are wrong."""

    permanent = True
