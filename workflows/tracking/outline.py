"""The text version of a diagram: its steps in order, and for one application where each stands.

A diagram drawn by bpmn-js is a picture a screen reader cannot read (WCAG 2.2 1.1.1); these lists say the
same thing in words beside it: the application page (done / current with its holders / not reached), the
dashboard (how many wait at each step) and the editor's version history (the steps of each version).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from models import ROLE_LABELS, Application, HistoryEntry, HumanTask, Person, TaskCandidate, TaskState

from ..calendar import local_date
from ..engine import ordered_steps
from ..errors import NotFound
from ..runtime.diagrams import get_version, load_diagram
from ..runtime.visibility import may_view


class StepState(StrEnum):
    DONE = "done"
    CURRENT = "current"
    NOT_REACHED = "not_reached"


@dataclass(frozen=True)
class OutlineStep:
    """One human step of a diagram, in the diagram's order."""

    step: str
    name: str
    role: str
    role_label: str


@dataclass(frozen=True)
class ApplicationStep:
    """A step of one application's diagram and where the application stands on it."""

    step: str
    name: str
    role: str
    role_label: str
    state: StepState
    holders: list[str] = field(default_factory=list)  # who holds it now (current)
    since: datetime | None = None  # since when it waits (current)
    decided_by: str | None = None  # who decided it last (done)
    decided_at: datetime | None = None


def list_version_steps(session: Session, key: str, version: int) -> list[OutlineStep]:
    """The human steps of one deployed version, in order (404 when there is no such version)."""
    diagram = load_diagram(get_version(session, key, version))
    return [OutlineStep(s.step, s.name, s.lane or "", ROLE_LABELS.get(s.lane or "", s.lane or ""))
            for s in ordered_steps(diagram)]


def application_steps(session: Session, application_id: int, viewer: Person, *, now: datetime) -> list[ApplicationStep]:
    """Each step of the application's own diagram version with its state, for whoever may see the application."""
    app = session.scalar(select(Application).where(Application.id == application_id).options(
        selectinload(Application.tasks).selectinload(HumanTask.candidates).joinedload(TaskCandidate.person),
        selectinload(Application.history).joinedload(HistoryEntry.actor),
        joinedload(Application.definition_version)))
    if app is None or not may_view(session, app.id, viewer, local_date(now)):
        raise NotFound("no such application")
    open_tasks = {t.step: t for t in app.tasks if t.state == TaskState.OPEN}
    done = set((app.trail or {}).get("done", []))
    decided = {h.step: h for h in app.history}  # the last decision on each step wins
    return [_state_of(s, open_tasks.get(s.step), s.step in done or s.step in decided, decided.get(s.step))
            for s in ordered_steps(load_diagram(app.definition_version))]


def _state_of(step, task: HumanTask | None, finished: bool, last: HistoryEntry | None) -> ApplicationStep:
    role = step.lane or ""
    common = (step.step, step.name, role, ROLE_LABELS.get(role, role))
    if task is not None:  # waiting here now, even when it was decided once before (a return, a resubmission)
        return ApplicationStep(*common, StepState.CURRENT, [c.person.name for c in task.candidates],
                               task.created_at)
    if finished:
        return ApplicationStep(*common, StepState.DONE, decided_by=last.actor.name if last and last.actor else None,
                               decided_at=last.created_at if last else None)
    return ApplicationStep(*common, StepState.NOT_REACHED)
