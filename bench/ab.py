"""A/B: one approval step, one filing and one read, in this tree and in a baseline tree, interleaved.

    git worktree add /tmp/base <commit>   # or: mkdir /tmp/base && git archive <commit> | tar -x -C /tmp/base
    .venv/bin/python bench/ab.py --base /tmp/base                        # every level, 30 rounds
    .venv/bin/python bench/ab.py --base /tmp/base --levels service --rounds 60

On a shared machine absolute times swing with its load; a ratio taken burst by burst does not. One
long-lived worker process per tree and level, each with its own SQLite file (migrated, demo city loaded)
and its own tree first on sys.path, runs one burst at a time; bursts go A B, B A, A B … in turn, and each
round gives the ratio this tree / baseline. Printed per level and measure: the median of the rounds'
ratios with the interquartile range, and each tree's median CPU ms per operation (process CPU time: the
SQLite driver runs in the process, so it is counted; the clients are in the worker too, nothing else).

A process's speed also depends on its string hash seed (dict and set layouts): a tree measured against itself
with a random seed per worker gave 0.59x for the engine step in one run of three (IQR 0.54-0.72), and
0.98-1.03x (engine and service step) in three runs with the seed shared. So the two workers of a pair share
one PYTHONHASHSEED, and the rounds are split over several seeds (--seeds, a fresh pair of workers each); the
last column gives each seed's median.

Levels (a burst is one manager_account application, 8 approval steps, the last one rejecting):
  engine   restore -> complete -> engine steps -> save, in memory
  service  workflows.filing: submit_application, then complete_task per step (one Session per application)
  http     Flask test client with bearer tokens: POST /api/v1/applications, and per step
           GET /api/v1/applications/<id> then POST /api/v1/tasks/<id>/complete (what bench/steps.py http does);
           each request in its own app context and database session, as under gunicorn
  served   the http level's calls over real HTTP to the tree's own gunicorn, started as its bench/steps.py starts
           it (so the served process's settings, web/gunicorn_conf.py or none, are part of what is compared);
           each call is measured as the CPU time its two workers spent on it (/proc/<pid>/task/*/schedstat,
           nanoseconds), not as the client's process time
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
CHAIN = ["sw_unit_head", "sw_head", "labor_clerk", "labor_chief", "labor_director", "it_clerk", "it_chief",
         "it_director"]
FORM = {"request_type": "add", "name": "吳佩珊", "agency_oid": "2.16.886.101.20002", "phone": "07-3368333",
        "email": "peishan@demo.kcg.gov.tw", "egov_account": "peishan.wu", "has_egov_account": True,
        "has_citizen_certificate": True, "reason": "benchmark",
        # 社會局 allows one agency manager (003 §7): a second one is filed as the successor of the one there
        "succeeds": "manager"}
MEASURES = {"engine": ["step"], "service": ["file", "step"], "http": ["file", "read", "step"],
            "served": ["file", "read", "step"]}


def decision(step: int) -> dict:
    data = {"effective_date": "2026-12-01"} if CHAIN[step] == "it_clerk" else {}
    return {"decision": "reject" if step == len(CHAIN) - 1 else "approve", "opinion": "benchmark", "data": data}


# ------------------------------------------------------------------ worker (runs inside the tree measured)

def _database(tmp: str):
    os.environ.setdefault("DATA_ENCRYPTION_KEY", "YmVuY2htYXJrLW9ubHktZGF0YS1rZXktMzJieXRlcyE=")
    from datetime import UTC, datetime

    from flask_migrate import upgrade

    from web import create_app
    from web.extensions import db
    from workflows.demo import load_demo

    url = f"sqlite:///{tmp}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True,
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        load_demo(db.session, now=datetime.now(UTC), bpmn_dir=Path("bpmn/kaohsiung"))
        db.session.commit()
    return app, url


def _engine_burst(diagram):
    from workflows.engine import Run

    times = {"step": []}
    state = Run.start(diagram, {**FORM, "reminder_days": 3, "escalation_days": 5}).save()
    for step in range(len(CHAIN)):
        c0 = time.process_time()
        run = Run.restore(diagram, state)
        d = decision(step)
        run.complete(run.ready_tasks()[0].guid, {**d["data"], "decision": d["decision"], "opinion": d["opinion"]})
        state = run.save()
        times["step"].append(time.process_time() - c0)
    return times


def _service_burst(engine):
    from datetime import UTC, datetime

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from models import HumanTask, Person, TaskCandidate, TaskState
    from workflows.filing.applications import submit_application
    from workflows.filing.tasks import complete_task

    times = {"file": [], "step": []}
    with Session(engine, expire_on_commit=False) as session:
        people = {p.username: p for p in session.scalars(select(Person))}
        c0 = time.process_time()
        app = submit_application(session, form_key="manager_account", data=dict(FORM), actor=people["sw_staff"],
                                 now=datetime.now(UTC))
        times["file"].append(time.process_time() - c0)
        for step in range(len(CHAIN)):
            task_id = session.scalar(select(HumanTask.id).where(
                HumanTask.application_id == app.id, HumanTask.state == TaskState.OPEN))
            actor = session.scalar(select(Person.username).join(TaskCandidate).where(
                TaskCandidate.human_task_id == task_id).order_by(Person.id))
            c0 = time.process_time()
            complete_task(session, task_id=task_id, actor=people[actor], now=datetime.now(UTC), **decision(step))
            times["step"].append(time.process_time() - c0)
    return times


def _http_burst(client, tokens):
    def call(method, path, body=None, who="sw_staff"):
        response = client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {tokens[who]}"})
        assert response.status_code < 300, (path, response.status_code, response.get_data(as_text=True)[:300])
        return response.get_json()

    times = {"file": [], "read": [], "step": []}
    c0 = time.process_time()
    app = call("POST", "/api/v1/applications", {"form": "manager_account", "data": FORM})
    times["file"].append(time.process_time() - c0)
    for step in range(len(CHAIN)):
        c0 = time.process_time()
        detail = call("GET", f"/api/v1/applications/{app['id']}")
        times["read"].append(time.process_time() - c0)
        task = detail["current_tasks"][0]
        actor = task["candidates"][0]
        c0 = time.process_time()
        call("POST", f"/api/v1/tasks/{task['id']}/complete", decision(step), who=actor)
        times["step"].append(time.process_time() - c0)
    return times


def _workers_cpu(master: int) -> int:
    """Nanoseconds on a CPU of every thread of the gunicorn master's children (its workers), so far."""
    total = 0
    for child in Path(f"/proc/{master}/task/{master}/children").read_text().split():
        for task in Path(f"/proc/{child}/task").iterdir():
            total += int((task / "schedstat").read_text().split()[0])
    return total


def _served_burst(base: str, master: int, tokens: dict[str, str]) -> dict:
    import urllib.request

    def call(measure, method, path, body=None, who="sw_staff"):
        request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": f"Bearer {tokens[who]}"})
        c0 = _workers_cpu(master)
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        times[measure].append((_workers_cpu(master) - c0) / 1e9)
        return answer

    times = {"file": [], "read": [], "step": []}
    app = call("file", "POST", "/api/v1/applications", {"form": "manager_account", "data": FORM})
    for step in range(len(CHAIN)):
        task = call("read", "GET", f"/api/v1/applications/{app['id']}")["current_tasks"][0]
        call("step", "POST", f"/api/v1/tasks/{task['id']}/complete", decision(step), who=task["candidates"][0])
    return times


def _served(tmp: str):
    """The tree's gunicorn (as its bench/steps.py starts it) on a migrated demo database; the burst and a stop."""
    import urllib.request

    _, url = _database(tmp)
    sys.path.insert(0, str(Path.cwd() / "bench"))
    import steps  # the tree's own bench/steps.py

    server, base = steps.start_gunicorn(url)

    def login(username):
        request = urllib.request.Request(base + "/api/v1/login", method="POST", headers={
            "Content-Type": "application/json"}, data=json.dumps({"username": username, "password": "demo"}).encode())
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["token"]

    tokens = {u: login(u) for u in {"sw_staff", *CHAIN}}
    for _ in range(2):  # both workers warm: each has served every kind of call
        _served_burst(base, server.pid, tokens)
    return lambda: _served_burst(base, server.pid, tokens), server


def worker(level: str, tmp: str) -> None:
    sys.path.insert(0, os.getcwd())  # the tree measured, before this script's own
    import logging

    logging.disable(logging.WARNING)
    server = None
    if level == "served":
        burst, server = _served(tmp)
    elif level == "engine":
        from workflows.engine import parse_diagram

        diagram = parse_diagram(Path("bpmn/kaohsiung/manager_account.bpmn").read_bytes())
        burst = lambda: _engine_burst(diagram)  # noqa: E731
    else:
        app, _ = _database(tmp)
        context = app.app_context()
        context.push()
        from web.extensions import db

        if level == "service":
            burst = lambda: _service_burst(db.engine)  # noqa: E731
        else:
            client = app.test_client()
            tokens = {u: client.post("/api/v1/login", json={"username": u, "password": "demo"}).get_json()["token"]
                      for u in {"sw_staff", *CHAIN}}
            # Each request in an app context of its own, as a served one: with this one pushed, every request
            # would share its database session, and the person and roles loaded by the first would be reused.
            context.pop()
            burst = lambda: _http_burst(client, tokens)  # noqa: E731
    try:
        burst()  # warm-up: caches, first parse
        print("ready", flush=True)
        for line in sys.stdin:
            if line.strip() != "go":
                break
            print(json.dumps(burst()), flush=True)
    finally:
        if server is not None:
            import signal

            os.killpg(server.pid, signal.SIGTERM)  # the bench started it in a session of its own
            server.wait(30)


# ------------------------------------------------------------------ driver

def start(tree: Path, level: str, tmp: str, seed: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(tree), "WEBIR_SCHEDULER_ENABLED": "0", "PYTHONHASHSEED": seed}
    proc = subprocess.Popen([sys.executable, str(HERE), "--worker", level, "--tmp", tmp], cwd=tree, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if line != "ready":
        raise RuntimeError(f"{tree} {level}: worker did not start ({line!r})")
    return proc


def burst(proc: subprocess.Popen) -> dict:
    proc.stdin.write("go\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    return q[0], statistics.median(values), q[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, help="the baseline tree (a checkout of the commit to compare with)")
    parser.add_argument("--levels", default="engine,service,http")
    parser.add_argument("--rounds", type=int, default=30, help="in all, split over the seeds")
    parser.add_argument("--seeds", default="1,2,3", help="PYTHONHASHSEED of each pair of workers")
    parser.add_argument("--worker")
    parser.add_argument("--tmp")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.tmp)
        return
    if args.base is None:
        parser.error("--base is required")
    trees = {"base": args.base.resolve(), "this": HERE.parent.parent}
    seeds = args.seeds.split(",")
    each = max(1, args.rounds // len(seeds))
    print(f"this tree {trees['this']} vs base {trees['base']}; {each} rounds x hash seeds {args.seeds}; "
          f"load {os.getloadavg()[0]:.1f}")
    print("\n| level | measure | base CPU ms (median) | this CPU ms (median) | ratio this/base (median of rounds) "
          "| IQR | per seed |\n|---|---|---:|---:|---:|---|---|")
    scratch = tempfile.mkdtemp(prefix="webir-ab-")
    for level in args.levels.split(","):
        samples = {name: {m: [] for m in MEASURES[level]} for name in trees}
        ratios = {m: [] for m in MEASURES[level]}
        per_seed = {m: [] for m in MEASURES[level]}
        for seed in seeds:
            procs = {name: start(tree, level, f"{scratch}/{name}-{level}-{seed}.sqlite3", seed)
                     for name, tree in trees.items()}
            seed_ratios = {m: [] for m in MEASURES[level]}
            try:
                for n in range(each):
                    order = ["base", "this"] if n % 2 == 0 else ["this", "base"]
                    got = {name: burst(procs[name]) for name in order}
                    for m in MEASURES[level]:
                        for name in trees:
                            samples[name][m] += got[name][m]
                        seed_ratios[m].append(statistics.mean(got["this"][m]) / statistics.mean(got["base"][m]))
            finally:
                for proc in procs.values():
                    proc.stdin.close()
                    proc.wait(timeout=30)
            for m in MEASURES[level]:
                ratios[m] += seed_ratios[m]
                per_seed[m].append(statistics.median(seed_ratios[m]))
        for m in MEASURES[level]:
            low, mid, high = quartiles(ratios[m])
            base_ms = statistics.median(samples["base"][m]) * 1000
            this_ms = statistics.median(samples["this"][m]) * 1000
            seeded = " ".join(f"{r:.2f}" for r in per_seed[m])
            print(f"| {level} | {m} | {base_ms:.2f} | {this_ms:.2f} | **{mid:.2f}×** | {low:.2f}–{high:.2f} "
                  f"| {seeded} |", flush=True)
    print(f"\nload at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
