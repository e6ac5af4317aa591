"""How a database is opened: SQLite gets WAL, a busy timeout, foreign keys and its writers queued (PostgreSQL needs
nothing)."""

from __future__ import annotations

import fcntl
import os
import threading

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

    if ":memory:" not in str(engine.url) and engine.url.database:
        queue_writers(engine, engine.url.database)


# ------------------------------------------------------------------ one SQLite writer at a time, queued

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class _Holder:
    """One open lock file holding the exclusive lock, shared by the connections of one thread that write."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.count = 0


class WriterQueue:
    """One writer at a time on a SQLite file, waiting in line in the kernel instead of in SQLite's busy handler.

    SQLite lets one connection write at a time; the others wait in its busy handler, which sleeps 1, 2, 5, 10 …
    up to 100 ms between tries and so lets a waiter sleep on long after the lock is free: with 8 writing
    processes on 2 cores, steps of ~5 ms waited hundreds of ms at p99. Here a connection takes an exclusive
    ``flock`` on ``<database>-writer.lock`` right before its first write of a transaction (the statement on which
    the driver begins it and SQLite takes its write lock) and lets go when the transaction has ended (the next
    statement finds none open, or the connection goes back to the pool): the waiters wake as soon as it is free,
    one by one. Every process that opens the file through ``tune_sqlite`` takes part; anything else still meets
    SQLite's busy timeout, as before. Connections of one thread share one hold, so a thread that writes through
    a second connection while its first holds the lock waits for SQLite as it always did, never for itself.
    """

    _by_path: dict[str, WriterQueue] = {}
    _guard = threading.Lock()

    def __init__(self, path: str) -> None:
        self.path = path
        self.local = threading.local()
        self.held: dict[int, _Holder] = {}  # id(DBAPI connection) -> its hold

    @classmethod
    def for_path(cls, database: str) -> WriterQueue:
        path = os.path.abspath(database) + "-writer.lock"
        with cls._guard:  # one per file and process: two engines on one file share the thread's hold
            return cls._by_path.setdefault(path, cls(path))

    def acquire(self, connection) -> None:
        key = id(connection)
        if key in self.held:
            return
        holder = getattr(self.local, "holder", None)
        if holder is None or holder.count == 0:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # waits here, without the GIL, until the writer before is done
            except BaseException:
                os.close(fd)
                raise
            holder = self.local.holder = _Holder(fd)
        holder.count += 1
        self.held[key] = holder

    def release(self, connection) -> None:
        holder = self.held.pop(id(connection), None)
        if holder is None:
            return
        holder.count -= 1
        if holder.count == 0:
            fcntl.flock(holder.fd, fcntl.LOCK_UN)
            os.close(holder.fd)

    def holds(self, connection) -> bool:
        return id(connection) in self.held


def queue_writers(engine: Engine, database: str) -> WriterQueue:
    """Make the writers of ``engine`` (a SQLite file) take turns through a ``WriterQueue``."""
    queue = WriterQueue.for_path(database)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, _cursor, statement, _parameters, _context, _executemany):
        dbapi = conn.connection.dbapi_connection
        if queue.holds(dbapi) and not dbapi.in_transaction:
            queue.release(dbapi)  # committed or rolled back since, and the connection kept open
        if statement.lstrip()[:7].upper().startswith(_WRITES):
            queue.acquire(dbapi)

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, _cursor, _statement, _parameters, _context, _executemany):
        dbapi = conn.connection.dbapi_connection
        if queue.holds(dbapi) and not dbapi.in_transaction:  # an autocommit write: done at once
            queue.release(dbapi)

    def _let_go(dbapi_connection, *_args) -> None:
        if dbapi_connection is not None:
            queue.release(dbapi_connection)

    for name in ("checkin", "reset", "close", "invalidate", "soft_invalidate", "detach", "close_detached"):
        event.listen(engine.pool, name, _let_go)
    return queue
