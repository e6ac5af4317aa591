"""Benchmark: list, search and dashboard queries over 100,000 applications and 1,000,000 history rows.

    .venv/bin/python bench/tracking_queries.py                 # SQLite file in /tmp, seeded once
    .venv/bin/python bench/tracking_queries.py --database-url postgresql+psycopg://...

Seeds rows directly (SQLAlchemy Core, batched) with the same shape the app writes, then times the
same read functions the pages and the API call (workflows.tracking), as city-wide, agency and unit
users. Prints p50 / p95 per query. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import common  # noqa: E402, F401 - bench/common.py: the data key for the app
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from models import (  # noqa: E402
    Agency,
    AgencyKind,
    Application,
    DefinitionVersion,
    HistoryEntry,
    HumanTask,
    Person,
    ProcessDefinition,
    TaskCandidate,
)
from web import create_app  # noqa: E402
from web.extensions import db  # noqa: E402
from workflows.demo import load_demo  # noqa: E402
from workflows.tracking.dashboard import dashboard, percentile  # noqa: E402
from workflows.tracking.search import Filters, search_applications

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
STATES = [("running", 30), ("returned", 5), ("completed", 50), ("rejected", 10), ("withdrawn", 5)]


def seed(session, applications: int, history_per_app: int, rng: random.Random) -> None:
    versions = session.execute(select(ProcessDefinition.key, DefinitionVersion.id)
                               .join(DefinitionVersion)).all()
    agencies = session.scalars(select(Agency).where(Agency.has_kind(AgencyKind.REQUESTING))).all()
    people = session.scalars(select(Person)).all()
    by_agency = {a.id: [p for p in people if p.agency_id == a.id] for a in agencies}
    steps = ["unit_head_review", "agency_head_review", "authority_clerk_review", "central_clerk_setup",
             "agency_manager_setup", "bureau_answer"]
    states = [s for s, weight in STATES for _ in range(weight)]
    start_id = (session.scalar(select(func.max(Application.id))) or 0) + 1
    apps, tasks, candidates, history = [], [], [], []
    task_id = (session.scalar(select(func.max(HumanTask.id))) or 0) + 1
    batch = 5000

    def flush():
        for table, rows in ((Application, apps), (HumanTask, tasks), (TaskCandidate, candidates),
                            (HistoryEntry, history)):
            if rows:
                session.execute(insert(table), rows)
                rows.clear()
        session.commit()

    for n in range(applications):
        app_id = start_id + n
        key, version_id = rng.choice(versions)
        agency = rng.choice(agencies)
        applicant = rng.choice(by_agency[agency.id])
        created = NOW - timedelta(days=rng.uniform(0, 730))
        state = rng.choice(states)
        is_open = state in ("running", "returned")
        since = created + timedelta(days=rng.uniform(0, min(60, (NOW - created).days + 0.01)))
        apps.append(dict(id=app_id, form_key=key, definition_version_id=version_id, applicant_id=applicant.id,
                         agency_id=agency.id, unit_id=applicant.unit_id, state=state, data={"name": applicant.name},
                         workflow_state="{}", serializer_version="1.5", lock_version=1, created_at=created,
                         updated_at=since, closed_at=None if is_open else since,
                         waiting_since=since if is_open else None))
        if is_open:
            step = "amend" if state == "returned" else rng.choice(steps)
            tasks.append(dict(id=task_id, application_id=app_id, task_guid=f"{app_id:08d}-0000-0000-0000-000000000000",
                              step=step, name=step, role="unit_head", form="review", state="open", created_at=since,
                              due_at=since + timedelta(days=5)))
            for holder in rng.sample(by_agency[agency.id], k=min(2, len(by_agency[agency.id]))):
                candidates.append(dict(human_task_id=task_id, person_id=holder.id, is_open=True, created_at=since,
                                       form_key=key))
            task_id += 1
        for h in range(history_per_app):
            history.append(dict(application_id=app_id, step=rng.choice(steps), step_name="核章", role="unit_head",
                                actor_id=applicant.id, decision=rng.choice(["approve", "return", "submit"]),
                                opinion="同意", created_at=created + timedelta(hours=h)))
        if len(apps) >= batch:
            flush()
    flush()


def timed(fn, repeat: int) -> tuple[float, float]:
    fn()  # warm the caches the way a running server has them warm
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), percentile(samples, 95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="sqlite:////tmp/webir-bench-tracking.sqlite3")
    parser.add_argument("--applications", type=int, default=100_000)
    parser.add_argument("--history-per-app", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--reseed", action="store_true", help="drop and seed again")
    args = parser.parse_args()

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "SECRET_KEY": "bench"})
    with app.app_context():
        session = db.session
        if args.reseed:
            db.drop_all()
            session.execute(db.text("DROP TABLE IF EXISTS alembic_version"))
            session.commit()
        upgrade()
        load_demo(session, now=NOW, bpmn_dir=ROOT / "bpmn" / "kaohsiung")
        session.commit()
        have = session.scalar(select(func.count()).select_from(Application))
        if have < args.applications:
            t0 = time.perf_counter()
            seed(session, args.applications - have, args.history_per_app, random.Random(42))
            print(f"seeded in {time.perf_counter() - t0:.1f} s")
        counts = {t.__tablename__: session.scalar(select(func.count()).select_from(t))
                  for t in (Application, HumanTask, TaskCandidate, HistoryEntry)}
        print(f"database: {db.engine.dialect.name}; rows: {counts}")

        def who(username):
            return session.scalar(select(Person).where(Person.username == username))

        city, agency, unit = who("labor_clerk"), who("sw_head"), who("sw_unit_head")
        holder = session.scalar(select(Person.username).join(TaskCandidate).limit(1))
        cases = {
            "list, city-wide, newest first (page 1)": lambda: search_applications(session, city, Filters(), now=NOW),
            "list, city-wide, page 200": lambda: search_applications(session, city, Filters(), now=NOW, page=200),
            "list, agency head, by waiting": lambda: search_applications(session, agency, Filters(), now=NOW,
                                                                         sort="-waiting"),
            "list, unit head": lambda: search_applications(session, unit, Filters(), now=NOW),
            "search: running querier forms waiting > 7 days": lambda: search_applications(
                session, city, Filters(form="querier_account", state="running", waiting_days=7), now=NOW),
            "search: by current holder": lambda: search_applications(session, city, Filters(holder=holder), now=NOW),
            "search: applicant name contains": lambda: search_applications(session, city, Filters(applicant="林"),
                                                                           now=NOW),
            "search: step + agency": lambda: search_applications(
                session, city, Filters(step="unit_head_review", agency_id=agency.agency_id), now=NOW),
            "dashboard, city-wide, all processes": lambda: dashboard(session, city, now=NOW),
            "dashboard, one process": lambda: dashboard(session, city, now=NOW, process="querier_account"),
            "dashboard, agency head": lambda: dashboard(session, agency, now=NOW),
        }
        print("\n| query | p50 ms | p95 ms |\n|---|---:|---:|")
        for name, fn in cases.items():
            p50, p95 = timed(fn, args.repeat)
            print(f"| {name} | {p50:.1f} | {p95:.1f} |")
            session.rollback()


if __name__ == "__main__":
    main()
