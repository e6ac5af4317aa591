"""Check and deploy diagrams as versioned definitions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import DefinitionVersion, DiagramDraft, Person, ProcessDefinition, Role

from .. import audit
from ..access import require_admin
from ..engine import DiagramError, ExpressionError, ParsedDiagram, UserTaskInfo, check_expression, parse_diagram
from ..engine.checks import SCRIPT_REFUSED, Problem, xml_problems
from ..engine.diagrams import MAX_DIAGRAM_BYTES  # noqa: F401 - re-exported for the web layer
from ..errors import Conflict, Invalid
from ..forms import FORMS, STEP_FORMS

KNOWN_ROLES = {r.value for r in Role}


def check_diagram(diagram: ParsedDiagram) -> None:
    """Refuse a diagram the app could not run: unknown lanes or forms, unsafe expressions, scripts."""
    problems = diagram_problems(diagram)
    if problems:
        raise DiagramError(problems)


def diagram_problems(diagram: ParsedDiagram, *, expressions: bool = True) -> list[Problem]:
    """What this app needs of a parsed diagram, as (element id, plain-words message) pairs.

    ``expressions=False`` when the XML checks already vetted every expression, each on its own flow.
    """
    problems: list[Problem] = []
    if diagram.process_id not in FORMS:
        problems.append((diagram.process_id, f"流程代碼「{diagram.process_id}」不是已知的表單代碼"
                                             f"（可用：{'、'.join(FORMS)}）"))
    for task in diagram.user_tasks.values():
        problems += _user_task_problems(task)
    for element_id, expression in diagram.expressions if expressions else ():
        try:
            check_expression(expression)
        except ExpressionError as exc:
            problems.append((element_id, f"條件運算式「{expression}」不被允許：{exc}"))
    problems += [(element_id, SCRIPT_REFUSED) for element_id in diagram.script_elements]
    return problems


def _user_task_problems(task: UserTaskInfo) -> list[Problem]:
    problems: list[Problem] = []
    if task.lane is None:
        problems.append((task.step, "使用者工作不在任何已命名的泳道中，系統無法決定由誰辦理"))
    elif task.lane not in KNOWN_ROLES:
        problems.append((task.step, f"使用者工作位於泳道「{task.lane}」，這不是已知的角色代碼"))
    if task.form is None:
        problems.append((task.step, "使用者工作沒有指定表單（form 屬性）"))
    elif task.form not in STEP_FORMS:
        problems.append((task.step, f"使用者工作指定的表單「{task.form}」系統不認得"
                                    f"（可用：{'、'.join(STEP_FORMS)}）"))
    return problems


def validate_diagram(xml: bytes) -> ParsedDiagram:
    """Parse and check a diagram; raise DiagramError listing every problem next to its element.

    Unsafe or malformed XML is refused before anything else looks at it.
    """
    problems = xml_problems(xml)
    try:
        diagram = parse_diagram(xml)
    except DiagramError as exc:
        raise DiagramError(_unique(problems + exc.problems)) from None
    problems = _unique(problems + diagram_problems(diagram, expressions=False))
    if problems:
        raise DiagramError(problems)
    return diagram


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


class DiagramRefused(Invalid):
    """422: a diagram cannot be deployed; ``problems`` lists (element id, plain-words message)."""

    def __init__(self, problems: list[Problem]):
        super().__init__({}, "流程圖未通過檢查，無法部署")
        self.problems = problems


@dataclass(frozen=True)
class Deployment:
    version: DefinitionVersion
    created: bool  # False: the same content was already deployed as this version


def deploy(session: Session, xml: bytes, *, actor: Person | None, now: datetime,
           jurisdiction: str, note: str | None = None) -> DefinitionVersion:
    """Store a diagram as the next version of its process; identical content keeps its version."""
    return _store(session, validate_diagram(xml), xml, actor=actor, now=now, jurisdiction=jurisdiction,
                  note=note).version


def deploy_version(session: Session, xml: bytes, *, key: str, actor: Person, now: datetime,
                   note: str, jurisdiction: str) -> Deployment:
    """An administrator deploys an edited diagram as the next version of ``key``; running applications stay put."""
    require_admin(actor)
    if not note.strip():
        raise Invalid({"note": "請填寫變更說明"})
    try:
        diagram = validate_diagram(xml)
    except DiagramError as exc:
        raise DiagramRefused(exc.problems) from None
    if diagram.process_id != key:
        raise DiagramRefused([(diagram.process_id, f"流程代碼須為「{key}」，這張圖是「{diagram.process_id}」")])
    deployment = _store(session, diagram, xml, actor=actor, now=now, jurisdiction=jurisdiction, note=note.strip())
    if deployment.created:
        _discard_drafts(session, key, actor)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("另一位管理者剛部署了新版本，請重新整理後再試") from None
    return deployment


def _store(session: Session, diagram: ParsedDiagram, xml: bytes, *, actor: Person | None, now: datetime,
           jurisdiction: str, note: str | None) -> Deployment:
    definition = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == diagram.process_id))
    if definition is None:
        definition = ProcessDefinition(key=diagram.process_id, name=diagram.name, jurisdiction=jurisdiction)
        session.add(definition)
        session.flush()
    existing = session.scalar(select(DefinitionVersion).where(
        DefinitionVersion.definition_id == definition.id, DefinitionVersion.sha256 == diagram.sha256))
    if existing:
        return Deployment(existing, created=False)
    number = (session.scalar(select(func.max(DefinitionVersion.version))
                             .where(DefinitionVersion.definition_id == definition.id)) or 0) + 1
    version = DefinitionVersion(definition=definition, version=number, bpmn_xml=xml, sha256=diagram.sha256,
                                note=note, created_by_id=actor.id if actor else None, created_at=now)
    definition.name = diagram.name
    session.add(version)
    session.flush()
    audit.record(session, "definition_deployed", actor=actor, subject_type="definition_version",
                 subject_id=version.id, now=now, key=definition.key, version=number, sha256=diagram.sha256,
                 note=note)
    return Deployment(version, created=True)


def _discard_drafts(session: Session, key: str, author: Person) -> None:
    """The author's draft of this process is now a version; other admins' drafts stay theirs."""
    session.execute(delete(DiagramDraft).where(DiagramDraft.definition_key == key,
                                               DiagramDraft.author_id == author.id))


def deploy_directory(session: Session, directory: Path, *, now: datetime, jurisdiction: str,
                     include_history: bool = True) -> list[DefinitionVersion]:
    """Deploy a jurisdiction's diagrams and commit: superseded rules first, in order, then the current ones.

    ``history/<edition>/`` holds the diagrams of earlier rules (e.g. ``history/2017``), so a fresh
    database numbers versions as the rules changed; identical content keeps its version.
    """
    editions = sorted(p for p in (directory / "history").glob("*") if p.is_dir()) if include_history else []
    versions = [deploy(session, path.read_bytes(), actor=None, now=now, jurisdiction=jurisdiction,
                       note=_note(path, directory))
                for folder in [*editions, directory] for path in sorted(folder.glob("*.bpmn"))]
    session.commit()
    return versions


def _note(path: Path, directory: Path) -> str:
    edition = f"{path.parent.name} 年版規定" if path.parent != directory else "現行規定"
    return f"{edition}：{path.relative_to(directory)}"


