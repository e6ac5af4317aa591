"""Move applications that are still under way from one diagram version to another.

Deploying never touches running applications; an administrator may move them on purpose,
one application per transaction, and only where each current step exists in the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Application, DefinitionVersion, HumanTask, Person, TaskState

from .. import audit
from ..access import require_admin
from ..engine import ParsedDiagram, Run
from ..engine.migration import MigrationError, migrate_run
from ..errors import Conflict, NotFound
from ..runtime.diagrams import get_version, load_diagram
from ..runtime.sync import restore, single_writer, sync


@dataclass(frozen=True)
class Candidate:
    """A waiting application of the source version and whether it can move to the target."""

    application_id: int
    applicant: str | None
    steps: list[str]
    reason: str | None  # None: it can move

    @property
    def movable(self) -> bool:
        return self.reason is None


def list_candidates(session: Session, *, key: str, from_version: int, to_version: int,
                    actor: Person) -> list[Candidate]:
    """Applications waiting on ``from_version``, each with the reason it cannot move, if any."""
    require_admin(actor)
    source, target = get_version(session, key, from_version), get_version(session, key, to_version)
    diagram = load_diagram(target)
    apps = session.scalars(select(Application).where(Application.definition_version_id == source.id,
                                                     Application.is_open)
                           .order_by(Application.id)).all()
    return [Candidate(a.id, a.applicant.name if a.applicant else None, [t.name for t in _open(a)],
                      _missing_step_reason(a, target, diagram)) for a in apps]


def migrate_application(session: Session, *, application_id: int, to_version: int, actor: Person,
                        now: datetime) -> Application:
    """Move one waiting application to another version of its diagram and commit, or refuse with the reason."""
    require_admin(actor)
    app = session.get(Application, application_id)
    if app is None:
        raise NotFound("沒有這件申請")
    source = app.definition_version
    target = get_version(session, source.definition.key, to_version)
    _check_movable(app, target)
    diagram = load_diagram(target)
    with single_writer(session, "此案件剛被其他人處理，請重新整理後再試"):
        try:
            run = migrate_run(restore(app), diagram, (app.trail or {}).get("done", ()))
        except MigrationError as exc:
            raise Conflict(f"案件 {app.id} 無法移轉到第 {target.version} 版：{exc}") from None
        _follow_open_tasks(app, run)
        app.definition_version = target
        sync(session, app, run, now)
        audit.record(session, "application_migrated", actor=actor, subject_type="application",
                     subject_id=app.id, now=now, key=source.definition.key, from_version=source.version,
                     to_version=target.version, steps=[t.step for t in _open(app)])
    return app


def _open(app: Application) -> list[HumanTask]:
    return [t for t in app.tasks if t.state == TaskState.OPEN]


def _check_movable(app: Application, target: DefinitionVersion) -> None:
    if not app.is_open:
        raise Conflict(f"案件 {app.id} 已結案，不需要移轉")
    if not app.workflow_state:
        raise Conflict(f"案件 {app.id} 的流程尚未啟動（啟動時發生異常），請在流程異常頁重試，它會在目前的版本上啟動")
    if target.id == app.definition_version_id:
        raise Conflict(f"案件 {app.id} 已在第 {target.version} 版")
    reason = _missing_step_reason(app, target, load_diagram(target))
    if reason:
        raise Conflict(f"案件 {app.id} 無法移轉：{reason}")


def _missing_step_reason(app: Application, target: DefinitionVersion, diagram: ParsedDiagram) -> str | None:
    missing = [t for t in _open(app) if t.step not in diagram.user_tasks]
    if not missing:
        return None
    names = "、".join(f"「{t.name}」（{t.step}）" for t in missing)
    return f"目前步驟{names}在第 {target.version} 版中已不存在"


def _follow_open_tasks(app: Application, run: Run) -> None:
    """Keep each open inbox row (its holders, its waiting time) when its step is still held by the same role.

    The engine may give a re-predicted task a new id; rows are matched by step instead. A step whose
    lane changed is left for ``sync`` to close and reopen, so its holders are resolved again.
    """
    ready = {t.step: t for t in run.ready_tasks()}
    for row in _open(app):
        task = ready.get(row.step)
        if task is not None and (task.lane or "") == row.role:
            row.task_guid, row.name, row.form = task.guid, task.name, task.form
