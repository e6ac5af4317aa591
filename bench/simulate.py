"""Simulation time of each shipped diagram: the walk a deploy runs before a version goes live.

    .venv/bin/python bench/simulate.py --repeat 7

Times ``workflows.editor.deploy.simulate_diagram`` (every path through the real engine, in memory) on
each diagram under bpmn/kaohsiung (current and history/2017), after one warm-up run per diagram, and
prints min and median in ms with the number of paths and states. Goal: the largest under 1 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, git_commit  # noqa: E402
from workflows.editor.deploy import simulate_diagram  # noqa: E402
from workflows.engine import parse_diagram  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per diagram")
    args = parser.parse_args()
    folder = ROOT / "bpmn" / "kaohsiung"
    files = sorted(folder.glob("*.bpmn")) + sorted((folder / "history" / "2017").glob("*.bpmn"))
    print(f"{os.cpu_count()} CPUs, Python {platform.python_version()}; commit {git_commit() or '?'}; "
          f"load average at start {os.getloadavg()[0]:.2f}; {args.repeat} runs each")
    print("\n| diagram | user tasks | paths | min ms | median ms | problems |")
    print("|---|---:|---:|---:|---:|---:|")
    for path in files:
        diagram = parse_diagram(path.read_bytes())
        result = simulate_diagram(diagram)  # warm-up: builds the serializer for this diagram
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            simulate_diagram(diagram)
            times.append((time.perf_counter() - start) * 1000)
        print(f"| {path.relative_to(folder)} | {len(diagram.user_tasks)} | {len(result.paths)} | {min(times):.0f} "
              f"| {statistics.median(times):.0f} | {len(result.problems)} |")


if __name__ == "__main__":
    main()
