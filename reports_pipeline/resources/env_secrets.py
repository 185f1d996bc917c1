"""Secrets of ``connections.yaml`` as resource fields."""

from dagster import EnvVar

from reports_pipeline.spec.values import EnvRef


def secret_field(value):
    """Secrets stay ``EnvVar`` so Dagster resolves them in the run and shows only the name."""
    if isinstance(value, EnvRef):
        return EnvVar(value.env)
    return value
