"""Fresh PostgreSQL databases on the local server for tests (trust authentication)."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_USER = "postgres"  # trust authentication: no password


def connect_admin():
    """A connection to the server's ``postgres`` database (OperationalError if unreachable)."""
    admin = psycopg2.connect(
        host=POSTGRES_HOST,
        port=POSTGRES_PORT,
        user=POSTGRES_USER,
        dbname="postgres",
        connect_timeout=30,
    )
    admin.autocommit = True  # CREATE/DROP DATABASE cannot run inside a transaction
    return admin


@contextmanager
def fresh_database(admin, prefix: str, driver: str = "postgresql") -> Iterator[str]:
    """A new, uniquely named database, its URL (``driver`` as the URL's scheme), dropped after."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{driver}://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
    finally:
        with admin.cursor() as cursor:
            # FORCE ends connections a test left open (a pooled engine not disposed, a worker
            # killed mid-step).
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
