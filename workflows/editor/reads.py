"""Read models for the diagram editor: processes, their version history, drafts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from models import Application, DefinitionVersion, DiagramDraft, Person, ProcessDefinition

from ..errors import NotFound
from .drafts import is_own_draft


@dataclass(frozen=True)
class VersionRow:
    version: int
    author: str | None
    created_at: datetime
    note: str | None
    sha256: str
    waiting: int  # applications still under way on this version


@dataclass(frozen=True)
class DefinitionRow:
    key: str
    name: str
    versions: list[VersionRow]
    form: str = ""  # the form this process starts

    @property
    def latest(self) -> int:
        return self.versions[-1].version if self.versions else 0


@dataclass(frozen=True)
class DraftRow:
    id: int
    key: str
    base_version: int | None
    author: str
    note: str | None
    updated_at: datetime
    editable: bool = False  # the viewer's own draft: only its author changes, discards or deploys it


def list_definitions(session: Session, key: str | None = None) -> list[DefinitionRow]:
    """Every process with its versions, oldest first, and how many applications wait on each."""
    author = aliased(Person)
    waiting = (select(Application.definition_version_id, func.count().label("n"))
               .where(Application.is_open).group_by(Application.definition_version_id).subquery())
    query = (select(ProcessDefinition.key, ProcessDefinition.name, ProcessDefinition.form_key,
                    DefinitionVersion.version, author.name,
                    DefinitionVersion.created_at, DefinitionVersion.note, DefinitionVersion.sha256, waiting.c.n)
             .join(DefinitionVersion, DefinitionVersion.definition_id == ProcessDefinition.id)
             .outerjoin(author, author.id == DefinitionVersion.created_by_id)
             .outerjoin(waiting, waiting.c.definition_version_id == DefinitionVersion.id)
             .order_by(ProcessDefinition.key, DefinitionVersion.version))
    if key is not None:
        query = query.where(ProcessDefinition.key == key)
    rows: dict[str, DefinitionRow] = {}
    for k, name, form, number, who, at, note, sha, n in session.execute(query):
        row = rows.setdefault(k, DefinitionRow(k, name, [], form))
        row.versions.append(VersionRow(number, who, at, note, sha, n or 0))
    return list(rows.values())


def get_definition(session: Session, key: str) -> DefinitionRow:
    found = list_definitions(session, key)
    if not found:
        raise NotFound(f"沒有流程「{key}」")
    return found[0]


def list_drafts(session: Session, key: str | None = None, viewer: Person | None = None) -> list[DraftRow]:
    query = (select(DiagramDraft, DefinitionVersion.version, Person.name)
             .join(Person, Person.id == DiagramDraft.author_id)
             .outerjoin(DefinitionVersion, DefinitionVersion.id == DiagramDraft.base_version_id)
             .order_by(DiagramDraft.updated_at.desc()))
    if key is not None:
        query = query.where(DiagramDraft.definition_key == key)
    return [DraftRow(d.id, d.definition_key, base, who, d.note, d.updated_at,
                     viewer is not None and is_own_draft(d, viewer))
            for d, base, who in session.execute(query)]
