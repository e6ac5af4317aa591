"""What the database holds, read past the models: for checking that no ID number is stored in plain text."""

from __future__ import annotations

import json

from sqlalchemy import inspect, literal_column, select, table


def _as_text(value) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, dict | list):  # PostgreSQL's driver hands JSON back parsed
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def database_text(engine) -> str:
    """Every value of every table, as stored, joined into one text."""
    parts = []
    with engine.connect() as conn:
        for name in inspect(conn).get_table_names():
            for row in conn.execute(select(literal_column("*")).select_from(table(name))):
                parts.extend(_as_text(v) for v in row if v is not None)
    return "\n".join(parts)
