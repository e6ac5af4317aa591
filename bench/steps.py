"""Benchmark: approval steps per second, from the raw engine up to HTTP.

    .venv/bin/python bench/steps.py                       # SQLite (a fresh file in /tmp)
    .venv/bin/python bench/steps.py --database-url postgresql+psycopg://postgres@127.0.0.1:55432/postgres
    .venv/bin/python bench/steps.py --levels engine,service --clients 1,8 --seconds 8 --runs 3

Levels (issue 6):
  engine   restore -> complete one user task -> engine steps -> save, in memory (manager_account: 8 steps)
  service  the same through workflows.filing.tasks.complete_task: candidates, inbox rows, history, audit, one commit
  http     POST /api/v1/tasks/<id>/complete under gunicorn (2 workers), token auth, JSON
Each client files manager_account applications and walks them to the end (the last step rejects, so
the applicant can file again), as the real approvers. Clients are processes (1 or 8, closed loop).
Each client first walks one application untimed (its process's first statements compile, its diagram is
parsed) and the clock starts when every client is ready: the slowest step of those first applications is
printed apart. Before, they were timed with the rest, and with 8 clients over 5 s they were the p99.
Prints steps/s (median of runs, min-max) and per-step p50 / p95 / p99 in ms.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import machine, sqlite_synchronous  # noqa: E402 - bench/common.py, beside this script  # also gives the app its data key

CHAIN = ["sw_unit_head", "sw_head", "labor_clerk", "labor_chief", "labor_director", "it_clerk", "it_chief",
         "it_director"]
FORM = {"request_type": "add", "name": "吳佩珊", "agency_oid": "2.16.886.101.20002", "phone": "07-3368333",
        "email": "peishan@demo.kcg.gov.tw", "egov_account": "peishan.wu", "has_egov_account": True,
        "has_citizen_certificate": True, "reason": "benchmark"}
# Staff whose every step has someone else to decide it (unit heads and 勞工局 / 資訊處 staff would not).
APPLICANTS = ["sw_staff", "applicant", "ep_querier", "yb_querier", "hb_querier"]
# 社會局 allows one agency manager (003 §7): its staff file as the successor of the one there; the other
# agencies have no such rule and no manager to succeed.
SUCCEEDS = {"sw_staff": "manager", "applicant": "manager"}


def form(applicant: str) -> dict:
    return {**FORM, "succeeds": SUCCEEDS[applicant]} if applicant in SUCCEEDS else FORM


def decision(step: int) -> dict:
    last = step == len(CHAIN) - 1
    data = {"effective_date": "2026-12-01"} if CHAIN[step] == "it_clerk" else {}
    return {"decision": "reject" if last else "approve", "opinion": "benchmark", "data": data}


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    s = sorted(samples)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))]  # noqa: E731
    return statistics.median(s), pick(0.95), pick(0.99)


def walk_timed(walk, seconds: float, start) -> tuple[list[float], list[float], list[float]]:
    """One untimed application first (its steps kept apart as the cold ones), then, once every client is ready,
    applications until the time is up: (step samples, filing samples, cold steps)."""
    cold: list[float] = []
    walk(cold, [])
    start.wait()
    samples, files, deadline = [], [], time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        walk(samples, files)
    return samples, files, cold


# ------------------------------------------------------------------ engine floor

def engine_client(seconds: float, out, start) -> None:
    from workflows.engine import Run, parse_diagram

    diagram = parse_diagram((ROOT / "bpmn/kaohsiung/manager_account.bpmn").read_bytes())

    def walk(samples: list[float], _files: list[float]) -> None:
        run = Run.start(diagram, {**FORM, "reminder_days": 3, "escalation_days": 5})
        state = run.save()
        for step in range(len(CHAIN)):
            t0 = time.perf_counter()
            run = Run.restore(diagram, state)
            d = decision(step)
            run.complete(run.ready_tasks()[0].guid, {**d["data"], "decision": d["decision"], "opinion": d["opinion"]})
            state = run.save()
            samples.append(time.perf_counter() - t0)

    out.put(walk_timed(walk, seconds, start))


# ------------------------------------------------------------------ service layer

def service_client(url: str, applicant: str, seconds: float, out, start) -> None:
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from models import HumanTask, Person, TaskCandidate, TaskState
    from models.database import tune_sqlite
    from workflows.filing.applications import submit_application
    from workflows.filing.tasks import complete_task

    engine = create_engine(url)
    tune_sqlite(engine, sqlite_synchronous())

    def walk(samples: list[float], files: list[float]) -> None:
        with Session(engine, expire_on_commit=False) as session:
            people = {p.username: p for p in session.scalars(select(Person))}
            now = datetime.now(UTC)
            t0 = time.perf_counter()
            app = submit_application(session, form_key="manager_account", data=form(applicant), actor=people[applicant],
                                     now=now)
            files.append(time.perf_counter() - t0)
            for step in range(len(CHAIN)):
                task_id = session.scalar(select(HumanTask.id).where(
                    HumanTask.application_id == app.id, HumanTask.state == TaskState.OPEN))
                actor = session.scalar(select(Person.username).join(TaskCandidate).where(  # the step's own people
                    TaskCandidate.human_task_id == task_id).order_by(Person.id))
                t0 = time.perf_counter()
                complete_task(session, task_id=task_id, actor=people[actor], now=datetime.now(UTC), **decision(step))
                samples.append(time.perf_counter() - t0)

    timed = walk_timed(walk, seconds, start)
    engine.dispose()
    out.put(timed)


# ------------------------------------------------------------------ HTTP

def http_call(base: str, method: str, path: str, body=None, token=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def http_client(base: str, applicant: str, seconds: float, out, start) -> None:
    tokens = {u: http_call(base, "POST", "/api/v1/login", {"username": u, "password": "demo"})["token"]
              for u in {*CHAIN, applicant}}

    def walk(samples: list[float], files: list[float]) -> None:
        t0 = time.perf_counter()
        app = http_call(base, "POST", "/api/v1/applications", {"form": "manager_account", "data": form(applicant)},
                        tokens[applicant])
        files.append(time.perf_counter() - t0)
        for step in range(len(CHAIN)):
            detail = http_call(base, "GET", f"/api/v1/applications/{app['id']}", token=tokens[applicant])
            task = detail["current_tasks"][0]
            actor = task["candidates"][0]
            token = tokens.get(actor) or http_call(base, "POST", "/api/v1/login",
                                                   {"username": actor, "password": "demo"})["token"]
            tokens[actor] = token
            t0 = time.perf_counter()
            http_call(base, "POST", f"/api/v1/tasks/{task['id']}/complete", decision(step), token)
            samples.append(time.perf_counter() - t0)

    out.put(walk_timed(walk, seconds, start))


def start_gunicorn(url: str) -> tuple[subprocess.Popen, str]:
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
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/login", timeout=1)
            return server, base
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


# ------------------------------------------------------------------ driver

def prepare(url: str) -> None:
    from web import create_app
    from web.extensions import db
    from workflows.demo import load_demo

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        db.drop_all()
        db.session.execute(db.text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        from flask_migrate import upgrade

        upgrade()
        load_demo(db.session, now=datetime.now(UTC), bpmn_dir=ROOT / "bpmn" / "kaohsiung")
        db.session.commit()
        db.engine.dispose()


def measure(level: str, url: str, clients: int, seconds: float, base: str | None
            ) -> tuple[float, list[float], list[float], list[float]]:
    """Steps/s and the timed steps and filings; then the steps of each client's first, untimed application.

    Each client first walks one application untimed (its process's first statements compile, its diagram is
    parsed, its connections open) and waits for the others; the clock starts when all are ready.
    """
    out = mp.Queue()
    start = mp.Barrier(clients + 1)
    procs = []
    for i in range(clients):
        if level == "engine":
            target, args = engine_client, (seconds, out, start)
        elif level == "service":
            target, args = service_client, (url, APPLICANTS[i % len(APPLICANTS)], seconds, out, start)
        else:
            target, args = http_client, (base, APPLICANTS[i % len(APPLICANTS)], seconds, out, start)
        procs.append(mp.Process(target=target, args=args))
    for p in procs:
        p.start()
    start.wait()
    t0 = time.perf_counter()
    got = [out.get() for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    samples = [s for steps, _files, _cold in got for s in steps]
    return (len(samples) / wall, samples, [f for _steps, files, _cold in got for f in files],
            [c for _steps, _files, cold in got for c in cold])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="sqlite:////tmp/webir-bench-steps.sqlite3")
    parser.add_argument("--levels", default="engine,service,http")
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.database_url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(args.database_url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    prepare(args.database_url)
    print(machine(args.database_url))
    print(f"{args.runs} runs x {args.seconds:g} s; p50/p95/p99 of the step call; filing p50/p95 of submit_application "
          "(service) or POST /api/v1/applications (http)")
    print("\n| level | clients | steps/s (median) | min-max | p50 ms | p95 ms | p99 ms | filing p50 ms | filing p95 ms "
          "| first application: slowest step ms | load |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for level in args.levels.split(","):
        server, base = start_gunicorn(args.database_url) if level == "http" else (None, None)
        try:
            for clients in map(int, args.clients.split(",")):
                rates, all_samples, all_files, all_cold = [], [], [], []
                for _ in range(args.runs):
                    rate, samples, files, cold = measure(level, args.database_url, clients, args.seconds, base)
                    rates.append(rate)
                    all_samples += samples
                    all_files += files
                    all_cold += cold
                p50, p95, p99 = (x * 1000 for x in percentiles(all_samples))
                f50, f95, _ = (x * 1000 for x in percentiles(all_files)) if all_files else ("", "", "")
                filing = f"{f50:.2f} | {f95:.2f}" if all_files else "– | –"
                print(f"| {level} | {clients} | {statistics.median(rates):.0f} | {min(rates):.0f}-{max(rates):.0f} "
                      f"| {p50:.2f} | {p95:.2f} | {p99:.2f} | {filing} | {max(all_cold) * 1000:.0f} "
                      f"| {os.getloadavg()[0]:.1f} |", flush=True)
        finally:
            if server:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(10)


if __name__ == "__main__":
    main()
