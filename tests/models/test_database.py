"""SQLite's writers wait in line for one lock file (``models.database.WriterQueue``), not in SQLite's busy handler.

Observed from outside as another process would see it: a non-blocking ``flock`` on ``<database>-writer.lock``
is refused while a transaction of the app's engine has written and not ended, and granted again once it has.
"""

from __future__ import annotations

import fcntl
import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from models.database import tune_sqlite


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "queue.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    tune_sqlite(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    yield engine, f"{path}-writer.lock"
    engine.dispose()


def free(lock_path: str) -> bool:
    """Could another writer take its turn now?"""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing lets go of a lock taken here
    return True


def test_a_write_holds_the_turn_until_its_commit(database):
    engine, lock = database
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM t")).scalar()
        assert free(lock)  # reading takes no turn
        conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
        assert not free(lock)
        conn.execute(text("UPDATE t SET v = 'b'"))  # the same transaction keeps its one turn
        assert not free(lock)
        conn.commit()
        conn.execute(text("SELECT count(*) FROM t")).scalar()  # the connection kept open after its commit
        assert free(lock)
    assert free(lock)


def test_a_rolled_back_or_abandoned_write_lets_go(database):
    engine, lock = database
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
        assert not free(lock)
        conn.rollback()
        conn.execute(text("SELECT count(*) FROM t")).scalar()  # the next statement finds the transaction ended
        assert free(lock)
        conn.execute(text("INSERT INTO t (v) VALUES ('b')"))
        assert not free(lock)
    assert free(lock)  # back to the pool without a commit: rolled back, and the turn with it
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0


def test_an_autocommit_write_lets_go_at_once(database):
    engine, lock = database
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
        assert free(lock)


def test_a_second_connection_of_the_same_thread_meets_sqlite_not_itself(database):
    """It would wait for its own thread for ever; it waits for SQLite's lock as before (here: at once refused)."""
    engine, lock = database
    with engine.connect() as first, engine.connect() as second:
        first.execute(text("INSERT INTO t (v) VALUES ('a')"))
        second.exec_driver_sql("PRAGMA busy_timeout=0")
        with pytest.raises(OperationalError, match="locked"):
            second.execute(text("INSERT INTO t (v) VALUES ('b')"))
        second.rollback()
        assert not free(lock)  # the first still writes
        first.commit()
    assert free(lock)


def test_a_writer_of_another_thread_waits_for_the_turn_instead_of_failing(database):
    """With no busy timeout at all the second writer would be refused by SQLite; in line it waits, then writes."""
    import threading

    engine, lock = database
    outcome: list[str] = []
    with engine.connect() as first:
        first.execute(text("INSERT INTO t (v) VALUES ('first')"))

        def second_writer():
            with engine.connect() as second:
                second.exec_driver_sql("PRAGMA busy_timeout=0")
                outcome.append("trying")
                second.execute(text("INSERT INTO t (v) VALUES ('second')"))
                second.commit()
                outcome.append("written")

        thread = threading.Thread(target=second_writer)
        thread.start()
        assert waiting_on(lock, thread)
        outcome.append("first commits")
        first.commit()
    thread.join(10)
    assert outcome == ["trying", "first commits", "written"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT v FROM t ORDER BY id")).scalars().all() == ["first", "second"]


def waiting_on(lock: str, thread) -> bool:
    """True once a writer is blocked on the lock file (Linux lists blocked flock waiters in /proc/locks, '->')."""
    inode = os.stat(lock).st_ino
    for _ in range(100_000):  # a few seconds at most; ends as soon as the waiter shows
        with open("/proc/locks") as locks:
            if any(line.split()[1] == "->" and line.split()[6].endswith(f":{inode}") for line in locks
                   if len(line.split()) > 6):
                return True
        if not thread.is_alive():
            return False
        os.sched_yield()
    return False
