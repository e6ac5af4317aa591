"""Processes that must not outlive the one that started them: gunicorn's workers and its scheduler process.

A gunicorn master killed with SIGKILL runs no shutdown code, so its children have to notice by themselves.
Linux tells a child when its parent dies (prctl PR_SET_PDEATHSIG); elsewhere a thread polls for it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL_SECONDS = 1.0


def exit_with_parent(parent_pid: int, sig: signal.Signals = signal.SIGTERM) -> None:
    """Have ``sig`` sent to this process as soon as ``parent_pid``, its parent, is gone."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    else:
        threading.Thread(target=_watch, args=(parent_pid, sig), name="exit-with-parent", daemon=True).start()
    if os.getppid() != parent_pid:  # it died before we asked: nobody will tell us
        os.kill(os.getpid(), sig)


def _watch(parent_pid: int, sig: signal.Signals) -> None:
    while os.getppid() == parent_pid:
        threading.Event().wait(POLL_SECONDS)
    os.kill(os.getpid(), sig)
