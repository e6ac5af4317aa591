"""Benchmark: one page of the inbox as GET / reads it (workflows.filing.reads.search_inbox), for the heavy user.

    .venv/bin/python bench/inbox_search.py                       # SQLite file in /tmp, seeded once
    PGPORT_TEST=55466 bash scripts/with-postgres.sh \
        sh -c '.venv/bin/python bench/inbox_search.py --database-url "$TEST_DATABASE_URL"'

Seeds as bench/inbox.py does (its `prepare`, smaller by default: --open-tasks 20000 with --heavy-tasks 5000 of
them held by sw_unit_head), then reads the heavy user's inbox page with each filter the page offers (none, text
search, an application number, overdue, sorted by due date, one step) --repeat times in one process, and prints
per case the statements issued (two: the rows, and the counts per form and step, which give the total; three when
searching or filtering beyond the form: the total of what matches), p50 and p95 in ms and the page's total.
Loopback only; not part of `make test`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import inbox as base  # noqa: E402 - bench/inbox.py, beside this script: its seeding and constants
from common import machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="sqlite:////tmp/webir-bench-inbox-search.sqlite3")
    parser.add_argument("--open-tasks", type=int, default=20_000)
    parser.add_argument("--closed-apps", type=int, default=5_000)
    parser.add_argument("--closed-tasks-per-app", type=int, default=2)
    parser.add_argument("--history", type=int, default=50_000)
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--heavy-tasks", type=int, default=5000)
    parser.add_argument("--empty-state", action="store_true")
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    print(machine(args.database_url))
    base.prepare(args.database_url, args)
    run(args.database_url, args.repeat)


def run(url: str, repeat: int) -> None:
    from sqlalchemy import create_engine, event, select
    from sqlalchemy.orm import Session

    from models import HumanTask, Person, TaskCandidate
    from models.database import tune_sqlite
    from workflows.filing.reads import InboxQuery, search_inbox

    engine = create_engine(url)
    tune_sqlite(engine, base.sqlite_synchronous())
    with Session(engine) as session:
        heavy = session.scalar(select(Person).where(Person.username == base.HEAVY))
        some = session.scalar(select(HumanTask.application_id).join(TaskCandidate).where(
            TaskCandidate.person_id == heavy.id, TaskCandidate.is_open.is_(True)).limit(1))
    cases = {
        "first page": InboxQuery(),
        "text search": InboxQuery(q="benchmark"),
        "application number": InboxQuery(q=str(some)),
        "overdue": InboxQuery(overdue=True),
        "sorted by due": InboxQuery(sort="due"),
        "one step, newest first": InboxQuery(step="unit_head_review", sort="-since"),
        "page 40": InboxQuery(page=40),
    }
    print(f"\n### search_inbox for {base.HEAVY} ({engine.dialect.name}), {repeat} reads per case\n")
    print("| case | statements | total | p50 ms | p95 ms |")
    print("|---|---:|---:|---:|---:|")
    for name, query in cases.items():
        seen: list[str] = []

        def count(_conn, _cursor, statement, *_args, seen=seen):
            seen.append(statement)

        samples = []
        for n in range(repeat):
            with Session(engine) as session:  # one request: its own session, as in the app
                person = session.get(Person, heavy.id)
                if n == 0:
                    event.listen(engine, "before_cursor_execute", count)
                t0 = time.perf_counter()
                page = search_inbox(session, person, query, now=base.NOW + timedelta(days=30))
                samples.append((time.perf_counter() - t0) * 1000)
                if n == 0:
                    event.remove(engine, "before_cursor_execute", count)
        samples.sort()
        print(f"| {name} | {len(seen)} | {page.total:,} | {statistics.median(samples):.2f} | "
              f"{base.pick(samples, 0.95):.2f} |", flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()
