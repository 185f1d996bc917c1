#!/usr/bin/env bash
# One machine's Celery worker for report steps (README, "Beyond one machine: Celery workers").
#
# The machine needs what the daemon's machine has: this package installed with the `celery`
# extra, the same report files and connections.yaml (REPORTS_DIR, REPORTS_CONNECTIONS), the
# connections' secrets, the shared folders mounted at the same paths (report files, and
# $DAGSTER_HOME/storage where Dagster keeps each step's output), and:
#   DAGSTER_HOME            the same path as on the daemon's machine, with deploy/dagster.postgres.yaml
#   DAGSTER_POSTGRES_URL    postgresql+psycopg2://… of the shared instance
#   REPORTS_EXECUTOR=celery
#   REPORTS_CELERY_BROKER   e.g. pyamqp://reports:…@rabbit.internal:5672// (password only here)
#   REPORTS_CELERY_BACKEND  rpc:// (default) or redis://…
#   REPORTS_CELERY_QUEUE    optional; the same on every machine of one deployment
# REPORTS_WORKER_CONCURRENCY: steps at once on this machine (default: one per core).
# The environment's bin folder must be on PATH: dagster-celery starts `celery` from PATH.
set -euo pipefail

: "${DAGSTER_HOME:?set DAGSTER_HOME (the same path on every machine)}"
: "${DAGSTER_POSTGRES_URL:?set DAGSTER_POSTGRES_URL (the instance shared by every machine)}"
: "${REPORTS_CELERY_BROKER:?set REPORTS_CELERY_BROKER (the broker URL)}"
if [ "${REPORTS_EXECUTOR:-}" != "celery" ]; then
  echo "REPORTS_EXECUTOR must be celery on a worker, as on the daemon's machine" >&2
  exit 2
fi

# The worker is named reports@<host name>; its steps' events name it in the run's log.
exec dagster-celery worker start \
  -A reports_pipeline.jobs.celery_app \
  -n "${REPORTS_WORKER_NAME:-reports}" \
  -- --concurrency="${REPORTS_WORKER_CONCURRENCY:-$(nproc)}"
