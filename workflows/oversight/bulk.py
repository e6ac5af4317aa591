"""Writing many rows at once: the driver's executemany with plain tuples, or COPY on PostgreSQL.

The ORM's and Core's per-row parameter handling cost more than the rest of an import together; the callers
hand over values already as the columns store them. Table and column names are the callers' constants:
nothing from a file is ever part of the statement's text.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection


def write_rows(connection: Connection, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    if not rows:
        return
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        with connection.connection.driver_connection.cursor() as cursor, \
                cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    connection.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({', '.join([mark] * len(columns))})",  # noqa: S608
                               rows)
