"""Memory of one process as it runs instances of many diagram versions: the parse and serializer caches.

    .venv/bin/python bench/diagram_cache.py --versions 500          # this tree
    (cd /tmp/base && /path/to/.venv/bin/python /path/to/bench/diagram_cache.py --versions 500)   # another checkout

Each "version" is querier_account's XML under its own content hash (what a redeploy makes); for each one
the process parses it through runtime.diagrams.load_diagram and starts, saves and restores one instance
(which builds that version's serializer). Prints the resident set size (VmRSS) every 50 versions.
Imports the tree in the current directory first; no database.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, os.getcwd())

from workflows.engine import Run  # noqa: E402
from workflows.runtime.diagrams import load_diagram  # noqa: E402

TIMERS = {"reminder_days": 3, "escalation_days": 5}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", type=int, default=500)
    args = parser.parse_args()
    xml = Path("bpmn/kaohsiung/querier_account.bpmn").read_bytes()
    print(f"| versions run | RSS MB |\n|---:|---:|\n| 0 | {rss_mb():.1f} |")
    for n in range(1, args.versions + 1):
        version = SimpleNamespace(definition_id=1, sha256=f"{n:064x}", bpmn_xml=xml,
                                  definition=SimpleNamespace(key="querier_account"))
        diagram = load_diagram(version)
        diagram.sha256 = version.sha256  # the serializer cache is keyed on the diagram's own hash
        Run.restore(diagram, Run.start(diagram, TIMERS).save())
        if n % 50 == 0:
            gc.collect()
            print(f"| {n} | {rss_mb():.1f} |", flush=True)


if __name__ == "__main__":
    main()
