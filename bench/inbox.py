"""Benchmark 4 (issue 6): inbox latency with 100,000 open tasks and 1,000,000 history rows.

    .venv/bin/python bench/inbox.py                              # SQLite file in /tmp, seeded once
    PGPORT_TEST=55531 bash scripts/with-postgres.sh \
        sh -c '.venv/bin/python bench/inbox.py --database-url "$TEST_DATABASE_URL"'
    .venv/bin/python bench/inbox.py --levels db --runs 3 --seconds 8 --write-rate 30   # add --reseed to rebuild

Seeds rows directly (SQLAlchemy Core, batches, as bench/tracking_queries.py): open applications each waiting on
one open step (human_task + 1-2 task_candidate rows spread over the demo people and --people extra staff), one
heavy user (sw_unit_head) holding --heavy-tasks of them, closed applications, completed steps with closed
candidate rows, and --history sign-off rows. Then prints EXPLAIN of the inbox queries and measures:

  db    workflows.filing.reads.list_inbox + inbox_counts, called in the reader process (what GET / calls)
  api   GET /api/v1/tasks under gunicorn (2 workers, started and stopped here), bearer token
  page  GET / (the inbox page) under the same gunicorn, session cookie from a real log-in

as a typical user (a random one of 24 people with open tasks, per request) or as the heavy user, by 8 reader
processes in a closed loop (and 1 for the db floor), idle or while a writer process completes manager_account
approval steps at a steady --write-rate (service layer for db, POST /api/v1/tasks/<id>/complete for api/page).
Per configuration: median over --runs of each run's p50 / p95 / p99, with the p95 range. Target: p95 < 20 ms.
Loopback only; stops by itself; not part of `make test`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import machine, sqlite_synchronous  # noqa: E402 - bench/common.py, beside this script

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
HEAVY = "sw_unit_head"
TARGET_P95_MS = 20.0
STEPS = ["unit_head_review", "agency_head_review", "authority_clerk_review", "central_clerk_setup",
         "agency_manager_setup", "bureau_answer"]
# The writer walks manager_account chains as bench/steps.py does (the last step rejects, so it can file again).
CHAIN = ["sw_unit_head", "sw_head", "labor_clerk", "labor_chief", "labor_director", "it_clerk", "it_chief",
         "it_director"]
WRITER_APPLICANT = "sw_staff"
QUERIER_FORM = {"request_type": "add", "name": "吳佩珊", "job_title": "科員", "national_id": "A123456789",
                "phone": "07-3368333#1234", "email": "peishan@demo.kcg.gov.tw", "egov_account": "peishan.wu",
                "has_egov_account": True, "has_citizen_certificate": True, "read_pdpa": True,
                "items": ["C0101", "B0101"], "reason": "辦理低收入戶審核需查詢投保資料"}
FORM = {"request_type": "add", "name": "吳佩珊", "agency_oid": "2.16.886.101.20002", "phone": "07-3368333",
        "email": "peishan@demo.kcg.gov.tw", "egov_account": "peishan.wu", "has_egov_account": True,
        "has_citizen_certificate": True, "reason": "benchmark",
        # 社會局 allows one agency manager (003 §7): a second one is filed as the successor of the one there
        "succeeds": "manager"}


def decision(step: int) -> dict:
    last = step == len(CHAIN) - 1
    data = {"effective_date": "2026-12-01"} if CHAIN[step] == "it_clerk" else {}
    return {"decision": "reject" if last else "approve", "opinion": "benchmark", "data": data}


def pick(samples: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted samples."""
    return samples[min(len(samples) - 1, int(q * len(samples)))] if samples else float("nan")


# ------------------------------------------------------------------ seeding

def engine_state(session, empty: bool) -> tuple[str, dict | None, dict]:
    """A real saved instance (querier_account waiting at its first step), its trail and its form data.

    Real-sized rows matter: before 854aa3d the inbox query loaded whole Application rows, the saved state
    (about 10 KB) included, and on SQLite the rows' size decides how many pages a join touches.
    """
    if empty:
        return "{}", None, {"name": "benchmark"}
    from workflows.engine import Run
    from workflows.runtime.diagrams import latest_version, load_diagram
    from workflows.settings import timer_data

    run = Run.start(load_diagram(latest_version(session, "querier_account")), {**QUERIER_FORM, **timer_data()})
    trail = run.trail()
    return run.save(), {"done": trail.done, "flows": [list(f) for f in trail.flows]}, QUERIER_FORM


def seed(session, args, rng: random.Random) -> None:
    from sqlalchemy import func, insert, select

    from models import (
        Agency,
        AgencyKind,
        Application,
        DefinitionVersion,
        HistoryEntry,
        HumanTask,
        Person,
        ProcessDefinition,
        TaskCandidate,
        Unit,
    )

    requesting = [a for a, in session.execute(select(Agency.id).where(Agency.has_kind(AgencyKind.REQUESTING)))]
    if args.people and not session.scalar(select(Person.id).where(Person.username == "bench0001")):
        # Extra staff: with the 29 demo people alone every one of them would hold ~5,000 open tasks.
        units = session.execute(select(Unit.id, Unit.agency_id).where(Unit.agency_id.in_(requesting))).all()
        password_hash = session.scalar(select(Person.password_hash).where(Person.username == "applicant"))
        session.execute(insert(Person), [
            dict(username=f"bench{n:04d}", name=f"測試人員{n:04d}", title="科員", agency_id=units[n % len(units)][1],
                 unit_id=units[n % len(units)][0], email=f"bench{n:04d}@demo.kcg.gov.tw", password_hash=password_hash,
                 active=True, is_admin=False) for n in range(1, args.people + 1)])
        session.commit()
    # The form each chain starts (an agency layer's chain, e.g. query_registration_khh_sw, starts a city form).
    versions = session.execute(select(ProcessDefinition.form_key, DefinitionVersion.id).join(DefinitionVersion)).all()
    state_json, trail, form_data = engine_state(session, args.empty_state)
    people = session.execute(select(Person.id, Person.username, Person.agency_id, Person.unit_id)).all()
    heavy_id = next(p.id for p in people if p.username == HEAVY)
    pool = [p for p in people if p.username not in (HEAVY, "admin")]
    by_agency = {a: [p for p in pool if p.agency_id == a] for a in requesting}
    total = args.open_tasks + args.closed_apps
    history_each, history_extra = divmod(args.history, total)
    open_flags = [True] * args.open_tasks + [False] * args.closed_apps
    rng.shuffle(open_flags)
    heavy = set(rng.sample(range(args.open_tasks), min(args.heavy_tasks, args.open_tasks)))
    app_id = (session.scalar(select(func.max(Application.id))) or 0) + 1
    task_id = (session.scalar(select(func.max(HumanTask.id))) or 0) + 1
    apps, tasks, candidates, history = [], [], [], []

    def flush():
        for table, rows in ((Application, apps), (HumanTask, tasks), (TaskCandidate, candidates),
                            (HistoryEntry, history)):
            if rows:
                session.execute(insert(table), rows)
                rows.clear()
        session.commit()

    state_version = json.loads(state_json).get("serializer_version", "1.5")
    opened = 0
    for n, is_open in enumerate(open_flags):
        key, version_id = rng.choice(versions)
        agency = rng.choice(requesting)
        applicant = rng.choice(by_agency[agency])
        created = NOW - timedelta(days=rng.uniform(0, 120 if is_open else 730))
        since = created + timedelta(days=rng.uniform(0, (NOW - created).total_seconds() / 86400))
        if is_open:
            state = "returned" if rng.random() < 0.05 and opened not in heavy else "running"
        else:
            state = rng.choice(["completed"] * 7 + ["rejected"] * 2 + ["withdrawn"])
        apps.append(dict(id=app_id, form_key=key, definition_version_id=version_id, applicant_id=applicant.id,
                         agency_id=agency, unit_id=applicant.unit_id, state=state, data=form_data,
                         workflow_state=state_json, trail=trail, serializer_version=state_version, lock_version=1,
                         created_at=created,
                         updated_at=since, closed_at=None if is_open else since,
                         waiting_since=since if is_open else None))
        # Steps already decided: completed tasks whose candidate rows are closed.
        for k in range(args.closed_tasks_per_app):
            at = created + (since - created) * (k + 1) / (args.closed_tasks_per_app + 1)
            tasks.append(dict(id=task_id, application_id=app_id,
                              task_guid=f"{task_id:08d}-0000-0000-c000-000000000000",
                              step=STEPS[k % len(STEPS)], name="核章", role="unit_head", form="review",
                              state="completed", created_at=at, closed_at=at + timedelta(hours=1),
                              completed_by_id=pool[0].id))
            for holder in rng.sample(pool, k=rng.choice((1, 2))):
                candidates.append(dict(human_task_id=task_id, person_id=holder.id, is_open=False, created_at=at,
                                       form_key=key, step=STEPS[k % len(STEPS)], step_name="核章"))
            task_id += 1
        if is_open:
            if state == "returned":
                step, role, holders = "amend", "applicant", [applicant]
            else:
                step, role, holders = rng.choice(STEPS), "unit_head", rng.sample(pool, k=rng.choice((1, 2)))
            tasks.append(dict(id=task_id, application_id=app_id,
                              task_guid=f"{task_id:08d}-0000-0000-0000-000000000000",
                              step=step, name=step, role=role, form="review", state="open", created_at=since,
                              due_at=since + timedelta(days=5)))
            ids = [h.id for h in holders] + ([heavy_id] if opened in heavy else [])
            candidates.extend(dict(human_task_id=task_id, person_id=i, is_open=True, created_at=since, form_key=key,
                                   step=step, step_name=step) for i in ids)
            task_id += 1
            opened += 1
        for h in range(history_each + (n < history_extra)):
            history.append(dict(application_id=app_id, step=rng.choice(STEPS), step_name="核章", role="unit_head",
                                actor_id=applicant.id, decision=rng.choice(["approve", "return", "submit"]),
                                opinion="同意", created_at=created + timedelta(hours=h)))
        app_id += 1
        if len(apps) >= 5000:
            flush()
    flush()


def prepare(url: str, args) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from models import HistoryEntry, HumanTask, Person, TaskCandidate
    from web import create_app
    from web.extensions import db
    from workflows.demo import load_demo

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        session = db.session
        if args.reseed:
            db.drop_all()
            session.execute(db.text("DROP TABLE IF EXISTS alembic_version"))
            session.commit()
        upgrade()
        load_demo(session, now=NOW, bpmn_dir=ROOT / "bpmn" / "kaohsiung")
        session.commit()
        have = session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.state == "open"))
        if have < args.open_tasks:
            t0 = time.perf_counter()
            seed(session, args, random.Random(42))
            if db.engine.dialect.name == "postgresql":
                # Rows were inserted with explicit ids: move the sequences on, or the writer's inserts collide.
                session.execute(db.text("SELECT setval(pg_get_serial_sequence('application', 'id'), "
                                        "(SELECT max(id) FROM application))"))
                session.execute(db.text("SELECT setval(pg_get_serial_sequence('human_task', 'id'), "
                                        "(SELECT max(id) FROM human_task))"))
                session.commit()
                # What autovacuum reaches after a bulk load: statistics and the visibility map.
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("VACUUM ANALYZE")
            print(f"seeded in {time.perf_counter() - t0:.0f} s")
        heavy_id = session.scalar(select(Person.id).where(Person.username == HEAVY))
        counts = {
            "open tasks": session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.state == "open")),
            "all tasks": session.scalar(select(func.count()).select_from(HumanTask)),
            "candidate rows": session.scalar(select(func.count()).select_from(TaskCandidate)),
            "history rows": session.scalar(select(func.count()).select_from(HistoryEntry)),
            "people": session.scalar(select(func.count()).select_from(Person)),
            f"{HEAVY} open": session.scalar(select(func.count()).select_from(TaskCandidate).where(
                TaskCandidate.person_id == heavy_id, TaskCandidate.is_open.is_(True))),
        }
        print("rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        db.engine.dispose()


def pick_users(url: str, count: int) -> tuple[list[tuple[int, str]], tuple[int, str]]:
    """(id, username) of typical users with open tasks (fixed sample), and of the heavy user."""
    from sqlalchemy import create_engine, func, select

    from models import Person, TaskCandidate

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(Person.id, Person.username, func.count()).join(TaskCandidate)
                            .where(TaskCandidate.is_open.is_(True), Person.username.not_in([HEAVY, "admin"]))
                            .group_by(Person.id, Person.username).order_by(Person.id)).all()
        heavy = conn.execute(select(Person.id, Person.username).where(Person.username == HEAVY)).one()
    engine.dispose()
    sample = random.Random(7).sample(rows, min(count, len(rows)))
    print(f"typical users: {len(sample)} of {len(rows)} people with open tasks; open tasks each: median "
          f"{statistics.median(r[2] for r in rows):.0f}, sample median {statistics.median(r[2] for r in sample):.0f}")
    return [(r[0], r[1]) for r in sample], (heavy[0], heavy[1])


# ------------------------------------------------------------------ EXPLAIN

def explain(url: str, users: list[tuple[int, str]], heavy: tuple[int, str]) -> None:
    from sqlalchemy import create_engine, event
    from sqlalchemy.orm import Session

    from models import Person
    from models.database import tune_sqlite
    from workflows.filing.reads import inbox_counts, list_inbox

    engine = create_engine(url)
    tune_sqlite(engine, sqlite_synchronous())
    dialect = engine.dialect.name
    print(f"\n### EXPLAIN of the inbox queries ({dialect})\n")
    print("The statements are captured from `list_inbox` and `inbox_counts` as they run, then explained with the "
          "same parameters.\n")
    for label, (pid, username) in (("heavy user", heavy), ("typical user", users[0])):
        for name, fn in (("list_inbox", list_inbox), ("inbox_counts", inbox_counts)):
            captured = []

            def capture(conn, cursor, statement, parameters, context, executemany, captured=captured):
                if "task_candidate" in statement:
                    captured.append((statement, parameters))

            with Session(engine) as session:
                person = session.get(Person, pid)
                event.listen(engine, "before_cursor_execute", capture)
                try:
                    fn(session, person)
                finally:
                    event.remove(engine, "before_cursor_execute", capture)
            statement, parameters = captured[0]
            with engine.connect() as conn:
                if dialect == "sqlite":
                    if label != "heavy user":
                        continue  # SQLite's plan does not depend on the parameters
                    plan = [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
                else:
                    plan = [row[0] for row in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement,
                                                                  parameters)]
            uses = "uses ix_task_candidate_person_open" if any("ix_task_candidate_person_open" in line
                                                               for line in plan) else "DOES NOT use the inbox index"
            print(f"{name}, {label} ({username}): {uses}\n```")
            print(re.sub(r"\s+$", "", statement.strip()))
            print("--")
            print("\n".join(plan))
            print("```\n")
    engine.dispose()


# ------------------------------------------------------------------ readers

class Window:
    """Shared start and end of the measured window, set by the driver once every process is ready."""

    def __init__(self):
        self.start = mp.Value("d", 0.0)
        self.end = mp.Value("d", 0.0)

    def set(self, warmup: float, seconds: float) -> None:
        now = time.monotonic()
        self.start.value, self.end.value = now + warmup, now + warmup + seconds

    def phase(self) -> str:
        now = time.monotonic()
        if not self.start.value or now < self.start.value:
            return "warmup"
        return "measure" if now < self.end.value else "done"


def db_reader(url: str, person_ids: list[int], window: Window, ready, out) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from models import Person
    from models.database import tune_sqlite
    from workflows.filing.reads import inbox_counts, list_inbox

    engine = create_engine(url)
    tune_sqlite(engine, sqlite_synchronous())
    rng = random.Random(os.getpid())
    samples, ready_sent = [], False
    while (phase := window.phase()) != "done":
        with Session(engine) as session:  # one request: its own session and transaction, as in the app
            person = session.get(Person, rng.choice(person_ids))
            t0 = time.perf_counter()
            rows = list_inbox(session, person)
            t1 = time.perf_counter()
            counts = inbox_counts(session, person)
            t2 = time.perf_counter()
        assert rows and counts
        if phase == "measure":
            samples.append((t2 - t0, t1 - t0, t2 - t1))
        elif not ready_sent:
            ready.put(1)
            ready_sent = True
    engine.dispose()
    out.put(("reader", samples, 0))


def http_get(port: int, path: str, headers: dict) -> tuple[int, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, len(response.read())
    finally:
        conn.close()


def http_reader(port: int, path: str, credentials: list[dict], window: Window, ready, out) -> None:
    rng = random.Random(os.getpid())
    samples, errors, ready_sent = [], 0, False
    while (phase := window.phase()) != "done":
        t0 = time.perf_counter()
        status, size = http_get(port, path, rng.choice(credentials))
        dt = time.perf_counter() - t0
        if phase == "measure":
            if status == 200 and size > 0:
                samples.append((dt, dt, 0.0))
            else:
                errors += 1
        elif not ready_sent:
            ready.put(1)
            ready_sent = True
    out.put(("reader", samples, errors))


# ------------------------------------------------------------------ writers (steady rate)

def _paced(rate: float):
    interval, next_at = 1.0 / rate, time.monotonic()

    def wait():
        nonlocal next_at
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        next_at = max(next_at + interval, time.monotonic() - 1.0)  # never burst more than a second of backlog
    return wait


def service_writer(url: str, rate: float, window: Window, stop, ready, out) -> None:
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from models import HumanTask, Person, TaskCandidate, TaskState
    from models.database import tune_sqlite
    from workflows.filing.applications import submit_application
    from workflows.filing.tasks import complete_task

    engine = create_engine(url)
    tune_sqlite(engine, sqlite_synchronous())
    wait, samples, ready_sent = _paced(rate), [], False
    while not stop.is_set():
        with Session(engine, expire_on_commit=False) as session:
            people = {p.username: p for p in session.scalars(select(Person).where(
                Person.username.in_([*CHAIN, WRITER_APPLICANT])))}
            app = submit_application(session, form_key="manager_account", data=FORM, actor=people[WRITER_APPLICANT],
                                     now=datetime.now(UTC))
            for step, approver in enumerate(CHAIN):
                task_id = session.scalar(select(HumanTask.id).where(
                    HumanTask.application_id == app.id, HumanTask.state == TaskState.OPEN))
                holders = session.scalars(select(Person).join(TaskCandidate).where(
                    TaskCandidate.human_task_id == task_id)).all()
                actor = people.get(approver) if approver in {h.username for h in holders} else holders[0]
                wait()
                t0 = time.perf_counter()
                complete_task(session, task_id=task_id, actor=actor, now=datetime.now(UTC), **decision(step))
                if window.phase() == "measure":
                    samples.append(time.perf_counter() - t0)
                if not ready_sent:
                    ready.put(1)
                    ready_sent = True
                if stop.is_set():
                    break
    engine.dispose()
    out.put(("writer", samples, 0))


def _api(port: int, method: str, path: str, body=None, token=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                     headers={"Content-Type": "application/json",
                              **({"Authorization": f"Bearer {token}"} if token else {})})
        response = conn.getresponse()
        payload = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {payload[:200]!r}")
        return json.loads(payload)
    finally:
        conn.close()


def api_writer(port: int, rate: float, window: Window, stop, ready, out) -> None:
    tokens = {u: _api(port, "POST", "/api/v1/login", {"username": u, "password": "demo"})["token"]
              for u in {*CHAIN, WRITER_APPLICANT}}
    wait, samples, errors, ready_sent = _paced(rate), [], 0, False
    while not stop.is_set():
        app = _api(port, "POST", "/api/v1/applications", {"form": "manager_account", "data": FORM},
                   tokens[WRITER_APPLICANT])
        for step, approver in enumerate(CHAIN):
            task = _api(port, "GET", f"/api/v1/applications/{app['id']}", token=tokens[WRITER_APPLICANT])[
                "current_tasks"][0]
            actor = approver if approver in task["candidates"] else task["candidates"][0]
            if actor not in tokens:
                tokens[actor] = _api(port, "POST", "/api/v1/login", {"username": actor, "password": "demo"})["token"]
            wait()
            t0 = time.perf_counter()
            try:
                _api(port, "POST", f"/api/v1/tasks/{task['id']}/complete", decision(step), tokens[actor])
            except RuntimeError:
                errors += 1
                break
            if window.phase() == "measure":
                samples.append(time.perf_counter() - t0)
            if not ready_sent:
                ready.put(1)
                ready_sent = True
            if stop.is_set():
                break
    out.put(("writer", samples, errors))


# ------------------------------------------------------------------ gunicorn

def start_gunicorn(url: str) -> tuple[subprocess.Popen, int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The production settings (`make serve`: web/gunicorn_conf.py, each worker's loaded app frozen out of the
    # collector's way) without the scheduler process and without the access log.
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "WEBIR_SCHEDULER_ENABLED": "0",
           "SCHEDULER_ENABLED": "0"}
    gunicorn = str(Path(sys.executable).parent / "gunicorn")  # the interpreter's own virtualenv
    server = subprocess.Popen([gunicorn, "-c", "web/gunicorn_conf.py", "--workers", "2", "--bind", f"127.0.0.1:{port}",
                               "web:create_app()"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(300):
        try:
            if http_get(port, "/login", {})[0] == 200:
                return server, port
        except OSError:
            time.sleep(0.1)
    stop_gunicorn(server)
    raise RuntimeError("gunicorn did not start")


def stop_gunicorn(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)  # its own session: the group id is the master's PID
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)


def page_login(port: int, username: str) -> dict:
    """Log in through the form (CSRF token and all); return the Cookie header of the session."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    response = conn.getresponse()
    html = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', html)
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/login", body=urllib.parse.urlencode(
        {"csrf_token": token.group(1), "username": username, "password": "demo"}),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    response = conn.getresponse()
    response.read()
    session_cookie = response.getheader("Set-Cookie", "").split(";")[0]
    conn.close()
    if response.status != 302 or not session_cookie:
        raise RuntimeError(f"log-in of {username} failed: {response.status}")
    return {"Cookie": session_cookie}


def api_login(port: int, username: str) -> dict:
    token = _api(port, "POST", "/api/v1/login", {"username": username, "password": "demo"})["token"]
    return {"Authorization": f"Bearer {token}"}


# ------------------------------------------------------------------ driver

def measure(level: str, readers: int, load: str, *, url: str, port: int | None, who: list, write_rate: float,
            warmup: float, seconds: float) -> dict:
    window, ready, out, stop = Window(), mp.Queue(), mp.Queue(), mp.Event()
    procs = []
    if load == "writes":
        target, args = (service_writer, (url, write_rate)) if level == "db" else (api_writer, (port, write_rate))
        procs.append(mp.Process(target=target, args=(*args, window, stop, ready, out)))
    for _ in range(readers):
        if level == "db":
            procs.append(mp.Process(target=db_reader, args=(url, who, window, ready, out)))
        else:
            procs.append(mp.Process(target=http_reader, args=(port, "/api/v1/tasks" if level == "api" else "/", who,
                                                              window, ready, out)))
    for p in procs:
        p.daemon = True  # never outlive the driver
        p.start()
    try:
        for _ in procs:
            ready.get(timeout=120)
        window.set(warmup, seconds)
        time.sleep(warmup + seconds)
        stop.set()
        reads, writes, errors = [], [], 0
        for _ in procs:
            kind, samples, errs = out.get(timeout=120)
            (reads if kind == "reader" else writes).extend(samples)
            errors += errs
    finally:
        if not window.start.value:
            window.set(0, 0)  # a process failed to start: let the others finish
        stop.set()
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.terminate()
    reads.sort()
    totals = [s[0] * 1000 for s in reads]
    return {"rate": len(reads) / seconds, "p50": pick(totals, 0.5), "p95": pick(totals, 0.95),
            "p99": pick(totals, 0.99), "list": sorted(s[1] * 1000 for s in reads),
            "counts": sorted(s[2] * 1000 for s in reads), "writes": len(writes) / seconds,
            "write_p95": pick(sorted(w * 1000 for w in writes), 0.95), "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="sqlite:////tmp/webir-bench-inbox.sqlite3")
    parser.add_argument("--open-tasks", type=int, default=100_000)
    parser.add_argument("--closed-apps", type=int, default=100_000)
    parser.add_argument("--closed-tasks-per-app", type=int, default=2)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=2000, help="extra staff besides the 29 demo people")
    parser.add_argument("--heavy-tasks", type=int, default=5000)
    parser.add_argument("--empty-state", action="store_true",
                        help="seed '{}' as the saved engine state instead of a real ~10 KB one")
    parser.add_argument("--levels", default="db,api,page")
    parser.add_argument("--users", default="typical,heavy")
    parser.add_argument("--loads", default="idle,writes")
    parser.add_argument("--db-readers", default="1,8")
    parser.add_argument("--readers", type=int, default=8, help="reader processes for api and page")
    parser.add_argument("--write-rate", type=float, default=30, help="approval steps per second while writing")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--warmup", type=float, default=1.5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reseed", action="store_true", help="drop and seed again")
    args = parser.parse_args()

    url = args.database_url
    prepare(url, args)
    print(f"\nmachine: {machine(url)}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    typical, heavy = pick_users(url, 24)
    explain(url, typical, heavy)

    levels = args.levels.split(",")
    server, port, credentials = None, None, {}
    if {"api", "page"} & set(levels):
        server, port = start_gunicorn(url)
    try:
        if server:
            for level, login in (("api", api_login), ("page", page_login)):
                if level in levels:
                    credentials[level] = {"typical": [login(port, u) for _, u in typical],
                                          "heavy": [login(port, heavy[1])]}
        print(f"\n{args.runs} runs x {args.seconds:g} s per configuration (after {args.warmup:g} s warm-up); "
              f"writer at {args.write_rate:g} steps/s; target p95 < {TARGET_P95_MS:g} ms\n")
        print("| level | user | load | readers | reads/s | p50 ms | p95 ms | p95 min-max | p99 ms | writes/s "
              "| p95 < 20 ms |")
        print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
        parts = []
        for level in levels:
            for user in args.users.split(","):
                for load in args.loads.split(","):
                    for readers in (map(int, args.db_readers.split(",")) if level == "db" else [args.readers]):
                        who = ([p for p, _ in typical] if user == "typical" else [heavy[0]]) if level == "db" else \
                            credentials[level][user]
                        runs = [measure(level, readers, load, url=url, port=port, who=who,
                                        write_rate=args.write_rate, warmup=args.warmup, seconds=args.seconds)
                                for _ in range(args.runs)]
                        med = {k: statistics.median(r[k] for r in runs) for k in ("rate", "p50", "p95", "p99",
                                                                                   "writes")}
                        p95s = [r["p95"] for r in runs]
                        errors = sum(r["errors"] for r in runs)
                        verdict = "yes" if med["p95"] < TARGET_P95_MS else "**no**"
                        print(f"| {level} | {user} | {load} | {readers} | {med['rate']:.0f} | {med['p50']:.2f} | "
                              f"{med['p95']:.2f} | {min(p95s):.2f}-{max(p95s):.2f} | {med['p99']:.2f} | "
                              f"{med['writes']:.0f}{' (' + str(errors) + ' errors)' if errors else ''} | {verdict} |",
                              flush=True)
                        if level == "db":
                            parts.append((user, load, readers, runs))
        if parts:
            print("\nDB level, split (median over runs of each run's p50 / p95, ms):\n")
            print("| user | load | readers | list_inbox p50 | list_inbox p95 | inbox_counts p50 | inbox_counts p95 |")
            print("|---|---|---:|---:|---:|---:|---:|")
            for user, load, readers, runs in parts:
                cols = [statistics.median(pick(r[k], q) for r in runs) for k in ("list", "counts") for q in (0.5, 0.95)]
                print(f"| {user} | {load} | {readers} | " + " | ".join(f"{c:.2f}" for c in cols) + " |")
    finally:
        if server:
            stop_gunicorn(server)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
