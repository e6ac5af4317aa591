"""The demo database built once per run and put back before every test.

Building it (schema, demo city, every shipped diagram parsed and deployed) takes seconds; putting a
copy back takes milliseconds. Each test still starts from the real schema and the same rows, ids and
sequence positions as the built database. A module whose tests share a larger seeded state can
``save`` it under a name once and ``restore`` that name per test the same way.

- SQLite: a saved state is a copy in memory made with sqlite3's backup API, backed up over the test
  file again to restore it. The backup goes through SQLite's own locking, so connections still pooled
  (the app's, the browser tests' live server) see the fresh copy, never a file swapped under them.
- PostgreSQL: a saved state is a set of temporary tables holding every table's rows, in one connection
  kept for the run, plus the sequences' positions. Restoring truncates every table and refills it from
  them, and sets the sequences back, in one transaction. Pooled connections need not close, and the
  database is the one TEST_DATABASE_URL names. (On a loaded two-core machine this took 0.07-0.09 s a
  test; dropping the database and creating it again from a template took 0.6 s.)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import MetaData, NullPool, create_engine, make_url, text
from sqlalchemy.exc import OperationalError, ProgrammingError

DEMO = "demo"


def demo_copies(url: str, metadata: MetaData) -> SqliteCopies | PostgresCopies:
    """Copies of the database at ``url``, whose tables ``metadata`` describes."""
    if make_url(url).get_backend_name() == "sqlite":
        return SqliteCopies(make_url(url).database)
    return PostgresCopies(url, metadata)


def database_beside(url: str, name: str, folder: Path) -> str:
    """Another city's database beside the one at ``url``: SQLite a file ``name``.sqlite3 in ``folder``; PostgreSQL a
    database ``webir_<name>`` on the same cluster, created when missing (the demo's build drops and creates its
    tables)."""
    base = make_url(url)
    if base.get_backend_name() == "sqlite":
        return f"sqlite:///{folder / f'{name}.sqlite3'}"
    server = create_engine(base, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": f"webir_{name}"}):
            connection.execute(text(f'CREATE DATABASE "webir_{name}"'))
    server.dispose()
    return base.set(database=f"webir_{name}").render_as_string(hide_password=False)


class SqliteCopies:
    def __init__(self, path: str):
        self.path = path
        self.saved: dict[str, sqlite3.Connection] = {}

    def build(self, load: Callable[[], None]) -> None:
        """Run ``load`` against the test database and save what it built as the demo."""
        load()
        self.save(DEMO)

    def save(self, name: str) -> None:
        """Keep the test database as it is now, under ``name``."""
        copy = self.saved.setdefault(name, sqlite3.connect(":memory:"))
        source = sqlite3.connect(self.path, timeout=10)
        try:
            source.backup(copy)
        finally:
            source.close()

    def restore(self, name: str = DEMO) -> None:
        """Put the state saved under ``name`` back over the test database."""
        target = sqlite3.connect(self.path, timeout=10)
        target.execute("PRAGMA synchronous=OFF")  # a throw-away file: no fsync, a few ms a test
        try:
            self.saved[name].backup(target)
        finally:
            target.close()

    def close(self) -> None:
        for copy in self.saved.values():
            copy.close()


class PostgresCopies:
    def __init__(self, url: str, metadata: MetaData):
        self.engine = create_engine(url, poolclass=NullPool)
        self.connection = self.engine.connect()  # its temporary tables hold the saved states
        self.metadata = metadata
        self.tables = [table.name for table in metadata.sorted_tables]  # parents before children
        self.refills: dict[str, str] = {}

    def build(self, load: Callable[[], None]) -> None:
        """Run ``load`` against the test database and save what it built as the demo."""
        load()
        self.save(DEMO)

    def save(self, name: str) -> None:
        """Keep every table's rows and every sequence's position as they are now, under ``name``."""
        with self.connection.begin():
            for table in self.tables:
                self.connection.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}_{table}"')
                self.connection.exec_driver_sql(f'CREATE TEMPORARY TABLE "{name}_{table}" AS TABLE "{table}"')
            sequences = self.connection.exec_driver_sql(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = current_schema()").all()
        # One round trip per test; a connection a test left inside a transaction fails it, not hangs it.
        # TRUNCATE, not DELETE: fresh files keep the rows in the order they were saved, so a query without
        # ORDER BY sees what it saw on the built database (after a DELETE, reused space can reverse it).
        self.refills[name] = "".join(
            # The audit trail's triggers refuse TRUNCATE to the app; a restore, like a DBA's, runs as a replica.
            ["SET LOCAL lock_timeout = '10s'; SET LOCAL session_replication_role = replica;"]
            + ["TRUNCATE " + ", ".join(f'"{table}"' for table in self.tables) + ";"]
            + [f'INSERT INTO "{table}" SELECT * FROM "{name}_{table}";' for table in self.tables]  # noqa: S608 - ours
            + [f"SELECT setval('\"{sequence}\"', {last or 1}, {str(last is not None).lower()});"
               for sequence, last in sequences])

    def restore(self, name: str = DEMO) -> None:
        """Truncate every table and refill it with the rows saved under ``name``; set the sequences back."""
        for attempt in range(3):
            try:
                return self._refill(name)
            except OperationalError as exc:
                # A request that a browser test's closing page left in flight can take its row locks in the
                # other order than the TRUNCATE: PostgreSQL fails one side of the deadlock, and the restore
                # (all or nothing, in one transaction) simply goes again once that request is done.
                if attempt == 2 or "deadlock detected" not in str(exc.orig):
                    raise

    def _refill(self, name: str) -> None:
        try:
            with self.connection.begin():
                self.connection.exec_driver_sql(self.refills[name])
        except ProgrammingError:  # a test dropped the tables and failed before creating them again
            with self.connection.begin():
                self.metadata.drop_all(self.connection)
                self.metadata.create_all(self.connection)
                self.connection.exec_driver_sql(self.refills[name])

    def close(self) -> None:
        self.connection.close()
        self.engine.dispose()
