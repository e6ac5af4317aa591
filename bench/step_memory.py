"""Memory of one web process as it serves many approval steps (issue 17: flat after 10,000 steps).

    .venv/bin/python bench/step_memory.py --steps 10000          # SQLite (a fresh file in /tmp)
    .venv/bin/python bench/step_memory.py --database-url postgresql+psycopg://postgres@127.0.0.1:55432/postgres

One process holds the Flask app, as a gunicorn worker does, and serves through its WSGI interface (the Flask
test client: the same request handling, no socket) what `bench/steps.py` http asks: file a manager_account
application, read it before each step, complete the step as one of its own candidates, 8 steps to the end.
Prints the resident set size (VmRSS), split into anonymous memory and file pages, and the Python heap's live
blocks every `--every` steps; on SQLite also the memory SQLite itself holds (``sqlite3_memory_used``: its page
cache, up to `cache_size` (32 MB) per connection, and its prepared statements). A leak shows as anonymous memory
that keeps rising beyond SQLite's own once that has reached its bound (caches, the identity map, engine
objects); on SQLite the file pages grow with the database file, which the connection maps into memory
(`mmap_size`), and are not the process's to keep.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import machine  # noqa: E402 - bench/common.py, beside this script
from steps import APPLICANTS, CHAIN, decision, form, prepare  # noqa: E402


def status_mb() -> dict[str, float]:
    """VmRSS and its parts: anonymous memory (the heap, SQLite's page cache) and file pages (SQLite's mmap of
    the database file, which grows with the rows written and is the kernel's to drop)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            fields[name] = int(value.split()[0]) / 1024
    return fields


def sqlite_mb() -> float | None:
    """What SQLite has allocated in this process (``sqlite3_memory_used``), or None without the shared library:
    the driver (``_sqlite3``) links the system's libsqlite3, so this is the same library instance it uses."""
    name = ctypes.util.find_library("sqlite3")
    if not name:
        return None
    used = ctypes.CDLL(name).sqlite3_memory_used
    used.restype = ctypes.c_int64
    return used() / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="sqlite:////tmp/webir-bench-memory.sqlite3")
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=1_000)
    args = parser.parse_args()

    prepare(args.database_url)
    from web import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "SECRET_KEY": "bench"})
    client = app.test_client()

    def call(method: str, path: str, body=None, token=None):
        response = client.open(path, method=method, json=body,
                               headers={"Authorization": f"Bearer {token}"} if token else {})
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.get_data(as_text=True)[:300]}")
        return response.get_json()

    tokens: dict[str, str] = {}

    def token(username: str) -> str:
        if username not in tokens:
            tokens[username] = call("POST", "/api/v1/login", {"username": username, "password": "demo"})["token"]
        return tokens[username]

    print(machine(args.database_url))
    print(f"one process, Flask test client, {args.database_url.split(':')[0]}; RSS every {args.every} steps\n")
    print("| steps | RSS MB | anonymous MB | file pages MB | SQLite's own MB | live Python blocks | s since start |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    done, t0, applicant_turn = 0, time.perf_counter(), 0

    def report() -> None:
        gc.collect()
        mb = status_mb()
        own = sqlite_mb() if args.database_url.startswith("sqlite") else None
        print(f"| {done:,} | {mb['VmRSS']:.1f} | {mb['RssAnon']:.1f} | {mb['RssFile']:.1f} | "
              f"{'–' if own is None else f'{own:.1f}'} | "
              f"{sys.getallocatedblocks():,} | {time.perf_counter() - t0:.0f} |", flush=True)

    report()
    while done < args.steps:
        applicant = APPLICANTS[applicant_turn % len(APPLICANTS)]
        applicant_turn += 1
        filed = call("POST", "/api/v1/applications", {"form": "manager_account", "data": form(applicant)},
                     token(applicant))
        for step in range(len(CHAIN)):
            detail = call("GET", f"/api/v1/applications/{filed['id']}", token=token(applicant))
            task = detail["current_tasks"][0]
            call("POST", f"/api/v1/tasks/{task['id']}/complete", decision(step), token(task["candidates"][0]))
            done += 1
            if done % args.every == 0:
                report()


if __name__ == "__main__":
    main()
