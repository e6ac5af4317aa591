"""What every benchmark prints about where it ran: the machine, the database and the commit."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The app refuses to start without a data encryption key; the benchmarks' people and forms are made up, so a
# fixed key does (the app and every gunicorn worker it starts read it from the environment).
os.environ.setdefault("DATA_ENCRYPTION_KEY", "YmVuY2htYXJrLW9ubHktZGF0YS1rZXktMzJieXRlcyE=")


def git_commit() -> str:
    """The checked-out commit, short: `git rev-parse HEAD`, which knows a worktree (where .git is a file) as well
    as a plain checkout; empty when git or the repository is not there."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,  # noqa: S607 - git from PATH
                             timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()[:7] if out.returncode == 0 else ""


def sqlite_synchronous() -> str:
    """What the app reads from WEBIR_SQLITE_SYNCHRONOUS, for the benchmarks' own engines too."""
    return os.environ.get("WEBIR_SQLITE_SYNCHRONOUS", "NORMAL").upper()


def machine(url: str) -> str:
    from sqlalchemy import create_engine, text

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    engine = create_engine(url)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sync = sqlite_synchronous()
            server = f"SQLite {sqlite3.sqlite_version} (WAL, synchronous={sync})"
        else:
            names = ("fsync", "synchronous_commit", "shared_buffers")
            settings = {k: conn.execute(text(f"SHOW {k}")).scalar() for k in names}
            server = (f"PostgreSQL {conn.execute(text('SHOW server_version')).scalar().split()[0]} ("
                      + ", ".join(f"{k}={v}" for k, v in settings.items()) + ")")
    engine.dispose()
    commit = git_commit()
    return (f"{os.cpu_count()} CPUs ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}, {server}; "
            f"commit {commit or '?'}; load average at start {os.getloadavg()[0]:.2f}")
