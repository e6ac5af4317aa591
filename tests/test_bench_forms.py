"""The applications the benchmarks file are still forms the shipped pack accepts.

No test runs `bench/`, so a form that changed (社會局's layer replacing the querier form, 附表三 asking the computer's
IP) broke the timer bench twice unnoticed: its seeders died on ``Invalid`` and the bench waited for them forever.
The benches' form data is read from their source as literals (importing them would set up their environment), and
filed here as the people they file as.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import NOW
from workflows.filing.applications import submit_application

BENCH = Path(__file__).resolve().parent.parent / "bench"


def constants(script: str) -> dict:
    """The module-level literal assignments of a bench script (FORM, APPLICANTS, …)."""
    found = {}
    for node in ast.parse((BENCH / script).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass  # not a literal (a path, a call)
    return found


def filings():
    steps, sweep, ab, inbox = (constants(s) for s in ("steps.py", "timer_sweep.py", "ab.py", "inbox.py"))
    for applicant in steps["APPLICANTS"]:  # bench/steps.py form(): the successor of 社會局's one manager there
        succeeds = {"succeeds": steps["SUCCEEDS"][applicant]} if applicant in steps["SUCCEEDS"] else {}
        yield pytest.param("manager_account", {**steps["FORM"], **succeeds}, applicant, id=f"steps-{applicant}")
    yield pytest.param("querier_account", sweep["QUERIER_FORM"], sweep["APPLICANT"], id="timer_sweep")
    yield pytest.param("manager_account", ab["FORM"], "sw_staff", id="ab")
    yield pytest.param("manager_account", inbox["FORM"], inbox["WRITER_APPLICANT"], id="inbox-writer")


@pytest.mark.parametrize(("form_key", "data", "applicant"), list(filings()))
def test_each_benchmarks_application_is_accepted_as_filed(session, person, form_key, data, applicant):
    app = submit_application(session, form_key=form_key, data=dict(data), actor=person(applicant), now=NOW)
    assert app.id and app.tasks  # filed, and waiting at its first step
