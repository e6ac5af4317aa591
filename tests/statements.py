"""What a piece of code says to the database: the statements as they are executed, and their shape.

For the tests that pin a path's statements (a step, a filing, an API request before its view, a read).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL of every statement executed on ``engine`` inside the block, in order."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


_FIRST_TABLE = {"SELECT": r"\bFROM\s+\(?\s*(?:SELECT\b.*?\bFROM\s+)?(\w+)", "INSERT": r"INTO\s+(\w+)",
                "UPDATE": r"UPDATE\s+(\w+)", "DELETE": r"FROM\s+(\w+)"}


def shape(statement: str) -> str:
    """'SELECT incident', 'UPDATE application', 'INSERT audit_event': the verb and the first table."""
    verb = statement.split(None, 1)[0].upper()
    return f"{verb} {re.search(_FIRST_TABLE[verb], statement, re.S | re.I).group(1)}"
