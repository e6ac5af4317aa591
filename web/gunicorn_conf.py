"""gunicorn settings for `make run`: one scheduler, and nothing that outlives the master.

* The scheduler (timer sweep, e-mail outbox, recurring duties) runs once, in a process of its own
  (`flask scheduler`) that the master starts when it is ready and starts again if it dies; the
  workers only serve requests. WEBIR_SCHEDULER_ENABLED=1 asks for it; the workers never see that variable.
  The jobs do not run on a thread of the master: it forks workers at any time, and a fork while another
  thread holds a lock (SQLite's, the database driver's) can leave the new worker stuck on it. The master
  keeps only a thread that waits for that process, holding no lock a worker could need.
* Workers and the scheduler process die with the master, even when it is killed with SIGKILL and runs
  no shutdown code (web.lifetime), so the listening socket is free again and no orphan fires timers.
* The master records its pid in instance/gunicorn-<address>.pid; a start on the same address first
  stops a server still running from an earlier start whose `make` was killed, so the same command
  always brings the app back.
* Each worker, once it has loaded the app, collects and then freezes what it holds (``gc.freeze``): the
  modules, the app, the mappers and the compiled caches are never garbage, yet every full collection would
  walk them again (~158,000 objects; one full collection every few dozen pages or few hundred API calls).
  Frozen, a collection walks only what the requests made.

gunicorn reads this file in the master before anything imports the app; it must not import ``web``
(the package would read SCHEDULER_ENABLED, and a worker importing it before gunicorn has set up the
worker's signal handlers would lose a SIGTERM sent meanwhile).
"""

from __future__ import annotations

import gc
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

# gunicorn 25+ opens a control socket shared by every gunicorn of the user ($XDG_RUNTIME_DIR/gunicorn.ctl)
# with a thread in the master; neither is needed here.
control_socket_disable = True

_RUN_DIR = Path(__file__).resolve().parent.parent / "instance"
# Taken out of the environment before gunicorn imports the app or forks a worker: only the scheduler
# process runs the jobs (web.scheduler.init_app would otherwise start them in every worker).
_WANT_SCHEDULER = {os.environ.pop(name, "").lower() for name in ("WEBIR_SCHEDULER_ENABLED", "SCHEDULER_ENABLED")} \
    & {"1", "true"} != set()
_STOP_WAIT_SECONDS = 40.0  # gunicorn's graceful timeout (30 s) and some


def _load_lifetime():
    """web/lifetime.py by its path, without importing the ``web`` package."""
    spec = importlib.util.spec_from_file_location("webir_lifetime", Path(__file__).with_name("lifetime.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_LIFETIME = _load_lifetime()


def on_starting(server) -> None:
    """Before binding: stop what an earlier start left on this address, then record this master."""
    path = _pid_path(server.cfg.bind)
    server.webir_pid_path = path
    _stop_previous(server.log, path)
    _RUN_DIR.mkdir(exist_ok=True)
    path.write_text(f"{os.getpid()}\n")


def when_ready(server) -> None:
    if getattr(server, "webir_scheduler", None) is None and _WANT_SCHEDULER:
        server.webir_scheduler = SchedulerProcess(server.pid, server.log)
        server.webir_scheduler.start()


def post_fork(server, worker) -> None:
    _LIFETIME.exit_with_parent(server.pid)


def post_worker_init(worker) -> None:
    """After the worker has loaded the app, before its first request: the app's objects out of the collector's way."""
    gc.collect()
    gc.freeze()


def on_exit(server) -> None:
    scheduler = getattr(server, "webir_scheduler", None)
    if scheduler is not None:
        scheduler.stop()
    path = getattr(server, "webir_pid_path", None)
    if path is not None and _read_pid(path) == os.getpid():
        path.unlink(missing_ok=True)


class SchedulerProcess:
    """`flask scheduler` beside the workers, started again (with a growing pause) whenever it ends."""

    def __init__(self, master_pid: int, log):
        self.master_pid, self.log = master_pid, log
        self.process: subprocess.Popen | None = None
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def command(self) -> list[str]:
        return [sys.executable, "-m", "flask", "--app", "web", "scheduler", "--parent-pid", str(self.master_pid)]

    def start(self) -> None:
        # A worker forked while Popen runs would inherit the pipe Popen reads until the new process has
        # exec'd, and keep it open: Popen would then wait for that worker to exit. The master forks its
        # workers only while no Popen runs.
        os.register_at_fork(before=self.lock.acquire, after_in_parent=self.lock.release,
                            after_in_child=self.lock.release)
        threading.Thread(target=self._keep_running, name="scheduler-process", daemon=True).start()

    def _keep_running(self) -> None:
        pause = 1.0
        while not self.stopping.is_set():
            with self.lock:
                if self.stopping.is_set():
                    return
                # Its own session: Ctrl-C in the terminal stops the master, which then stops it here.
                self.process = subprocess.Popen(self.command(), start_new_session=True)  # noqa: S603
            self.log.info("scheduler process started (pid: %s)", self.process.pid)
            started = time.monotonic()
            self.process.wait()  # gunicorn may reap it first; wait() then reports 0
            if self.stopping.is_set():
                return
            pause = 1.0 if time.monotonic() - started > 60 else min(pause * 2, 60.0)
            self.log.warning("scheduler process %s ended; starting it again in %.0f s", self.process.pid, pause)
            self.stopping.wait(pause)

    def stop(self, timeout: float = 30.0) -> None:
        with self.lock:
            self.stopping.set()
            process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()  # it finishes the job in hand and exits
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()


def _pid_path(bind: list[str]) -> Path:
    address = "_".join(bind).replace("/", "_").replace(":", "-")
    return _RUN_DIR / f"gunicorn-{address}.pid"


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _stop_previous(log, path: Path) -> None:
    """Stop the master an earlier start recorded, if it still runs and is one of ours (not a reused pid)."""
    pid = _read_pid(path)
    if pid is None or pid == os.getpid() or not _is_our_master(pid):
        return
    log.warning("stopping the server (pid: %s) an earlier start left running on this address", pid)
    _signal(pid, signal.SIGTERM)
    if not _gone_within(pid, _STOP_WAIT_SECONDS):
        _signal(pid, signal.SIGKILL)
        _gone_within(pid, 5.0)


def _is_our_master(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False  # gone, or no /proc to check with: leave it alone
    if command[0].startswith(b"gunicorn: master"):  # the title gunicorn gives it when setproctitle is installed
        return True
    return any(part.endswith(b"gunicorn") for part in command) and any(
        part.endswith(b"gunicorn_conf.py") for part in command)


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False
