"""The saved engine state of one manager_account application, step by step: bytes and tasks kept.

    .venv/bin/python bench/state_size.py                 # this tree
    (cd /tmp/base && PYTHONPATH=. /path/to/.venv/bin/python /path/to/bench/state_size.py)   # another checkout

Runs the engine alone (no database): start, then each of the 8 approval steps approved (the last one
rejecting), printing after each save the state's size in bytes (and gzipped, as a hint of its content)
and how many tasks it holds. Imports the tree in the current directory first.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, os.getcwd())

from workflows.engine import SERIALIZER_VERSION, Run, parse_diagram  # noqa: E402

FORM = {"request_type": "add", "name": "吳佩珊", "agency_oid": "2.16.886.101.20002", "phone": "07-3368333",
        "email": "peishan@demo.kcg.gov.tw", "egov_account": "peishan.wu", "has_egov_account": True,
        "has_citizen_certificate": True, "reason": "benchmark", "reminder_days": 3, "escalation_days": 5}


def main() -> None:
    diagram = parse_diagram(Path("bpmn/kaohsiung/manager_account.bpmn").read_bytes())
    state = Run.start(diagram, FORM).save()
    print(f"serializer {SERIALIZER_VERSION}\n")
    print("| after | step waiting | bytes | gzipped | tasks |\n|---|---|---:|---:|---:|")
    for n in range(9):
        run = Run.restore(diagram, state)
        ready = run.ready_tasks()
        tasks = json.loads(state)["tasks"]
        print(f"| {'filing' if n == 0 else f'step {n}'} | {ready[0].step if ready else '(completed)'} | {len(state):,} "
              f"| {len(gzip.compress(state.encode())):,} | {len(tasks)} |")
        if not ready:
            break
        data = {"decision": "reject" if n == 7 else "approve", "opinion": "benchmark"}
        if ready[0].step == "central_clerk_setup":
            data["effective_date"] = "2026-12-01"
        run.complete(ready[0].guid, data)
        state = run.save()


if __name__ == "__main__":
    main()
