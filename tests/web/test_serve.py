"""The server `make run` starts survives a kill -9 of any of its processes: nothing is orphaned, and it starts again.

These start the real thing: `make serve` (run's last step, the same gunicorn command) on a free port with a
throw-away SQLite database and SCHEDULER_ENABLED=1, then kill processes and look at what is left in /proc.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from models import Base
from tests.conftest import DATA_KEY

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
MAKE = shutil.which("make")
BOOT_SECONDS = 120.0  # an upper bound for a loaded machine; polls return as soon as the condition holds

pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(not Path("/proc/self/stat").exists() or MAKE is None,
                       reason="needs make and Linux /proc"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], object], seconds: float, what: str | Callable[[], str]):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds:.0f} s: {what() if callable(what) else what}")


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def children(pid: int) -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and alive(int(entry.name)):
            found.append((int(entry.name), command_of(int(entry.name))))
    return found


def threads(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


class Server:
    """`make serve` on one port; every process it starts is found through the master's pid file."""

    def __init__(self, port: int, env: dict[str, str], log: Path):
        self.port, self.env, self.log = port, env, log
        self.pid_file = ROOT / "instance" / f"gunicorn-127.0.0.1-{port}.pid"
        self.makes: list[subprocess.Popen] = []
        self.seen: set[int] = set()

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.makes.append(subprocess.Popen(  # noqa: S603 - our own Makefile, fixed arguments
                [MAKE, "-s", "--no-print-directory", "serve", f"PORT={self.port}", f"VENV={VENV}", "WORKERS=2"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True))

    def serves(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/login", timeout=5) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def master(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text())
        except (OSError, ValueError):
            return None
        return pid if alive(pid) and "gunicorn_conf.py" in command_of(pid) else None  # not a reused pid

    def processes(self, replacing: int | None = None) -> tuple[int, list[int], list[int]]:
        """Master, workers and scheduler processes, once all have started (under a master other than ``replacing``)."""
        def complete():
            master = self.master()
            if master is None or master == replacing or not self.serves():
                return None
            kids = children(master)
            workers = [pid for pid, command in kids if "gunicorn" in command]
            schedulers = [pid for pid, command in kids if "scheduler" in command]
            if len(workers) != 2 or not schedulers:
                return None
            self.seen.update([master, *workers, *schedulers])
            return master, workers, schedulers
        return wait_until(complete, BOOT_SECONDS, lambda: f"make serve on port {self.port} up with its processes\n"
                          + self.log.read_text(errors="replace")[-3000:])

    def stop(self) -> None:
        master = self.master()
        if master:
            os.kill(master, signal.SIGTERM)
            wait_until(lambda: not alive(master), 60, "the master stops on SIGTERM")
        for make in self.makes:  # the safety net, should a test fail: whatever is left of what was started here
            try:
                os.killpg(make.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            make.wait(30)
        for pid in self.seen:
            if alive(pid) and ("gunicorn_conf.py" in command_of(pid) or "web scheduler" in command_of(pid)):
                os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    database = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    engine = create_engine(database)
    Base.metadata.create_all(engine)
    engine.dispose()
    env = {**os.environ, "DATABASE_URL": database, "SECRET_KEY": "test-serve", "DATA_ENCRYPTION_KEY": DATA_KEY,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("SCHEDULER_ENABLED", None)  # the Makefile sets it
    running = Server(free_port(), env, tmp_path / "serve.log")
    yield running
    running.stop()


def test_after_kill_9_of_the_master_nothing_is_left_and_the_same_command_serves_again(server):
    server.start()
    master, workers, [scheduler] = server.processes()
    # The workers run no scheduler thread of their own. Polled: a worker still booting has a short-lived thread
    # (the rate limiter's in-memory storage starts a timer), a scheduler's would never end.
    assert wait_until(lambda: all(threads(pid) == 1 for pid in workers), 30, "one thread in each worker")

    os.kill(master, signal.SIGKILL)
    server.start()  # at once: a worker still holding the socket would make it fail ("Connection in use")
    left = [master, *workers, scheduler]
    wait_until(lambda: not any(alive(pid) for pid in left), 60, f"workers and scheduler gone: {left}")
    again, new_workers, [new_scheduler] = server.processes(replacing=master)
    assert not {again, *new_workers, new_scheduler} & set(left)


def test_a_server_left_running_by_a_killed_make_is_replaced_by_the_next_start(server):
    server.start()
    master, workers, [scheduler] = server.processes()
    make = server.makes[-1]
    os.kill(make.pid, signal.SIGKILL)  # the terminal's make is gone; gunicorn keeps the port
    make.wait(30)
    assert server.serves()

    server.start()
    again, _, _ = server.processes(replacing=master)
    assert again != master
    assert not any(alive(pid) for pid in (master, *workers, scheduler))
    assert f"stopping the server (pid: {master})" in server.log.read_text(errors="replace")
