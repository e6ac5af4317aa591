"""What every benchmark prints about where it ran: the machine, the database and the commit."""

from __future__ import annotations

import os
import platform
import sqlite3
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The app refuses to start without a data encryption key; the benchmarks' people and forms are made up, so a
# fixed key does (the app and every gunicorn worker it starts read it from the environment).
os.environ.setdefault("DATA_ENCRYPTION_KEY", "YmVuY2htYXJrLW9ubHktZGF0YS1rZXktMzJieXRlcyE=")


def git_commit() -> str:
    """The checked-out commit, read from .git without running git."""
    git = ROOT / ".git"
    try:
        if git.is_file():  # a worktree: its HEAD is in its own git directory, its refs in the shared one
            git = Path(git.read_text().split(":", 1)[1].strip())
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head[:7]
        ref = head[5:]
        common = Path(git / (git / "commondir").read_text().strip()) if (git / "commondir").exists() else git
        for where in (git, common):
            if (where / ref).exists():
                return (where / ref).read_text().strip()[:7]
        packed = (common / "packed-refs").read_text().splitlines()
        return next(line.split()[0][:7] for line in packed if line.endswith(" " + ref))
    except (OSError, StopIteration):
        return ""


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
