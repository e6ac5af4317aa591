"""Importing and reconciling WebIR query logs (issue 12): rows per second and peak memory by file size.

    .venv/bin/python bench/query_logs.py --rows 100000 1000000                  # SQLite file in /tmp
    PGPORT_TEST=55468 bash scripts/with-postgres.sh \\
        sh -c '.venv/bin/python bench/query_logs.py --rows 100000 1000000 --database-url "$TEST_DATABASE_URL"'

The demo city is loaded into an empty database and 200 query registrations are filed and approved through the
real chain (workflows.filing), so reconciliation finds registrations to match. For each size a Big5 (CP950) CSV
download with ROC dates is written to /tmp: most rows by the demo queriers on registered subjects, the rest
spread over every flag. Each import runs in a fresh process (so its peak memory is its own) against a database
holding only the registrations: workflows.oversight.imports.import_query_logs reads the file as a stream, judges
each row, writes the rows in batches to the staging table (executemany; PostgreSQL: COPY) and moves them into
query_log with one INSERT … SELECT, one commit. Then the same process judges every row again
(workflows.oversight.reconcile.reconcile_rows, the pass run after registrations change: one streamed read, the
changed verdicts to a temporary table, one UPDATE … FROM). Reported: rows/s of
the import (parse + reconcile + insert + commit) and of the second reconcile pass, and the process's peak
resident memory (VmHWM) against its resident memory before the import. Not in `make test`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import machine  # noqa: E402 - bench/common.py, beside this script

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Taipei; the logs cover the month after
REGISTRATIONS = 200
TARGET_PER_S = 20_000
HEADER = ["使用者帳號", "查詢日期", "查詢時間", "作業代號", "查詢條件", "案號", "查詢事由", "查詢結果"]


def setup(url: str) -> list[str]:
    """A fresh database with the demo city and approved registrations; the registered subjects."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from models import Base, sealing
    from workflows.demo import load_demo, valid_national_id
    from workflows.filing.applications import filing_form, submit_application
    from workflows.filing.reads import list_inbox
    from workflows.filing.tasks import complete_task

    sealing.configure(os.environ["DATA_ENCRYPTION_KEY"])
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    subjects = [valid_national_id("F", f"{1 + n % 2}{n:07d}") for n in range(REGISTRATIONS)]
    with Session(engine, expire_on_commit=False) as session:
        load_demo(session, now=NOW, bpmn_dir=ROOT / "bpmn" / "kaohsiung", include_history=False)
        session.commit()
        from sqlalchemy import select

        from models import Person
        applicant = session.scalar(select(Person).where(Person.username == "applicant"))
        head = session.scalar(select(Person).where(Person.username == "sw_unit_head"))
        # The city's 附表一 takes its subject as a row; 社會局's own 附表2 (when its chain is mapped) as fields.
        as_rows = any(f.type == "rows" for f in filing_form(session, "query_registration", applicant).fields)
        for n, subject in enumerate(subjects):
            row = {"query_date": "2026-11-02", "subject_name": "王小明", "subject_national_id": subject,
                   "item": "C0101", "reason": "低收入戶資格審查"}
            data = {"case_number": f"115-社救-{n:05d}", **({"rows": [row]} if as_rows else row),
                    "legal_basis": "社會救助法第十八條、第二十條、第二十一條及第四十四條之三第一項"}
            app = submit_application(session, form_key="query_registration", data=data, actor=applicant, now=NOW)
            task = next(r for r in list_inbox(session, head) if r.application_id == app.id)
            complete_task(session, task_id=task.task_id, actor=head, decision="approve", opinion="", data={},
                          now=NOW)
    engine.dispose()
    return subjects


def write_log(path: Path, rows: int, subjects: list[str]) -> None:
    """A Big5 download: 90 % registered queries, the rest unknown accounts, other items and other subjects."""
    from workflows.demo import valid_national_id

    rng = random.Random(rows)
    with open(path, "w", encoding="cp950", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["勞保 WebIR 查詢紀錄"])
        writer.writerow(HEADER)
        start = NOW + timedelta(hours=1)
        for n in range(rows):
            at = (start + timedelta(seconds=n * 2)).astimezone(UTC) + timedelta(hours=8)  # written in Taipei time
            roll = rng.random()
            account = "ghost.egov" if roll > 0.98 else "applicant.egov"
            item = "B0301" if 0.95 < roll <= 0.98 else "C0101"
            subject = rng.choice(subjects) if roll <= 0.9 else valid_national_id("G", f"{1 + n % 2}{n % 10**7:07d}")
            writer.writerow([account, f"{at.year - 1911}/{at:%m/%d}", f"{at:%H:%M:%S}", item, subject,
                             f"115-社救-{n:07d}", "低收入戶資格審查", "成功"])


def run_import(url: str, path: Path) -> dict:
    """In this (fresh) process: import the file, then reconcile every row again; times and memory."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.orm import Session

    from models import Agency, Person, sealing
    from workflows.oversight.imports import import_query_logs
    from workflows.oversight.reconcile import reconcile_rows

    sealing.configure(os.environ["DATA_ENCRYPTION_KEY"])
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
    from sqlalchemy import select
    with Session(engine, expire_on_commit=False) as session:
        manager = session.scalar(select(Person).where(Person.username == "manager"))
        before = _rss("VmRSS")
        server = _server_cpu(session)
        cpu = time.process_time()
        started = time.perf_counter()
        with open(path, "rb") as stream:
            result = import_query_logs(session, agency_code="KHH-SW", stream=stream, file_name=path.name,
                                       actor=manager, now=NOW + timedelta(days=40))
        imported = time.perf_counter() - started
        import_cpu = time.process_time() - cpu
        import_server = _server_cpu(session) - server
        agency = session.scalar(select(Agency).where(Agency.code == "KHH-SW"))
        started = time.perf_counter()
        # Forget the stored verdicts first, so the pass really writes every flagged row again.
        from sqlalchemy import update

        from models import QueryLog
        session.execute(update(QueryLog).values(flags=0, registration_id=None, person_id=None))
        session.commit()
        cleared = time.perf_counter()
        server = _server_cpu(session)
        cpu = time.process_time()
        changed = reconcile_rows(session, agency)
        session.commit()
        reconciled = time.perf_counter() - cleared
        reconcile_cpu = time.process_time() - cpu
        reconcile_server = _server_cpu(session) - server
    engine.dispose()
    return {"rows": result.rows, "new": result.new, "errors": result.error_count, "import_s": imported,
            "reconcile_s": reconciled, "import_cpu_s": import_cpu, "reconcile_cpu_s": reconcile_cpu,
            "changed": changed, "rss_before_mb": before, "peak_mb": _rss("VmHWM"), "clear_s": cleared - started,
            "import_server_s": import_server, "reconcile_server_s": reconcile_server}


def _server_cpu(session) -> float:
    """CPU seconds the PostgreSQL backend serving this session has used (it runs on this machine); 0 on SQLite,
    whose work is the process's own."""
    from sqlalchemy import text
    if session.get_bind().dialect.name != "postgresql":
        return 0.0
    pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss(field: str) -> float:
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field))
    return int(line.split()[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--database-url", default="sqlite:////tmp/webir-bench-logs.sqlite3")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_import(args.database_url, Path(args.child))))
        return
    print(machine(args.database_url))
    print(f"| rows | import s | import rows/s | per CPU s | with server CPU | reconcile s | reconcile rows/s | "
          f"per CPU s | with server CPU | RSS before MiB | peak MiB | target ≥ {TARGET_PER_S:,}/s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for rows in args.rows:
        subjects = setup(args.database_url)
        path = Path(tempfile.gettempdir()) / f"webir-bench-log-{rows}.csv"
        if not path.exists():
            write_log(path, rows, subjects)
        out = subprocess.run([sys.executable, __file__, "--database-url", args.database_url, "--child", str(path)],
                             check=True, capture_output=True, text=True, env=os.environ)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        assert (r["rows"], r["new"], r["errors"]) == (rows, rows, 0), r
        rate = rows / r["import_s"]
        both = (rows / (r["import_cpu_s"] + r["import_server_s"]),
                rows / (r["reconcile_cpu_s"] + r["reconcile_server_s"]))
        print(f"| {rows:,} | {r['import_s']:.1f} | {rate:,.0f} | {rows / r['import_cpu_s']:,.0f} | {both[0]:,.0f} | "
              f"{r['reconcile_s']:.1f} | {rows / r['reconcile_s']:,.0f} | {rows / r['reconcile_cpu_s']:,.0f} | "
              f"{both[1]:,.0f} | "
              f"{r['rss_before_mb']:.0f} | {r['peak_mb']:.0f} | {'met' if rate >= TARGET_PER_S else 'missed'} |",
              flush=True)
        print(f"  load average now {os.getloadavg()[0]:.2f}; rows rewritten by the reconcile pass {r['changed']:,}",
              flush=True)


if __name__ == "__main__":
    main()
