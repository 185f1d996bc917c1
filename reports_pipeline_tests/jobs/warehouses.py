"""Small warehouses with known rows, so a test knows exactly what a period must contain."""

import sqlite3
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import psycopg2

# (id, customer, region, amount, status, issued_at UTC)
# fmt: off
INVOICES = [
    (1, "Müller GmbH", "EMEA", Decimal("1200.50"), "paid", datetime(2026, 11, 2, 5, 30)),  # 00:30 NY, Nov 2
    (2, "Café Lumière", "EMEA", Decimal("99.99"), "paid", datetime(2026, 11, 2, 22, 0)),   # 17:00 NY, Nov 2
    (3, "東京商事", "APAC", Decimal("5000"), "open", datetime(2026, 11, 3, 4, 59)),         # 23:59 NY, Nov 2
    (4, "Acme 🚀", "AMER", Decimal("10"), "paid", datetime(2026, 11, 3, 5, 0)),            # 00:00 NY, Nov 3
    (5, "Early Bird", "AMER", Decimal("7"), "paid", datetime(2026, 11, 2, 4, 59)),         # 23:59 NY, Nov 1
]
# fmt: on
NOV_2_NEW_YORK_IDS = [1, 2, 3]


def create_sqlite_warehouse(path: Path) -> str:
    """A SQLite warehouse with INVOICES (timestamps as UTC text, like the demo warehouse)."""
    with sqlite3.connect(path) as db:
        db.execute(
            "create table invoices (id integer primary key, customer text, region text,"
            " amount numeric, status text, issued_at text)"
        )
        db.executemany(
            "insert into invoices values (?, ?, ?, ?, ?, ?)",
            [
                (i, c, r, float(a), s, t.strftime("%Y-%m-%d %H:%M:%S"))
                for i, c, r, a, s, t in INVOICES
            ],
        )
    return f"sqlite:///{path}"


def create_postgres_warehouse(url: str) -> None:
    """INVOICES in Postgres with a real ``timestamptz`` column."""
    with psycopg2.connect(url) as db, db.cursor() as cursor:
        cursor.execute("drop table if exists invoices")
        cursor.execute(
            "create table invoices (id int primary key, customer text, region text,"
            " amount numeric(12, 2), status text, issued_at timestamptz)"
        )
        cursor.executemany(
            "insert into invoices values (%s, %s, %s, %s, %s, %s)",
            [(i, c, r, a, s, t.replace(tzinfo=timezone.utc)) for i, c, r, a, s, t in INVOICES],
        )
