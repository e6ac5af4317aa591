"""How a database is opened: SQLite gets WAL, a busy timeout and foreign keys (PostgreSQL needs nothing)."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine

# WAL with NORMAL never corrupts and survives an application crash; a power cut may roll back the last
# commits. FULL also syncs the log on every commit (and checkpoints stall writers): 5-10x slower steps
# here. Production runs on PostgreSQL; WEBIR_SQLITE_SYNCHRONOUS=FULL restores per-commit durability.
SYNCHRONOUS = ("NORMAL", "FULL")


def tune_sqlite(engine: Engine, synchronous: str = "NORMAL") -> None:
    if engine.dialect.name != "sqlite":
        return
    if synchronous not in SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS)}, got {synchronous!r}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if ":memory:" not in str(engine.url) and engine.url.database:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            # Reads of the tracking pages touch tens of thousands of rows: keep them in memory, not in syscalls.
            cursor.execute("PRAGMA mmap_size=268435456")
            cursor.execute("PRAGMA cache_size=-32768")
        cursor.close()
