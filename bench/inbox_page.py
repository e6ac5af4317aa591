"""Benchmark: CPU time of one `GET /` (the inbox page) in a warmed process, for an A/B between two trees.

    .venv/bin/python bench/inbox_page.py --database-url sqlite:////tmp/inbox.sqlite3 --user sw_unit_head

The database is one `bench/inbox.py` or `bench/inbox_search.py` seeded (their `prepare`; this script seeds
nothing). It logs in through the Flask test client, warms up, then times --requests pages by the process's CPU
time (not wall-clock: the machine may be shared) and prints the median and p90, the statements one page issues,
the page's size and the load average. For an A/B, run it from each tree alternately on copies of one seeded
file (the newer tree's copy migrated with `flask db upgrade`), several rounds; with PYTHONPATH naming the other
tree, this file runs that tree's app. `--profile` prints cProfile's
top functions instead. Loopback only; not part of `make test`.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402, F401 - bench/common.py, beside this script: the benchmarks' data key


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--user", default="sw_unit_head")
    parser.add_argument("--path", default="/")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    from sqlalchemy import event

    import web
    from web import create_app
    from web.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "SECRET_KEY": "bench",
                      "WEBIR_SCHEDULER_ENABLED": False, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    signed_in = client.post("/login", data={"username": args.user, "password": "demo"})
    if signed_in.status_code != 302:
        raise SystemExit(f"log-in as {args.user} failed: {signed_in.status_code}")
    for _ in range(args.warmup):
        page = client.get(args.path)
        if page.status_code != 200:
            raise SystemExit(f"GET {args.path}: {page.status_code}")
    seen: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda _c, _cur, statement, *_a: seen.append(statement))
    client.get(args.path)
    statements = len(seen)
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests):
            client.get(args.path)
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        return
    cpu = []
    for _ in range(args.requests):
        started = time.process_time()
        client.get(args.path)
        cpu.append((time.process_time() - started) * 1000)
    cpu.sort()
    tree = Path(web.__file__).resolve().parent.parent  # the tree whose app ran (PYTHONPATH may name another)
    print(f"{tree} user {args.user} GET {args.path}: {statements} statements, {len(page.data)} bytes; "
          f"CPU ms per page median {cpu[len(cpu) // 2]:.2f} p90 {cpu[int(len(cpu) * 0.9)]:.2f}; "
          f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
