"""What a delivery hands back once the file has arrived."""

from dataclasses import dataclass


@dataclass(frozen=True)
class DeliveryReceipt:
    """A one-line ``summary`` for the run log and JSON-serialisable ``details`` for metadata.

    Both end up in the Dagster UI and in owner notifications, so neither ever holds a secret.
    """

    summary: str
    details: dict
