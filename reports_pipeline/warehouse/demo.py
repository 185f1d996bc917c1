"""The embedded demo warehouse: a SQLite file of generated invoices, product usage and audit events.

Reports run out of the box against it. The data is generated from a fixed seed, so every
machine gets the same rows, and spread over 2025-2027 so any recent period has data.
Timestamps are UTC text ``'YYYY-MM-DD HH:MM:SS'`` (SQLite has no datetime type).
"""

import os
import random
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

SEED = 20250101
FIRST_DAY = datetime(2025, 1, 1)
DAYS = (datetime(2028, 1, 1) - FIRST_DAY).days
INVOICES = 20_000
AUDIT_EVENTS = 40_000
USAGE_SHARE = 0.95  # of account x feature pairs active on a day: 1,095 days x 48 pairs ≈ 50,000

CUSTOMERS = (
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella Ltd",
    "Stark Industries",
    "Wayne Enterprises",
    "Müller GmbH",
    "Café Lumière",
    "東京商事",
    "Société Générale d'Édition",
    "Øresund Logistik",
    "Ñandú Textiles",
    "Zürich Précision AG",
    "Kraków Software",
    "São Paulo Comércio",
    "北京科技有限公司",
    "Łódź Metal",
    "Tyrell Corp",
    "Cyberdyne Systems",
    "Soylent Foods",
)
REGIONS = {"EMEA": "EUR", "North America": "USD", "APAC": "JPY", "LATAM": "BRL", "UK": "GBP"}
STATUSES = ("paid", "open", "void")
STATUS_WEIGHTS = (70, 22, 8)
ACCOUNTS = tuple(f"acct-{n:03d}" for n in range(1, 13))
FEATURES = ("dashboards", "exports", "alerts", "api")
ACTORS = ("alice", "bob", "chloé", "dmitri", "eve", "fatima", "gonzalo", "hiroshi", "system")
ACTIONS = ("login", "logout", "view", "export", "update", "delete", "grant", "revoke")
RESOURCES = ("report", "dashboard", "user", "invoice", "api_key", "setting")

SCHEMA = """
create table invoices (
    id integer primary key, customer text not null, region text not null,
    amount numeric not null, currency text not null, status text not null,
    issued_at text not null, due_at text not null, paid_at text
);
create table product_usage (
    day text not null, account text not null, feature text not null,
    events integer not null, active_users integer not null
);
create table audit_events (
    id integer primary key, occurred_at text not null, actor text not null,
    action text not null, resource text not null, ip text not null
);
"""
INDEXES = """
create index invoices_issued_at on invoices (issued_at);
create index invoices_paid_at on invoices (paid_at);
create index product_usage_day on product_usage (day);
create index audit_events_occurred_at on audit_events (occurred_at);
"""


def ensure_demo_warehouse(path: Path) -> Path:
    """Create the demo warehouse at ``path`` unless it exists; return ``path``.

    The file is built under a temporary name in the same folder and moved into place with
    ``os.replace``, so a concurrent caller never opens a half-written database; when two
    callers race, both build identical files and the last move wins.
    """
    path = Path(path)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        _generate(Path(temporary))
        # mkstemp makes the file private; the webserver may run as another user.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def demo_warehouse_url(path: Path) -> str:
    """The SQLAlchemy URL of the demo warehouse at ``path`` (absolute, so any cwd works)."""
    return "sqlite:///" + str(Path(path).resolve())


def _generate(target: Path) -> None:
    rng = random.Random(SEED)
    connection = sqlite3.connect(target)
    try:
        # No journal: a failed build is thrown away whole, never repaired.
        connection.execute("pragma journal_mode = off")
        connection.execute("pragma synchronous = off")
        connection.executescript(SCHEMA)
        with connection:
            connection.executemany(
                "insert into invoices values (?, ?, ?, ?, ?, ?, ?, ?, ?)", _invoices(rng)
            )
            connection.executemany(
                "insert into product_usage values (?, ?, ?, ?, ?)", _product_usage(rng)
            )
            connection.executemany(
                "insert into audit_events values (?, ?, ?, ?, ?, ?)", _audit_events(rng)
            )
        connection.executescript(INDEXES)
    finally:
        connection.close()


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _random_moment(rng: random.Random) -> datetime:
    return FIRST_DAY + timedelta(seconds=rng.randrange(DAYS * 86_400))


def _invoices(rng: random.Random) -> Iterator[tuple]:
    regions = tuple(REGIONS)
    issued = sorted(_random_moment(rng) for _ in range(INVOICES))
    for number, issued_at in enumerate(issued, start=1):
        region = rng.choice(regions)
        status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
        paid_at = None
        if status == "paid":
            paid_at = issued_at + timedelta(seconds=rng.randrange(45 * 86_400))
        yield (
            number,
            rng.choice(CUSTOMERS),
            region,
            round(rng.lognormvariate(7, 1.2), 2),
            REGIONS[region],
            status,
            _timestamp(issued_at),
            _timestamp(issued_at + timedelta(days=30)),
            paid_at and _timestamp(paid_at),
        )


def _product_usage(rng: random.Random) -> Iterator[tuple]:
    for offset in range(DAYS):
        day = (FIRST_DAY + timedelta(days=offset)).strftime("%Y-%m-%d")
        for account in ACCOUNTS:
            for feature in FEATURES:
                if rng.random() < USAGE_SHARE:
                    users = rng.randint(1, 60)
                    yield day, account, feature, users * rng.randint(1, 40), users


def _audit_events(rng: random.Random) -> Iterator[tuple]:
    occurred = sorted(_random_moment(rng) for _ in range(AUDIT_EVENTS))
    for number, occurred_at in enumerate(occurred, start=1):
        # Documentation address ranges (RFC 5737): realistic, never a real host.
        ip = f"{rng.choice(('192.0.2', '198.51.100', '203.0.113'))}.{rng.randint(1, 254)}"
        yield (
            number,
            _timestamp(occurred_at),
            rng.choice(ACTORS),
            rng.choice(ACTIONS),
            f"{rng.choice(RESOURCES)}/{rng.randint(1, 500)}",
            ip,
        )
