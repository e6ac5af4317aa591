"""Check and deploy diagrams as versioned definitions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from itertools import product
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    AGENCY_STEP_ROLES,
    CITY_ROLES,
    COMMISSIONING_ROLES,
    UNIT_ROLES,
    Agency,
    DefinitionVersion,
    DiagramDraft,
    FormChain,
    Person,
    ProcessDefinition,
    Role,
)

from .. import agency_rules, audit, jurisdiction
from ..access import require_admin
from ..engine import DiagramError, ExpressionError, ParsedDiagram, UserTaskInfo, check_expression, parse_diagram
from ..engine.checks import SCRIPT_REFUSED, Problem, xml_problems
from ..engine.diagrams import MAX_DIAGRAM_BYTES  # noqa: F401 - re-exported for the web layer
from ..engine.simulate import SimPath, StepChoices, expression_names, simulate
from ..errors import Conflict, Invalid, NotFound
from ..forms import FORMS, SCHEDULER, STEP_FORMS, Field
from ..runtime.diagrams import form_chain
from ..settings import timer_data

# The roles the active pack lists (filled in place when one is activated), and its agency layers' lanes (a unit
# head of the manager's unit, say), resolved from the application (agency_rules adds them on activation).
KNOWN_ROLES = jurisdiction.KNOWN_ROLES
# Roles the app hands a step to (runtime.candidates): the applicant, or holders in the unit, agency or city.
ASSIGNABLE_ROLES = ({Role.APPLICANT.value} | {r.value for r in (*UNIT_ROLES, *AGENCY_STEP_ROLES, *CITY_ROLES,
                                                                 *COMMISSIONING_ROLES)}
                    | set(agency_rules.LANE_ROLES))
# A form filed by one of these is signed by the filer: the filing itself is a person's decision.
SIGNING_FILERS = {Role.AGENCY_HEAD.value}
MAX_START_VARIANTS = 16


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
    if diagram.form is not None and diagram.form not in FORMS:
        problems.append((diagram.process_id, f"流程指定的表單「{diagram.form}」不是已知的表單代碼"
                                             f"（可用：{'、'.join(FORMS)}）"))
    elif diagram.form is None and diagram.process_id not in FORMS:
        problems.append((diagram.process_id, f"流程代碼「{diagram.process_id}」不是已知的表單代碼；"
                                             f"請改用表單代碼，或在流程或開始事件加上 form 屬性"
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
    elif task.lane not in ASSIGNABLE_ROLES:
        problems.append((task.step, f"泳道「{task.lane}」的角色不會被指派到案件上，沒有人能辦理這個步驟"
                                    f"（可用：{'、'.join(sorted(ASSIGNABLE_ROLES))}）"))
    if task.form is None:
        problems.append((task.step, "使用者工作沒有指定表單（form 屬性）"))
    elif task.form not in STEP_FORMS:
        problems.append((task.step, f"使用者工作指定的表單「{task.form}」系統不認得"
                                    f"（可用：{'、'.join(STEP_FORMS)}）"))
    return problems


def form_of(diagram: ParsedDiagram) -> str:
    """The form that starts this chain: the diagram's ``form`` property, or its process id."""
    return diagram.form or diagram.process_id


@dataclass(frozen=True)
class CheckReport:
    """Every check of a diagram in one round: problems next to their elements, and the simulated paths."""

    diagram: ParsedDiagram | None
    problems: list[Problem]
    paths: list[SimPath]


def check_xml(xml: bytes) -> CheckReport:
    """Run every check, even when one fails, so an administrator sees all problems at once.

    Unsafe or malformed XML raises DiagramError before anything else looks at it.
    """
    problems = xml_problems(xml)
    try:
        diagram = parse_diagram(xml)
    except DiagramError as exc:
        return CheckReport(None, _unique(problems + exc.problems), [])
    problems += diagram_problems(diagram, expressions=False)
    simulation = simulate_diagram(diagram)
    # An element or expression already refused fails when run too: say it once.
    refused = {element for element, _message in problems} | _refused_expressions(diagram)
    found = [p for p in simulation.problems if not (p in simulation.failures and p[0] in refused)]
    return CheckReport(diagram, _unique(problems + found), simulation.paths)


def _refused_expressions(diagram: ParsedDiagram) -> set[str]:
    """Elements carrying an expression outside the allow-list."""
    refused = set()
    for element, expression in diagram.expressions:
        try:
            check_expression(expression)
        except ExpressionError:
            refused.add(element)
    return refused


def validate_diagram(xml: bytes) -> ParsedDiagram:
    """Parse, check and simulate a diagram; raise DiagramError listing every problem next to its element."""
    report = check_xml(xml)
    if report.problems:
        raise DiagramError(report.problems, report.paths)
    return report.diagram


def simulate_diagram(diagram: ParsedDiagram):
    """Walk every path of the diagram with data shaped like its forms (engine.simulate)."""
    form = FORMS.get(form_of(diagram))
    fields = form.fields if form else ()
    names = expression_names(diagram)
    return simulate(diagram, start_variants=_start_variants(fields, names, duty=bool(form and form.filer_role
                                                                                       == SCHEDULER)),
                    step_choices=_step_choices(names), filing_decides=bool(form and form.filer_role in SIGNING_FILERS))


_SAMPLES: dict[str, Any] = {"string": "樣本", "text": "樣本", "email": "sample@example.gov.tw",
                            "phone": "07-1234567", "date": "2026-01-05", "national_id": "A123456789",
                            "ipv4": "10.0.0.1", "integer": 10, "attachment": [],  # no file: ids of uploads
                            "legal_basis": "樣本"}


def _sample(field: Field) -> Any:
    if field.type == "boolean":
        return True
    if field.type == "choice":
        return field.choices[0][0] if field.choices else "樣本"
    if field.type == "multichoice":
        return [field.choices[0][0]] if field.choices else []
    if field.type == "rows":  # one row of its columns (the engine keeps no ID number: engine_values)
        return [{c.name: _sample(c) for c in field.columns if c.type != "national_id"}]
    return _SAMPLES[field.type]


def _variants(fields: tuple[Field, ...], names: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """Data shaped like ``fields``; one variant per value of each choice or flag a gateway reads."""
    base = {f.name: _sample(f) for f in fields}
    branching = [f for f in fields if f.name in names and f.type in ("choice", "boolean")]
    options = [[(f.name, value) for value in ([c for c, _ in f.choices] if f.type == "choice" else [True, False])]
               for f in branching]
    variants = []
    for combination in list(product(*options))[:MAX_START_VARIANTS]:
        label = "、".join(f"{name}={value}" for name, value in combination)
        variants.append((label, {**base, **dict(combination)}))
    return variants


def _start_variants(fields: tuple[Field, ...], names: set[str], *, duty: bool) -> list[tuple[str, dict[str, Any]]]:
    extra = {**timer_data(), **({"schedule_run": 1} if duty else {})}
    return [(label, {**data, **extra}) for label, data in _variants(fields, names)]


def _step_choices(names: set[str]) -> dict[str, StepChoices]:
    choices = {}
    for key, step in STEP_FORMS.items():
        decisions = [(decision, data) for decision in step.decisions for _label, data in _variants(step.fields, names)]
        choices[key] = StepChoices(tuple(decisions))
    return choices


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


class DiagramRefused(Invalid):
    """422: a diagram cannot be deployed; ``problems`` lists (element id, plain-words message)."""

    def __init__(self, problems: list[Problem], paths: list[SimPath] | None = None):
        super().__init__({}, "流程圖未通過檢查，無法部署")
        self.problems = problems
        self.paths = paths or []


@dataclass(frozen=True)
class Deployment:
    version: DefinitionVersion
    created: bool  # False: the same content was already deployed as this version
    latest: int | None = None  # the current version number, when ``version`` is an earlier one

    @property
    def equals_earlier(self) -> bool:
        """The content repeats an earlier, no longer current version: a rollback would make it current."""
        return not self.created and self.latest is not None and self.version.version != self.latest


def deploy(session: Session, xml: bytes, *, actor: Person | None, now: datetime,
           jurisdiction: str, note: str | None = None) -> DefinitionVersion:
    """Store a diagram as the next version of its process; identical content keeps its version.

    Content already deployed was checked and simulated then: every start (`flask seed-demo`,
    `deploy-diagrams`) finds the shipped diagrams unchanged and re-checks none of them.
    """
    known = session.scalar(select(DefinitionVersion).where(DefinitionVersion.sha256 == hashlib.sha256(xml).hexdigest())
                           .order_by(DefinitionVersion.version.desc()).limit(1))
    if known is not None:
        return known
    _check_same_form(session, diagram := validate_diagram(xml))
    return _store(session, diagram, xml, actor=actor, now=now, jurisdiction=jurisdiction, note=note).version


def deploy_version(session: Session, xml: bytes, *, key: str, actor: Person, now: datetime,
                   note: str, jurisdiction: str) -> Deployment:
    """An administrator deploys an edited diagram as the next version of ``key``; running applications stay put."""
    require_admin(actor)
    if not note.strip():
        raise Invalid({"note": "請填寫變更說明"})
    try:
        diagram = validate_diagram(xml)
    except DiagramError as exc:
        raise DiagramRefused(exc.problems, exc.paths) from None
    if diagram.process_id != key:
        raise DiagramRefused([(diagram.process_id, f"流程代碼須為「{key}」，這張圖是「{diagram.process_id}」")])
    _check_same_form(session, diagram)
    deployment = _store(session, diagram, xml, actor=actor, now=now, jurisdiction=jurisdiction, note=note.strip())
    if deployment.created:
        _discard_drafts(session, key, actor)
    else:
        deployment = Deployment(deployment.version, False, _latest_number(session, deployment.version.definition))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("另一位管理者剛部署了新版本，請重新整理後再試") from None
    return deployment


def _check_same_form(session: Session, diagram: ParsedDiagram) -> None:
    """A process starts one form for good: its filed applications and its live-chain choice name that form."""
    current = session.scalar(select(ProcessDefinition.form_key).where(ProcessDefinition.key == diagram.process_id))
    if current is not None and current != form_of(diagram):
        raise DiagramRefused([(diagram.process_id, f"流程「{diagram.process_id}」啟動的是表單「{current}」，"
                                                   f"不能改為「{form_of(diagram)}」；請用新的流程代碼部署")])


def _store(session: Session, diagram: ParsedDiagram, xml: bytes, *, actor: Person | None, now: datetime,
           jurisdiction: str, note: str | None) -> Deployment:
    definition = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == diagram.process_id))
    if definition is None:
        definition = ProcessDefinition(key=diagram.process_id, name=diagram.name, jurisdiction=jurisdiction,
                                       form_key=form_of(diagram))
        session.add(definition)
        session.flush()
    existing = session.scalar(select(DefinitionVersion).where(
        DefinitionVersion.definition_id == definition.id, DefinitionVersion.sha256 == diagram.sha256)
        .order_by(DefinitionVersion.version.desc()).limit(1))
    if existing:
        return Deployment(existing, created=False)
    number = _latest_number(session, definition) + 1
    version = DefinitionVersion(definition=definition, version=number, bpmn_xml=xml, sha256=diagram.sha256,
                                note=note, created_by_id=actor.id if actor else None, created_at=now)
    definition.name = diagram.name
    session.add(version)
    session.flush()
    audit.record(session, "definition_deployed", actor=actor, subject_type="definition_version",
                 subject_id=version.id, now=now, key=definition.key, version=number, sha256=diagram.sha256,
                 note=note)
    return Deployment(version, created=True)


def _latest_number(session: Session, definition: ProcessDefinition) -> int:
    return session.scalar(select(func.max(DefinitionVersion.version))
                          .where(DefinitionVersion.definition_id == definition.id)) or 0


def rollback_version(session: Session, *, key: str, version: int, actor: Person, now: datetime,
                     note: str) -> DefinitionVersion:
    """Make an earlier version current again: a new version repeating its content, noted and audited.

    New applications start on it; running ones finish on the version they started with.
    """
    require_admin(actor)
    if not note.strip():
        raise Invalid({"note": "請填寫回復原因"})
    definition = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == key))
    earlier = definition and session.scalar(select(DefinitionVersion).where(
        DefinitionVersion.definition_id == definition.id, DefinitionVersion.version == version))
    if not earlier:
        raise NotFound(f"流程「{key}」沒有第 {version} 版")
    latest = _latest_number(session, definition)
    if version == latest:
        raise Conflict(f"第 {version} 版已是目前的版本，不需回復")
    number = latest + 1
    restored = DefinitionVersion(definition=definition, version=number, bpmn_xml=earlier.bpmn_xml,
                                 sha256=earlier.sha256, note=f"回復第 {version} 版：{note.strip()}",
                                 restores_version=version, created_by_id=actor.id, created_at=now)
    session.add(restored)
    session.flush()
    audit.record(session, "definition_rolled_back", actor=actor, subject_type="definition_version",
                 subject_id=restored.id, now=now, key=key, version=number, restores_version=version,
                 replaced_version=latest, sha256=earlier.sha256, note=note.strip())
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("另一位管理者剛部署了新版本，請重新整理後再試") from None
    return restored


def _discard_drafts(session: Session, key: str, author: Person) -> None:
    """The author's draft of this process is now a version; other admins' drafts stay theirs."""
    session.execute(delete(DiagramDraft).where(DiagramDraft.definition_key == key,
                                               DiagramDraft.author_id == author.id))


def deploy_directory(session: Session, directory: Path, *, now: datetime, jurisdiction: str,
                     include_history: bool = True, agency_chains: bool = True) -> list[DefinitionVersion]:
    """Deploy a jurisdiction's diagrams and commit: superseded rules first, in order, then the current ones, then
    each agency layer's (``agencies/<code>/``).

    ``history/<edition>/`` holds the diagrams of earlier rules (e.g. ``history/2017``), so a fresh
    database numbers versions as the rules changed; identical content keeps its version. With
    ``agency_chains`` an agency layer's replaced forms run its own process for that agency's filers.
    """
    editions = sorted(p for p in (directory / "history").glob("*") if p.is_dir()) if include_history else []
    layers = sorted(p for p in (directory / "agencies").glob("*") if (p / "pack.yaml").is_file())
    versions = [deploy(session, path.read_bytes(), actor=None, now=now, jurisdiction=jurisdiction,
                       note=_note(path, directory))
                for folder in [*editions, directory, *layers] for path in sorted(folder.glob("*.bpmn"))]
    for folder in layers if agency_chains else ():
        map_layer_chains(session, folder.name)
    session.commit()
    return versions


def map_layer_chains(session: Session, code: str) -> None:
    """A layer's replaced forms run its own process for that agency's filers (unless an administrator has chosen
    another for them since); an agency not in this database is left alone."""
    layer = agency_rules.layer_of(code)
    agency = session.scalar(select(Agency).where(Agency.code == code))
    if layer is None or agency is None:
        return
    for form_key in sorted(layer.replaces):
        if form_chain(session, form_key, agency.id) is None:
            definition = session.scalar(select(ProcessDefinition).where(
                ProcessDefinition.key == layer.processes[form_key]))
            session.add(FormChain(form_key=form_key, agency_id=agency.id, definition=definition))
    session.flush()


def _note(path: Path, directory: Path) -> str:
    edition = f"{path.parent.name} 年版規定" if path.parent != directory else "現行規定"
    return f"{edition}：{path.relative_to(directory)}"


