"""Deploy diagrams as versioned definitions and load them for running."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import DefinitionVersion, Person, ProcessDefinition, Role

from . import audit
from .engine import DiagramError, ExpressionError, ParsedDiagram, check_expression, parse_diagram
from .errors import NotFound
from .forms import FORMS, STEP_FORMS

KNOWN_ROLES = {r.value for r in Role}
_cache: dict[tuple[str, str], ParsedDiagram] = {}
_cache_lock = threading.Lock()


def check_diagram(diagram: ParsedDiagram) -> None:
    """Refuse a diagram the app could not run: unknown lanes or forms, unsafe expressions, scripts."""
    problems: list[tuple[str | None, str]] = []
    if diagram.process_id not in FORMS:
        problems.append((diagram.process_id, f"process id must be a known form key: {', '.join(FORMS)}"))
    for task in diagram.user_tasks.values():
        if task.lane not in KNOWN_ROLES:
            problems.append((task.step, f"user task is in lane '{task.lane}', which is not a known role"))
        if task.form not in STEP_FORMS:
            problems.append((task.step, f"user task names form '{task.form}', which the app does not know"))
    for element_id, expression in diagram.expressions:
        try:
            check_expression(expression)
        except ExpressionError as exc:
            problems.append((element_id, f"expression '{expression}' refused: {exc}"))
    for element_id in diagram.script_elements:
        problems.append((element_id, "scripts are not allowed in deployed diagrams"))
    if problems:
        raise DiagramError(problems)


def deploy(session: Session, xml: bytes, *, actor: Person | None, now: datetime,
           jurisdiction: str, note: str | None = None) -> DefinitionVersion:
    """Store a diagram as the next version of its process; identical content keeps its version."""
    diagram = parse_diagram(xml)
    check_diagram(diagram)
    definition = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == diagram.process_id))
    if definition is None:
        definition = ProcessDefinition(key=diagram.process_id, name=diagram.name, jurisdiction=jurisdiction)
        session.add(definition)
        session.flush()
    existing = session.scalar(select(DefinitionVersion).where(
        DefinitionVersion.definition_id == definition.id, DefinitionVersion.sha256 == diagram.sha256))
    if existing:
        return existing
    number = (session.scalar(select(func.max(DefinitionVersion.version))
                             .where(DefinitionVersion.definition_id == definition.id)) or 0) + 1
    version = DefinitionVersion(definition=definition, version=number, bpmn_xml=xml, sha256=diagram.sha256,
                                note=note, created_by_id=actor.id if actor else None, created_at=now)
    definition.name = diagram.name
    session.add(version)
    session.flush()
    audit.record(session, "definition_deployed", actor=actor, subject_type="definition_version",
                 subject_id=version.id, now=now, key=definition.key, version=number, sha256=diagram.sha256)
    return version


def deploy_directory(session: Session, directory: Path, *, now: datetime, jurisdiction: str) -> list[DefinitionVersion]:
    """Deploy every diagram in a folder (file name = process id) and commit."""
    versions = [deploy(session, path.read_bytes(), actor=None, now=now, jurisdiction=jurisdiction,
                       note=f"deployed from {path.name}") for path in sorted(directory.glob("*.bpmn"))]
    session.commit()
    return versions


def latest_version(session: Session, key: str) -> DefinitionVersion:
    version = session.scalar(
        select(DefinitionVersion).join(ProcessDefinition).where(ProcessDefinition.key == key)
        .order_by(DefinitionVersion.version.desc()).limit(1))
    if version is None:
        raise NotFound(f"no deployed diagram for '{key}'")
    return version


def load_diagram(version: DefinitionVersion) -> ParsedDiagram:
    """The parsed diagram of a version, parsed once per process (content-addressed cache)."""
    key = (version.definition.key, version.sha256)
    diagram = _cache.get(key)
    if diagram is None:
        diagram = parse_diagram(version.bpmn_xml, version.definition.key)
        with _cache_lock:
            _cache.setdefault(key, diagram)
    return _cache[key]
