"""The tables and views of a warehouse and their columns, from the database's own catalog."""

from dataclasses import dataclass

import sqlalchemy

# Postgres and DuckDB: information_schema, in column order. A table outside the default schema
# (public, main) is shown with its schema, as a query would have to name it.
_INFORMATION_SCHEMA = """
select table_schema, table_name, column_name, data_type
from information_schema.columns
where table_schema not in ('information_schema', 'pg_catalog')
  and table_catalog = current_database()
order by table_schema, table_name, ordinal_position
"""
_SQLITE = """
select m.name, c.name, c.type
from sqlite_schema as m join pragma_table_info(m.name) as c
where m.type in ('table', 'view') and m.name not like 'sqlite\\_%' escape '\\'
order by m.name, c.cid
"""
_DEFAULT_SCHEMAS = {"postgresql": "public", "duckdb": "main"}


@dataclass(frozen=True)
class Table:
    """A table or view: its name (with its schema when not the default) and (column, type)s."""

    name: str
    columns: tuple[tuple[str, str], ...]


def list_tables(engine: sqlalchemy.Engine) -> list[Table]:
    """Every table and view the connection's user can see, with its columns, by name.

    Read in a transaction that is rolled back: listing changes nothing and holds nothing open.
    """
    dialect = engine.dialect.name
    with engine.connect() as connection:
        try:
            if dialect == "sqlite":
                rows = [(None, *row) for row in connection.exec_driver_sql(_SQLITE)]
            elif dialect in _DEFAULT_SCHEMAS:
                rows = list(connection.exec_driver_sql(_INFORMATION_SCHEMA))
            else:
                raise ValueError(f"listing tables is not supported for {dialect} databases")
        finally:
            connection.rollback()
    default = _DEFAULT_SCHEMAS.get(dialect)
    tables: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, type_ in rows:
        name = table if schema in (None, default) else f"{schema}.{table}"
        # SQLite: a column may have no declared type (and a view's computed ones have none).
        tables.setdefault(name, []).append((column, (type_ or "").lower() or "(any)"))
    return [Table(name, tuple(columns)) for name, columns in sorted(tables.items())]
